package report

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TextOptions say how a ladder or an explanation is drawn as text.
// The zero value is plain text with the evidence beside the packets.
type TextOptions struct {
	// Color marks the RST and the packet it answers with ANSI colours;
	// only for a terminal. The marks in words stay: colour never carries
	// meaning alone.
	Color bool
	// Width is where evidence wraps (0: 100 columns). The packet rows
	// themselves are never cut.
	Width int
	// EvidenceRefs puts only the evidence's numbers ([1], [2]) beside
	// the packets, for a reader that lists the sentences elsewhere in
	// the order of Record.KeyFirst (the Markdown report); otherwise each sentence is
	// written under the first packet it cites, and those citing no
	// packet shown follow the ladder.
	EvidenceRefs bool
}

// ANSI colours of the text views.
const (
	ansiRST      = "\x1b[1;31m" // bold red
	ansiAnswered = "\x1b[33m"   // yellow
	ansiDim      = "\x1b[2m"
	ansiBold     = "\x1b[1m"
	ansiReset    = "\x1b[0m"
)

func (o TextOptions) width() int {
	if o.Width <= 0 {
		return 100
	}
	return o.Width
}

func (o TextOptions) paint(b []byte, code, s string) []byte {
	if !o.Color || s == "" {
		return append(b, s...)
	}
	b = append(b, code...)
	b = append(b, s...)
	return append(b, ansiReset...)
}

// AppendExplain appends what `rstwhy explain` prints for one reset: which
// RST, its verdict, the connection's summary and the ladder with the
// evidence beside the packets it cites.
func AppendExplain(b []byte, r *Record, opt TextOptions) []byte {
	tm := r.Time
	if t, err := time.Parse(TimeFormat, r.Time); err == nil {
		tm = t.Format(tableTimeFormat)
	}
	b = opt.paint(b, ansiBold, fmt.Sprintf("frame %d", r.Frame))
	b = fmt.Appendf(b, " of %s, %s\n", Printable(r.Capture), tm)
	b = fmt.Appendf(b, "RST [%s] from the %s %s to %s, in state %s\n", r.Flags, r.Resetter, endpointOf(r, r.Resetter),
		endpointOf(r, peerOf(r.Resetter)), r.State)
	cause := r.Cause
	if opt.Color {
		cause = ansiRST + cause + ansiReset
	}
	b = fmt.Appendf(b, "cause: %s, confidence %.2f", cause, r.Confidence)
	if r.KernelReason != "" {
		b = fmt.Appendf(b, ", Linux reason %s", r.KernelReason)
	}
	b = append(b, '\n')
	switch {
	case r.CopyOf != 0:
		b = fmt.Appendf(b, "a copy of the RST at frame %d, captured again\n", r.CopyOf)
	case r.Followup:
		if r.followupOwn {
			b = fmt.Appendf(b, "a follow-up of the RST at frame %d, whose connection rstwhy had let go of: the cause is this RST's own reading\n", r.FollowupOf)
		} else {
			b = fmt.Appendf(b, "a follow-up of the connection's first RST, frame %d: its cause is that one's\n", r.FollowupOf)
		}
	}
	b = append(b, '\n')
	b = AppendConnection(b, r)
	b = append(b, '\n')
	return AppendLadder(b, r, opt)
}

func peerOf(role string) string {
	if role == "client" {
		return "server"
	}
	return "client"
}

func endpointOf(r *Record, role string) string {
	if role == "client" {
		return r.Client
	}
	return r.Server
}

// AppendConnection appends the connection's summary: its endpoints,
// duration, bytes each way, who closed first, the idle time before the
// RST and its history in Zeek's letters. Two lines.
func AppendConnection(b []byte, r *Record) []byte {
	c := &r.Connection
	b = fmt.Appendf(b, "connection %s -> %s", r.Client, r.Server)
	if r.ClientGuessed {
		b = append(b, " (which side is the client is a guess: no SYN seen)"...)
	}
	b = append(b, '\n')
	b = fmt.Appendf(b, "  %s from frame %d; client sent %s in %d packets, server %s in %d; ",
		durationText(time.Duration(c.DurationMS*1e6)), c.FirstFrame, bytesText(c.ClientBytes), c.ClientPackets,
		bytesText(c.ServerBytes), c.ServerPackets)
	switch c.ClosedFirst {
	case "":
		b = append(b, "no FIN before the RST"...)
	default:
		b = fmt.Appendf(b, "the %s closed first", c.ClosedFirst)
	}
	b = fmt.Appendf(b, "; idle %s before the RST; history %s\n", durationText(time.Duration(c.IdleMS*1e6)), c.History)
	return b
}

// AppendLadder appends r's ladder (r.Ladder, or BuildLadder's): a header
// naming the client's and the server's columns, the earlier packets in
// one line, then a row a packet with an arrow between the columns.
func AppendLadder(b []byte, r *Record, opt TextOptions) []byte {
	l := r.Ladder
	if l == nil {
		l = r.BuildLadder()
	}
	if len(l.Packets) == 0 {
		return append(b, "(no packets kept for this reset)\n"...)
	}
	labels := make([]string, len(l.Packets))
	inner := len("client") + len("server") + 4
	for i, p := range l.Packets {
		labels[i] = packetLabel(&p)
		inner = max(inner, utf8.RuneCountInString(labels[i])+8)
	}
	left, right := "client "+Printable(r.Client), "server "+Printable(r.Server)
	inner = max(inner, utf8.RuneCountInString(left)+utf8.RuneCountInString(right)+1)
	// Which sentence goes where: each under the first row citing it,
	// its number beside every row citing it.
	ev := r.KeyFirst()
	refs := make([][]int, len(l.Packets))
	placed := make([]int, len(ev)) // row index, or -1
	for i, e := range ev {
		placed[i] = -1
		for _, f := range Cites(e) {
			for j := range l.Packets {
				if l.Packets[j].Frame == f && !slices.Contains(refs[j], i+1) {
					refs[j] = append(refs[j], i+1)
					if placed[i] < 0 {
						placed[i] = j
					}
				}
			}
		}
	}
	const frameW, deltaW = 7, 10
	lead := frameW + 2 + deltaW + 2
	// Header: the endpoints over their columns.
	b = fmt.Appendf(b, "%*s  %*s  ", frameW, "frame", deltaW, "delta")
	b = append(b, left...)
	b = append(b, strings.Repeat(" ", inner+2-utf8.RuneCountInString(left)-utf8.RuneCountInString(right))...)
	b = append(b, right...)
	b = append(b, '\n')
	if l.Earlier > 0 {
		b = append(b, strings.Repeat(" ", lead)...)
		b = opt.paint(b, ansiDim, earlierText(r, l))
		b = append(b, '\n')
	}
	afterShown := false
	for i := range l.Packets {
		p := &l.Packets[i]
		if p.Role == "after" && !afterShown {
			afterShown = true
			b = append(b, strings.Repeat(" ", lead)...)
			b = opt.paint(b, ansiDim, "after the RST:")
			b = append(b, '\n')
		}
		delta := ""
		if i > 0 {
			delta = "+" + durationText(time.Duration(p.SincePrevMS*1e6))
		}
		b = fmt.Appendf(b, "%*d  %*s  ", frameW, p.Frame, deltaW, delta)
		row := arrow(p, labels[i], inner)
		var notes []string
		switch p.Role {
		case "rst":
			notes = append(notes, "<< RST")
		case "answered":
			notes = append(notes, "<< the RST answers this")
		}
		if p.Kind != "" {
			notes = append(notes, strings.ReplaceAll(p.Kind, "_", " "))
		}
		if p.AcksUnseen {
			notes = append(notes, unseenNote)
		}
		for _, n := range refs[i] {
			notes = append(notes, "["+strconv.Itoa(n)+"]")
		}
		line := row
		if len(notes) > 0 {
			line += "  " + strings.Join(notes, " ")
		}
		switch p.Role {
		case "rst":
			b = opt.paint(b, ansiRST, line)
		case "answered":
			b = opt.paint(b, ansiAnswered, line)
		default:
			b = append(b, line...)
		}
		b = append(b, '\n')
		if opt.EvidenceRefs {
			continue
		}
		for e, at := range placed {
			if at == i {
				b = appendNote(b, lead+2, opt.width(), e+1, ev[e])
			}
		}
	}
	if !opt.EvidenceRefs {
		for e, at := range placed {
			if at < 0 {
				b = appendNote(b, lead+2, opt.width(), e+1, ev[e])
			}
		}
	}
	return b
}

// appendNote appends sentence n, wrapped at word boundaries to width,
// indented.
func appendNote(b []byte, indent, width, n int, s string) []byte {
	head := "[" + strconv.Itoa(n) + "] "
	pad := strings.Repeat(" ", indent)
	for k, line := range WrapWords(Printable(s), max(width-indent-len(head), 30)) {
		b = append(b, pad...)
		if k == 0 {
			b = append(b, head...)
		} else {
			b = append(b, strings.Repeat(" ", len(head))...)
		}
		b = append(b, line...)
		b = append(b, '\n')
	}
	return b
}

// packetLabel is what the arrow of a packet carries: flags as tcpdump
// writes them, seq, ack, payload length and window.
func packetLabel(p *LadderPacket) string {
	s := "[" + p.Flags + "] seq=" + strconv.FormatUint(uint64(p.Seq), 10)
	if strings.Contains(p.Flags, ".") {
		s += " ack=" + strconv.FormatUint(uint64(p.Ack), 10)
	}
	if p.Len > 0 {
		s += " len=" + strconv.FormatUint(uint64(p.Len), 10)
	}
	return s + " win=" + strconv.FormatUint(uint64(p.Window), 10)
}

// arrow draws a packet between the two columns, inner characters wide:
// -> from the client, <- from the server; a RST's shaft is '='.
func arrow(p *LadderPacket, label string, inner int) string {
	shaft := "-"
	if p.Role == "rst" {
		shaft = "="
	}
	// What is left of inner after the head, the label with a space
	// each side and the two dashes at the tail.
	fill := max(inner-utf8.RuneCountInString(label)-5, 1)
	if p.From == "client" {
		return "|" + strings.Repeat(shaft, 2) + " " + label + " " + strings.Repeat(shaft, fill) + ">|"
	}
	return "|<" + strings.Repeat(shaft, fill) + " " + label + " " + strings.Repeat(shaft, 2) + "|"
}

// earlierText sums up the connection's packets before the first row in
// one line: counts and bytes each way, and what is notable among them.
func earlierText(r *Record, l *Ladder) string {
	c := &r.Connection
	cp, sp, cb, sb := c.ClientPackets, c.ServerPackets, c.ClientBytes, c.ServerBytes
	var retrans, zwp, ka int64 = c.ClientRetransmits + c.ServerRetransmits, c.ZeroWindowProbes, c.Keepalives
	for _, p := range l.Packets {
		if p.Role == "rst" || p.Role == "after" {
			continue
		}
		switch p.Kind {
		case "retransmission":
			retrans--
		case "zero_window_probe":
			zwp--
		case "keepalive":
			ka--
		}
		n := int64(p.Len)
		if p.Kind != "" {
			n = 0 // not counted as new bytes
		}
		if p.From == "client" {
			cp--
			cb -= n
		} else {
			sp--
			sb -= n
		}
	}
	s := fmt.Sprintf("... %d earlier %s: client %d (%s), server %d (%s)", l.Earlier, plural(l.Earlier, "packet", "packets"),
		max(cp, 0), bytesText(max(cb, 0)), max(sp, 0), bytesText(max(sb, 0)))
	for _, x := range []struct {
		n          int64
		one, other string
	}{{retrans, "retransmission", "retransmissions"}, {zwp, "zero-window probe", "zero-window probes"}, {ka, "keepalive", "keepalives"}} {
		if x.n > 0 {
			s += fmt.Sprintf(", %d %s", x.n, plural(x.n, x.one, x.other))
		}
	}
	return s + " ..."
}

func plural(n int64, one, other string) string {
	if n == 1 {
		return one
	}
	return other
}

// bytesText is a byte count for people: 54 B, 1.2 kB, 3.4 MB (powers of
// ten, as the README's figures).
func bytesText(n int64) string {
	switch {
	case n < 1000:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1000*1000:
		return strconv.FormatFloat(float64(n)/1e3, 'f', 1, 64) + " kB"
	case n < 1000*1000*1000:
		return strconv.FormatFloat(float64(n)/1e6, 'f', 1, 64) + " MB"
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', 1, 64) + " GB"
}

// durationText is a short duration for people, as the evidence writes
// them: 78 µs, 1.2 ms, 3.50 s, 2 s.
func durationText(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + " µs"
	case d < time.Second:
		return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + " ms"
	case d < 100*time.Second:
		return strings.Replace(strconv.FormatFloat(d.Seconds(), 'f', 2, 64)+" s", ".00 s", " s", 1)
	}
	return d.Round(time.Second).String()
}
