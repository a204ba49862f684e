package appctx

import (
	"crypto/tls"
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// goClientHello returns the ClientHello Go's crypto/tls sends for name,
// with ALPN: a real one, post-quantum key share and all (some 1.3 KB).
func goClientHello(tb testing.TB, name string) []byte {
	tb.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		c := tls.Client(a, &tls.Config{ServerName: name, NextProtos: []string{"h2", "http/1.1"}})
		c.Handshake() // fails when b closes: only its first flight is wanted
	}()
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	head := make([]byte, 5)
	if _, err := io.ReadFull(b, head); err != nil {
		tb.Fatal(err)
	}
	body := make([]byte, int(head[3])<<8|int(head[4]))
	if _, err := io.ReadFull(b, body); err != nil {
		tb.Fatal(err)
	}
	return append(head, body...)
}

func TestParse(t *testing.T) {
	hello := goClientHello(t, "api.example.com")
	for _, tc := range []struct {
		name   string
		in     Input
		check  func(Context) bool
		expect string
	}{
		{"tls sni and alpn", Input{Bytes: [2][]byte{hello}},
			func(c Context) bool {
				return c.Protocol == "tls" && c.SNI == "api.example.com" && c.ALPN == "h2,http/1.1"
			},
			"Go's ClientHello names api.example.com, ALPN h2,http/1.1"},
		{"tls hello in two records", Input{Bytes: [2][]byte{splitRecord(hello, 100)}},
			func(c Context) bool { return c.SNI == "api.example.com" },
			"a handshake message may span records (RFC 8446 §5.1)"},
		{"tls hello cut short", Input{Bytes: [2][]byte{hello[:60]}},
			func(c Context) bool { return c.Protocol == "tls" && c.SNI == "" },
			"a ClientHello cut before its extensions is still TLS, with no name"},
		{"starttls", Input{Bytes: [2][]byte{append([]byte("a001 STARTTLS\r\n"), hello...)}, ServerPort: 143},
			func(c Context) bool { return c.Protocol == "tls" && c.SNI == "api.example.com" },
			"the ClientHello after an IMAP STARTTLS"},
		{"postgres sslrequest", Input{Bytes: [2][]byte{append([]byte{0, 0, 0, 8, 4, 0xd2, 0x16, 0x2f}, hello...)}},
			func(c Context) bool { return c.SNI == "api.example.com" },
			"PostgreSQL's SSLRequest, then the ClientHello"},
		{"tls alert", Input{TLSTail: [2][]byte{nil, {21, 3, 3, 0, 2, 2, 40}}},
			func(c Context) bool { return c.Protocol == "tls" && c.TLS[1] == "alert fatal handshake_failure" },
			"a plaintext fatal alert, 40"},
		{"tls encrypted alert", Input{TLSTail: [2][]byte{{21, 3, 3, 0, 26, 0, 0}, nil}},
			func(c Context) bool { return c.TLS[0] == "alert (encrypted)" },
			"an alert of 26 bytes is encrypted"},
		{"http", Input{Bytes: [2][]byte{[]byte("PUT /a%20b?x=1 HTTP/1.0\r\nhost:  h.example \r\ncontent-length: 12\r\n\r\nbody"), []byte("HTTP/1.1 100 Continue\r\n\r\n")}, PeerAt: [2]int64{-1, 49}},
			func(c Context) bool {
				return c.Request == "PUT /a%20b?x=1 HTTP/1.0" && c.Host == "h.example" && c.RequestLength == 12 &&
					c.RequestHead == 66 && c.Status == 100 && c.AnsweredAfter == 49
			},
			"header names are case-insensitive, values trimmed"},
		{"http target escaped and cut", Input{Bytes: [2][]byte{[]byte("GET /\x1b[2J" + strings.Repeat("x", 300) + " HTTP/1.1\r\n")}},
			func(c Context) bool {
				return strings.HasPrefix(c.Request, `GET /\x1b[2J`) && strings.HasSuffix(c.Request, "... HTTP/1.1") && len(c.Request) < 230
			},
			"an escape sequence is shown, not played; the target is cut at 200 bytes"},
		{"not http", Input{Bytes: [2][]byte{[]byte("GET / HTTP/2\r\n"), []byte("HTTP/1.1 2000 OK\r\n")}, ServerPort: 6379},
			func(c Context) bool { return c.Protocol == "redis" && c.ByPort && c.Request == "" && c.Status == 0 },
			"HTTP/2 is no HTTP/1.x request line, 2000 no status: the port names it"},
		{"h2 prior knowledge", Input{Bytes: [2][]byte{[]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")}},
			func(c Context) bool { return c.Protocol == "http2" },
			"the HTTP/2 connection preface"},
		{"ssh", Input{Bytes: [2][]byte{[]byte("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n\x00\x00"), []byte("SSH-2.0-dropbear\n")}},
			func(c Context) bool {
				return c.Protocol == "ssh" && c.Banner == [2]string{"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13", "SSH-2.0-dropbear"}
			},
			"RFC 4253 §4.2, with a bare LF too"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.PeerAt == [2]int64{} {
				tc.in.PeerAt = [2]int64{-1, -1}
			}
			got := Parse(&tc.in)
			if !tc.check(got) {
				t.Errorf("got %+v\nwant: %s", got, tc.expect)
			}
			checkPrintable(t, got)
		})
	}
}

// splitRecord splits the handshake record b into two records at n bytes
// of its body.
func splitRecord(b []byte, n int) []byte {
	body := b[5:]
	out := []byte{22, 3, 1, byte(n >> 8), byte(n)}
	out = append(out, body[:n]...)
	rest := len(body) - n
	out = append(out, 22, 3, 1, byte(rest>>8), byte(rest))
	return append(out, body[n:]...)
}

// checkPrintable: every string of c is printable ASCII and short.
func checkPrintable(tb testing.TB, c Context) {
	tb.Helper()
	for _, s := range []string{c.Protocol, c.Request, c.Host, c.Response, c.SNI, c.ALPN, c.TLS[0], c.TLS[1], c.Banner[0], c.Banner[1]} {
		if !utf8.ValidString(s) || len(s) > 4*maxTarget+64 {
			tb.Errorf("%q: too long or not UTF-8", s)
		}
		for _, r := range s {
			if r < 0x20 || r > 0x7e {
				tb.Errorf("%q: holds %U", s, r)
				break
			}
		}
	}
}

// FuzzParse: whatever the bytes, Parse returns printable, bounded text
// and never panics.
func FuzzParse(f *testing.F) {
	hello := goClientHello(f, "fuzz.example.org")
	f.Add(hello, []byte("HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\n\r\n"), []byte{21, 3, 3, 0, 2, 2, 40})
	f.Add([]byte("POST /upload HTTP/1.1\r\nHost: lab\r\nContent-Length: 1048576\r\n\r\n"), []byte("SSH-2.0-x\r\n"), []byte{23, 3, 3, 1, 0})
	f.Add(append([]byte("EHLO x\r\nSTARTTLS\r\n"), splitRecord(hello, 7)...), []byte(nil), []byte(nil))
	f.Fuzz(func(t *testing.T, client, server, tail []byte) {
		in := Input{Bytes: [2][]byte{client, server}, TLSTail: [2][]byte{tail, tail}, PeerAt: [2]int64{-1, int64(len(client))}, ServerPort: 443}
		if len(tail) > 7 {
			in.TLSTail = [2][]byte{tail[:7], nil}
		}
		checkPrintable(t, Parse(&in))
	})
}
