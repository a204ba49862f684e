package report

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"unicode/utf8"
)

// appendRecord appends r as encoding/json's Encoder with HTML escaping off
// writes it, less the newline: the same keys in the same order, the same
// omitempty fields left out, the same numbers and escapes, byte for byte.
// encoding/json's reflection spent 1.8 µs a record, 7% of a run over 150k
// resets; this takes 0.5 µs and allocates nothing (BenchmarkRecordJSON).
//
// A field added to Record or heuristics.Signals must be added here too:
// TestAppendRecordRandom fills every field and fails until it is.
func appendRecord(b []byte, r *Record) ([]byte, error) {
	start := len(b)
	var err error
	b = append(b, `{"capture":`...)
	b = appendString(b, r.Capture)
	b = append(b, `,"frame":`...)
	b = strconv.AppendInt(b, r.Frame, 10)
	b = append(b, `,"time":`...)
	b = appendString(b, r.Time)
	b = append(b, `,"src":`...)
	b = appendString(b, r.Src)
	b = append(b, `,"sport":`...)
	b = strconv.AppendUint(b, uint64(r.Sport), 10)
	b = append(b, `,"dst":`...)
	b = appendString(b, r.Dst)
	b = append(b, `,"dport":`...)
	b = strconv.AppendUint(b, uint64(r.Dport), 10)
	b = append(b, `,"flags":`...)
	b = appendString(b, r.Flags)
	b = append(b, `,"seq":`...)
	b = strconv.AppendUint(b, uint64(r.Seq), 10)
	b = append(b, `,"ack":`...)
	b = strconv.AppendUint(b, uint64(r.Ack), 10)
	b = append(b, `,"client":`...)
	b = appendString(b, r.Client)
	b = append(b, `,"server":`...)
	b = appendString(b, r.Server)
	b = append(b, `,"resetter":`...)
	b = appendString(b, r.Resetter)
	b = append(b, `,"client_guessed":`...)
	b = strconv.AppendBool(b, r.ClientGuessed)
	b = append(b, `,"state":`...)
	b = appendString(b, r.State)
	b = append(b, `,"cause":`...)
	b = appendString(b, r.Cause)
	b = append(b, `,"confidence":`...)
	if b, err = appendFloat(b, r.Confidence); err != nil {
		return b[:start], err
	}
	b = append(b, `,"kernel_reason":`...)
	b = appendString(b, r.KernelReason)
	b = append(b, `,"evidence":`...)
	if r.Evidence == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, e := range r.Evidence {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, e)
		}
		b = append(b, ']')
	}

	s := &r.Signals
	b = append(b, `,"signals":{"peer_bytes_unanswered":`...)
	b = strconv.AppendInt(b, s.PeerUnanswered, 10)
	b = append(b, `,"peer_bytes_unacked":`...)
	b = strconv.AppendInt(b, s.PeerUnacked, 10)
	b = append(b, `,"resetter_bytes_unacked":`...)
	b = strconv.AppendInt(b, s.ResetterUnacked, 10)
	b = append(b, `,"zero_window_before":`...)
	b = strconv.AppendBool(b, s.ZeroWindow)
	if s.ZeroWindowBy != "" {
		b = append(b, `,"zero_window_by":`...)
		b = appendString(b, s.ZeroWindowBy)
	}
	b = append(b, `,"resetter_sent_fin":`...)
	b = strconv.AppendBool(b, s.ResetterFIN)
	b = append(b, `,"peer_sent_fin":`...)
	b = strconv.AppendBool(b, s.PeerFIN)
	b = append(b, `,"ms_since_last_packet":`...)
	if b, err = appendFloat(b, s.SinceLastMS); err != nil {
		return b[:start], err
	}
	b = append(b, `,"ms_since_peer_packet":`...)
	if b, err = appendFloat(b, s.SincePeerMS); err != nil {
		return b[:start], err
	}
	b = append(b, `,"resetter_retransmits":`...)
	b = strconv.AppendInt(b, s.Retransmits, 10)
	b = append(b, `,"resetter_keepalives_unanswered":`...)
	b = strconv.AppendInt(b, s.KeepaliveRun, 10)
	b = append(b, `,"handshake_seen":`...)
	b = strconv.AppendBool(b, s.Handshake)
	b = append(b, `,"ttl":`...)
	b = strconv.AppendUint(b, uint64(s.TTL), 10)
	if s.ResetterTTLMin != 0 {
		b = append(b, `,"resetter_ttl_min":`...)
		b = strconv.AppendUint(b, uint64(s.ResetterTTLMin), 10)
	}
	if s.ResetterTTLMax != 0 {
		b = append(b, `,"resetter_ttl_max":`...)
		b = strconv.AppendUint(b, uint64(s.ResetterTTLMax), 10)
	}
	b = append(b, `,"ip_id":`...)
	b = strconv.AppendUint(b, uint64(s.IPID), 10)
	b = append(b, '}')

	b = append(b, `,"followup":`...)
	b = strconv.AppendBool(b, r.Followup)
	if r.FollowupOf != 0 {
		b = append(b, `,"followup_of":`...)
		b = strconv.AppendInt(b, r.FollowupOf, 10)
	}
	if r.CopyOf != 0 {
		b = append(b, `,"copy_of":`...)
		b = strconv.AppendInt(b, r.CopyOf, 10)
	}
	if c := r.CausedBy; c != nil {
		b = append(b, `,"caused_by":{"frame":`...)
		b = strconv.AppendInt(b, c.Frame, 10)
		b = append(b, `,"event":`...)
		b = appendString(b, c.Event)
		b = append(b, `,"conn":`...)
		b = appendString(b, c.Conn)
		b = append(b, `,"delay_ms":`...)
		if b, err = appendFloat(b, c.DelayMS); err != nil {
			return b[:start], err
		}
		b = append(b, '}')
	}
	if r.Group != 0 {
		b = append(b, `,"group":`...)
		b = strconv.AppendInt(b, r.Group, 10)
	}
	if r.RSTPayload != "" {
		b = append(b, `,"rst_payload":`...)
		b = appendString(b, r.RSTPayload)
	}
	if v := r.VendorReason; v != nil {
		b = append(b, `,"vendor_reason":{"device":`...)
		b = appendString(b, v.Device)
		if v.Code != 0 {
			b = append(b, `,"code":`...)
			b = strconv.AppendInt(b, int64(v.Code), 10)
		}
		b = append(b, `,"text":`...)
		b = appendString(b, v.Text)
		b = append(b, `,"where":`...)
		b = appendString(b, v.Where)
		if v.Peer {
			b = append(b, `,"peer":true`...)
		}
		b = append(b, `,"corroborated":`...)
		b = strconv.AppendBool(b, v.Corroborated)
		b = append(b, '}')
	}
	if b, err = appendConnection(b, &r.Connection); err != nil {
		return b[:start], err
	}
	if r.App != nil {
		b = appendApp(b, r.App)
	}
	if r.Ladder != nil {
		if b, err = appendLadder(b, r.Ladder); err != nil {
			return b[:start], err
		}
	}
	return append(b, '}'), nil
}

func appendConnection(b []byte, c *Connection) ([]byte, error) {
	var err error
	b = append(b, `,"connection":{"first_frame":`...)
	b = strconv.AppendInt(b, c.FirstFrame, 10)
	b = append(b, `,"start":`...)
	b = appendString(b, c.Start)
	b = append(b, `,"duration_ms":`...)
	if b, err = appendFloat(b, c.DurationMS); err != nil {
		return b, err
	}
	b = append(b, `,"client_packets":`...)
	b = strconv.AppendInt(b, c.ClientPackets, 10)
	b = append(b, `,"server_packets":`...)
	b = strconv.AppendInt(b, c.ServerPackets, 10)
	b = append(b, `,"client_bytes":`...)
	b = strconv.AppendInt(b, c.ClientBytes, 10)
	b = append(b, `,"server_bytes":`...)
	b = strconv.AppendInt(b, c.ServerBytes, 10)
	if c.ClosedFirst != "" {
		b = append(b, `,"closed_first":`...)
		b = appendString(b, c.ClosedFirst)
	}
	b = append(b, `,"idle_ms":`...)
	if b, err = appendFloat(b, c.IdleMS); err != nil {
		return b, err
	}
	b = append(b, `,"client_retransmits":`...)
	b = strconv.AppendInt(b, c.ClientRetransmits, 10)
	b = append(b, `,"server_retransmits":`...)
	b = strconv.AppendInt(b, c.ServerRetransmits, 10)
	b = append(b, `,"zero_window_adverts":`...)
	b = strconv.AppendInt(b, c.ZeroWindows, 10)
	b = append(b, `,"zero_window_probes":`...)
	b = strconv.AppendInt(b, c.ZeroWindowProbes, 10)
	b = append(b, `,"keepalives":`...)
	b = strconv.AppendInt(b, c.Keepalives, 10)
	b = append(b, `,"history":`...)
	b = appendString(b, c.History)
	b = append(b, `,"stage":`...)
	b = appendString(b, c.Stage)
	return append(b, '}'), nil
}

func appendLadder(b []byte, l *Ladder) ([]byte, error) {
	var err error
	b = append(b, `,"ladder":{"relative":`...)
	b = strconv.AppendBool(b, l.Relative)
	b = append(b, `,"earlier_packets":`...)
	b = strconv.AppendInt(b, l.Earlier, 10)
	b = append(b, `,"packets":`...)
	if l.Packets == nil {
		b = append(b, "null"...)
		return append(b, '}'), nil
	}
	b = append(b, '[')
	for i := range l.Packets {
		p := &l.Packets[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"frame":`...)
		b = strconv.AppendInt(b, p.Frame, 10)
		b = append(b, `,"time":`...)
		b = appendString(b, p.Time)
		b = append(b, `,"ms_since_previous":`...)
		if b, err = appendFloat(b, p.SincePrevMS); err != nil {
			return b, err
		}
		b = append(b, `,"from":`...)
		b = appendString(b, p.From)
		b = append(b, `,"flags":`...)
		b = appendString(b, p.Flags)
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, uint64(p.Seq), 10)
		b = append(b, `,"ack":`...)
		b = strconv.AppendUint(b, uint64(p.Ack), 10)
		b = append(b, `,"len":`...)
		b = strconv.AppendUint(b, uint64(p.Len), 10)
		b = append(b, `,"window":`...)
		b = strconv.AppendUint(b, uint64(p.Window), 10)
		if p.Kind != "" {
			b = append(b, `,"kind":`...)
			b = appendString(b, p.Kind)
		}
		if p.AcksUnseen {
			b = append(b, `,"acks_unseen":true`...)
		}
		if p.Role != "" {
			b = append(b, `,"role":`...)
			b = appendString(b, p.Role)
		}
		b = append(b, '}')
	}
	b = append(b, ']')
	return append(b, '}'), nil
}

// appendFloat formats f as encoding/json does, which follows ECMAScript's
// Number to String: plain decimals from 1e-6 up to 1e21, exponent form
// outside, shortest digits that read back the same. JSON has no NaN or
// infinity; those are encoding/json's own error.
func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, &json.UnsupportedValueError{Value: reflect.ValueOf(f), Str: strconv.FormatFloat(f, 'g', -1, 64)}
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.AppendFloat(b, f, 'f', -1, 64), nil
	}
	b = strconv.AppendFloat(b, f, 'e', -1, 64)
	// strconv pads the exponent to two digits (1e-07), ECMAScript does
	// not (1e-7). Positive exponents here are 21 or more: never padded.
	if n := len(b); string(b[n-4:n-1]) == "e-0" {
		b[n-2] = b[n-1]
		b = b[:n-1]
	}
	return b, nil
}

const hexDigits = "0123456789abcdef"

// appendString appends s quoted as encoding/json quotes it with HTML
// escaping off: `"`, `\` and bytes below 0x20 escaped (\b \f \n \r \t by
// name, the rest as \u00xx), each byte of invalid UTF-8 as \ufffd, and
// U+2028 and U+2029 as \u2028 and \u2029, since JavaScript reads those
// two as line ends. Everything else, DEL included, is copied.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	copied := 0 // s[:copied] is in b
	for i := 0; i < len(s); {
		if i+8 <= len(s) && plain(word(s[i:])) {
			i += 8
			continue
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[copied:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			copied = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b = append(b, s[copied:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[copied:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		copied = i
	}
	b = append(b, s[copied:]...)
	return append(b, '"')
}

// plain reports whether the 8 bytes of x are all copied as they are: none
// below 0x20, none from 0x80 up, no '"' or '\\'. Testing them as one word
// takes a third off a record, most of whose bytes are the ASCII prose of
// evidence. With no high bit set in x, x - n*ones has one exactly when a
// byte is below n (it wraps; a borrow only follows such a byte), and a
// byte equals c exactly when x ^ c*ones has a byte below 1.
func plain(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	return (x|(x-ones*0x20)|(x^ones*'"'-ones)|(x^ones*'\\'-ones))&highs == 0
}

// word is the first 8 bytes of s, little-endian: one load.
func word(s string) uint64 {
	s = s[:8]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}
