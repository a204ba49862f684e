package appctx

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
)

// Input is what Parse reads: the first bytes each side sent, index 0 the
// client's, 1 the server's.
type Input struct {
	Bytes     [2][]byte
	FromStart [2]bool // Bytes begin at the side's first byte (its SYN was seen)
	Hole      [2]bool // a hole in the sequence stopped the bytes kept
	// PeerAt is, for each side, the other side's payload bytes when its
	// first payload came; -1 when it sent none.
	PeerAt [2]int64
	// TLSTail is the start of each side's latest segment that began with
	// a TLS record header (up to 7 bytes), or nil.
	TLSTail                [2][]byte
	ClientPort, ServerPort uint16
}

// Context is what the application was doing, as far as the first bytes
// of each direction say. Index 0 is the client, 1 the server. Every
// string is short and printable: bytes other than printable ASCII are
// written \xNN.
type Context struct {
	// Protocol is "http", "http2", "tls" or "ssh" when the bytes say so,
	// else the usual service of the server port ("postgresql"), ByPort
	// then set, or "".
	Protocol string
	ByPort   bool
	// Kept is how many bytes of each side were kept; FromStart says they
	// are its first ones (the handshake was captured), Hole that a hole
	// in the sequence stopped them short.
	Kept      [2]int
	FromStart [2]bool
	Hole      [2]bool

	// HTTP/1.x: the connection's first request and response.
	Request        string // request line: "POST /upload HTTP/1.1", the target cut at 200 bytes
	Host           string
	RequestLength  int64  // the request's Content-Length; -1: none
	RequestHead    int64  // bytes of the request head, the blank line included; -1: not all kept
	Response       string // status line: "HTTP/1.1 413 Request Entity Too Large"
	Status         int
	ResponseLength int64 // the response's Content-Length; -1: none
	// AnsweredAfter is how many bytes the client had sent when the
	// server's first byte came; -1 when the server sent nothing or spoke
	// first.
	AnsweredAfter int64
	// Requests counts the request lines that began a client segment, the
	// first included: on a kept-alive connection more than one (an
	// Observer follows them; Parse alone sees the first). With more than
	// one, LastRequest is the latest, at LastRequestFrame, after the
	// client's first LastRequestAt bytes; LastResponse the status line
	// that began a server segment after it, at LastResponseFrame (0 when
	// none came before the RST).
	Requests          int
	LastRequest       string
	LastRequestFrame  int64
	LastRequestAt     int64
	LastResponse      string
	LastStatus        int
	LastResponseFrame int64

	// TLS: the ClientHello's server name and ALPN protocols, and each
	// side's last record type seen ("handshake", "application_data",
	// "alert fatal handshake_failure", "alert (encrypted)").
	SNI  string
	ALPN string // comma-separated
	TLS  [2]string

	// Banner is each side's SSH identification line.
	Banner [2]string

	// Match is set when Observer.Grep was found in the bytes kept.
	Match bool
}

// Text limits.
const (
	maxTarget = 200
	maxField  = 120
)

// Parse names the exchange in in. It never fails: what it cannot read it
// leaves empty.
func Parse(in *Input) Context {
	ctx := Context{RequestLength: -1, RequestHead: -1, ResponseLength: -1, AnsweredAfter: -1}
	for k := range 2 {
		ctx.Kept[k] = len(in.Bytes[k])
		ctx.FromStart[k], ctx.Hole[k] = in.FromStart[k], in.Hole[k]
		ctx.TLS[k] = tlsTail(in.TLSTail[k])
		ctx.Banner[k] = sshBanner(in.Bytes[k])
	}
	cb, sb := in.Bytes[0], in.Bytes[1]
	if in.PeerAt[1] > 0 {
		ctx.AnsweredAfter = in.PeerAt[1]
	}
	if bytes.HasPrefix(cb, []byte("PRI * HTTP/2.0\r\n")) {
		ctx.Protocol = "http2"
	} else if req, ok := requestLine(cb); ok {
		ctx.Protocol = "http"
		ctx.Request, ctx.Requests = req, 1
		ctx.Host, ctx.RequestLength, ctx.RequestHead = headers(cb)
	}
	if st, code, ok := statusLine(sb); ok {
		if ctx.Protocol == "" {
			ctx.Protocol = "http"
		}
		ctx.Response, ctx.Status = st, code
		_, ctx.ResponseLength, _ = headers(sb)
	}
	if sni, alpn, ok := findClientHello(cb); ok {
		ctx.Protocol = "tls"
		ctx.SNI, ctx.ALPN = sni, alpn
	}
	switch {
	case ctx.Protocol != "":
	case ctx.TLS[0] != "" || ctx.TLS[1] != "":
		ctx.Protocol = "tls"
	case ctx.Banner[0] != "" || ctx.Banner[1] != "":
		ctx.Protocol = "ssh"
	default:
		if name, ok := portNames[in.ServerPort]; ok {
			ctx.Protocol, ctx.ByPort = name, true
		}
	}
	return ctx
}

// line returns b's first line without its CR LF, and whether it ended
// within b.
func line(b []byte) ([]byte, bool) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return b, false
	}
	return bytes.TrimSuffix(b[:i], []byte("\r")), true
}

// requestLine reads an HTTP/1.x request line: METHOD SP target SP
// HTTP/1.x (RFC 9112 §3).
func requestLine(b []byte) (string, bool) {
	sp := methodEnd(b)
	if sp < 1 {
		return "", false // before looking for the line's end: most bytes are no request
	}
	l, _ := line(b[:min(len(b), 8192)])
	rest := l[sp+1:]
	end := bytes.LastIndexByte(rest, ' ')
	if end < 1 {
		return "", false
	}
	version := rest[end+1:]
	if !bytes.HasPrefix(version, []byte("HTTP/1.")) || len(version) != 8 {
		return "", false
	}
	return string(l[:sp]) + " " + Printable(rest[:end], maxTarget) + " " + Printable(version, 8), true
}

// methodEnd returns where the method that b begins with ends (its space),
// or -1 when b does not begin with a method and a space: an HTTP request
// line, or a text command.
func methodEnd(b []byte) int {
	if sp := bytes.IndexByte(b[:min(len(b), 21)], ' '); sp > 0 && isMethod(b[:sp]) {
		return sp
	}
	return -1
}

// isMethod: an HTTP method is a token; in practice, upper-case letters.
func isMethod(b []byte) bool {
	for _, c := range b {
		if (c < 'A' || c > 'Z') && c != '-' && c != '_' {
			return false
		}
	}
	return len(b) > 0
}

// statusLine reads an HTTP/1.x status line: HTTP/1.x SP code SP reason.
func statusLine(b []byte) (string, int, bool) {
	if !bytes.HasPrefix(b, []byte("HTTP/1.")) {
		return "", 0, false
	}
	l, _ := line(b[:min(len(b), 1024)])
	if len(l) < 12 || l[8] != ' ' {
		return "", 0, false
	}
	code, err := strconv.Atoi(string(l[9:12]))
	if err != nil || code < 100 || code > 999 || (len(l) > 12 && l[12] != ' ') {
		return "", 0, false
	}
	return Printable(l, maxField), code, true
}

// headers reads Host and Content-Length from the header lines after the
// start line, and the head's length when its blank line is in b.
func headers(b []byte) (host string, length, head int64) {
	length, head = -1, -1
	at := bytes.IndexByte(b, '\n') + 1
	if at == 0 {
		return
	}
	for at < len(b) {
		l, ok := line(b[at:])
		if !ok {
			return
		}
		next := at + bytes.IndexByte(b[at:], '\n') + 1
		if len(l) == 0 {
			head = int64(next)
			return
		}
		name, value, found := bytes.Cut(l, []byte(":"))
		if found {
			value = bytes.TrimSpace(value)
			switch {
			case bytes.EqualFold(name, []byte("host")):
				host = Printable(value, maxField)
			case bytes.EqualFold(name, []byte("content-length")):
				if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
					length = n
				}
			}
		}
		at = next
	}
	return
}

// sshBanner returns the SSH identification line b starts with (RFC 4253
// §4.2: "SSH-protoversion-softwareversion", at most 255 bytes).
func sshBanner(b []byte) string {
	if !bytes.HasPrefix(b, []byte("SSH-")) {
		return ""
	}
	l, _ := line(b[:min(len(b), 255)])
	return Printable(l, maxField)
}

// findClientHello looks for a ClientHello at the start of b, then after
// what a protocol sent in the clear before it upgraded (STARTTLS in SMTP,
// IMAP, POP3, XMPP; PostgreSQL's SSLRequest): at the first few places a
// handshake record starts.
func findClientHello(b []byte) (sni, alpn string, ok bool) {
	if len(b) < 6 {
		return "", "", false
	}
	if b[0] == 22 {
		return clientHello(b)
	}
	// What comes before an upgrade is text, or PostgreSQL's 8-byte
	// SSLRequest; and short: look no further than 1 KB.
	if !(isText(b[:4]) || bytes.HasPrefix(b, []byte{0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f})) {
		return "", "", false
	}
	at := 0
	for range 16 {
		i := bytes.Index(b[at:min(len(b), 1024)], []byte{22, 3})
		if i < 0 {
			break
		}
		at += i
		if len(b)-at >= 6 && b[at+5] == 1 {
			if sni, alpn, ok = clientHello(b[at:]); ok {
				return sni, alpn, ok
			}
		}
		at++
	}
	return "", "", false
}

// isText reports whether b is printable ASCII, tabs and line ends.
func isText(b []byte) bool {
	for _, c := range b {
		if (c < 0x20 || c > 0x7e) && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// clientHello reads the server name (extension 0, RFC 6066 §3) and the
// ALPN protocols (extension 16, RFC 7301) of the TLS ClientHello b starts
// with, its handshake message possibly spread over several records.
func clientHello(b []byte) (sni, alpn string, ok bool) {
	var msg []byte // the handshake bytes, records' headers removed
	for len(b) >= 5 && b[0] == 22 && b[1] == 3 && len(msg) < 1<<16 {
		n := int(binary.BigEndian.Uint16(b[3:5]))
		frag := b[5:min(len(b), 5+n)]
		msg = append(msg, frag...)
		if 5+n > len(b) {
			break
		}
		b = b[5+n:]
	}
	if len(msg) < 4 || msg[0] != 1 {
		return "", "", false
	}
	ok = true
	body := msg[4:]
	// client_version(2) random(32)
	r := reader{b: body}
	r.skip(34)
	r.skip(int(r.u8()))  // session_id
	r.skip(int(r.u16())) // cipher_suites
	r.skip(int(r.u8()))  // compression_methods
	exts := reader{b: r.take(int(r.u16()))}
	for !exts.failed && len(exts.b) >= 4 {
		typ := exts.u16()
		e := reader{b: exts.take(int(exts.u16()))}
		switch typ {
		case 0:
			list := reader{b: e.take(int(e.u16()))}
			for !list.failed && len(list.b) >= 3 {
				kind := list.u8()
				name := list.take(int(list.u16()))
				if kind == 0 && !list.failed && sni == "" {
					sni = Printable(name, maxField)
				}
			}
		case 16:
			list := reader{b: e.take(int(e.u16()))}
			var names []string
			for !list.failed && len(list.b) >= 1 && len(names) < 8 {
				p := list.take(int(list.u8()))
				if !list.failed {
					names = append(names, Printable(p, 32))
				}
			}
			alpn = strings.Join(names, ",")
		}
	}
	return sni, alpn, ok
}

// reader reads big-endian fields; past the end it reads zeros and sets
// failed, so that a hostile length cannot make a slice out of range.
type reader struct {
	b      []byte
	failed bool
}

func (r *reader) take(n int) []byte {
	if n > len(r.b) {
		r.failed = true
		out := r.b
		r.b = nil
		return out
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *reader) skip(n int) { r.take(n) }

func (r *reader) u8() uint8 {
	if b := r.take(1); len(b) == 1 {
		return b[0]
	}
	return 0
}

func (r *reader) u16() uint16 {
	if b := r.take(2); len(b) == 2 {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

// tlsTail names the TLS record whose header t is (RFC 8446 §5.1).
func tlsTail(t []byte) string {
	if len(t) < 5 {
		return ""
	}
	switch t[0] {
	case 20:
		return "change_cipher_spec"
	case 21:
		// A plaintext alert is two bytes (RFC 8446 §6); a longer one is
		// encrypted (TLS 1.2 after ChangeCipherSpec).
		if binary.BigEndian.Uint16(t[3:5]) != 2 || len(t) < 7 {
			return "alert (encrypted)"
		}
		level := "level " + strconv.Itoa(int(t[5]))
		switch t[5] {
		case 1:
			level = "warning"
		case 2:
			level = "fatal"
		}
		desc, ok := alerts[t[6]]
		if !ok {
			desc = "alert " + strconv.Itoa(int(t[6]))
		}
		return "alert " + level + " " + desc
	case 22:
		return "handshake"
	case 23:
		return "application_data"
	case 24:
		return "heartbeat"
	}
	return ""
}

// alerts are the TLS alert descriptions (IANA TLS Alerts registry).
var alerts = map[byte]string{
	0: "close_notify", 10: "unexpected_message", 20: "bad_record_mac", 21: "decryption_failed",
	22: "record_overflow", 30: "decompression_failure", 40: "handshake_failure", 41: "no_certificate",
	42: "bad_certificate", 43: "unsupported_certificate", 44: "certificate_revoked",
	45: "certificate_expired", 46: "certificate_unknown", 47: "illegal_parameter", 48: "unknown_ca",
	49: "access_denied", 50: "decode_error", 51: "decrypt_error", 60: "export_restriction",
	70: "protocol_version", 71: "insufficient_security", 80: "internal_error",
	86: "inappropriate_fallback", 90: "user_canceled", 100: "no_renegotiation",
	109: "missing_extension", 110: "unsupported_extension", 111: "certificate_unobtainable",
	112: "unrecognized_name", 113: "bad_certificate_status_response",
	114: "bad_certificate_hash_value", 115: "unknown_psk_identity", 116: "certificate_required",
	120: "no_application_protocol",
}

// portNames are the usual services of well-known server ports: a guess,
// said as one (Context.ByPort).
var portNames = map[uint16]string{
	21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "dns", 80: "http", 110: "pop3",
	111: "rpcbind", 119: "nntp", 143: "imap", 179: "bgp", 389: "ldap", 443: "https", 445: "smb",
	465: "smtps", 514: "syslog", 587: "submission", 636: "ldaps", 853: "dns-over-tls",
	873: "rsync", 993: "imaps", 995: "pop3s", 1433: "mssql", 1521: "oracle", 1883: "mqtt",
	2049: "nfs", 2181: "zookeeper", 2379: "etcd", 3128: "http-proxy", 3306: "mysql",
	3389: "rdp", 4222: "nats", 5222: "xmpp", 5432: "postgresql", 5672: "amqp", 5900: "vnc",
	6379: "redis", 6443: "kubernetes-api", 8080: "http-alt", 8443: "https-alt",
	8883: "mqtt-tls", 9042: "cassandra", 9092: "kafka", 9200: "elasticsearch",
	11211: "memcached", 27017: "mongodb",
}

// Printable renders at most n bytes of b as text a terminal and a JSON
// reader show safely: printable ASCII as it is, every other byte (and the
// backslash) as \xNN, and "..." when b was longer.
func Printable(b []byte, n int) string {
	var out strings.Builder
	const hex = "0123456789abcdef"
	for i, c := range b {
		if i == n {
			out.WriteString("...")
			break
		}
		if c >= 0x20 && c < 0x7f && c != '\\' {
			out.WriteByte(c)
		} else {
			out.WriteString(`\x`)
			out.WriteByte(hex[c>>4])
			out.WriteByte(hex[c&15])
		}
	}
	return out.String()
}
