package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The keep-alive reuse race, the most common "connection reset by peer"
// of HTTP clients: a server closes a kept-alive connection that has been
// idle for its timeout (a FIN, nothing unread), and the client, which has
// not read since its last answer, writes its next request on it. The
// server's socket is closed, so its kernel answers the request with a
// RST.
//
// Servers: Go's net/http (IdleTimeout 300 ms), nginx 1.22
// (keepalive_timeout 300ms) and Python's http.server (a handler timeout
// of 0.3 s, protocol HTTP/1.1). The client is a plain socket: one GET,
// its answer read to its Content-Length, then the second GET 600 ms
// later.
//
//   - after: the server's FIN reached the client, whose kernel acked it;
//     the request meets the server's FIN_WAIT2 remnant (a timewait
//     mini-socket, tcp_fin_timeout 60 s): TCP_TIMEWAIT_SOCKET.
//   - crossed: the router drops the server's FINs, as a FIN lost or still
//     on its way: the request does not acknowledge the FIN and meets the
//     server's FIN_WAIT1 socket: TCP_ABORT_ON_DATA, a bare RST at the
//     FIN's own sequence number (the request's ack).
//   - delayed (reuseDelayed): a path 100 ms long from the server to the
//     client (a relay in the router namespace holds each of the server's
//     packets); the client sends its next request 250 ms after its first
//     answer's first byte arrived, after the server closed (300 ms after it answered)
//     and before the FIN arrives (400 ms): request and FIN cross on the
//     wire, the client sees the FIN, then the RST.

// reuseIdle is the servers' idle timeout; reuseWait the client's pause
// after its first answer, well past it. reuseDelay is the delayed
// variants' one-way delay from the server to the client, and reuseCross
// their client's pause: the server has closed (reuseIdle after its answer
// left) and its FIN is still on the way (reuseDelay more), 50 ms either
// side.
const (
	reuseIdle  = 300 * time.Millisecond
	reuseWait  = 600 * time.Millisecond
	reuseDelay = 100 * time.Millisecond
	reuseCross = 250 * time.Millisecond
)

func reuse() *scenario {
	return &scenario{
		name:    "reuse",
		dir:     serversDir,
		snaplen: 200,
		routed:  true,
		desc:    "HTTP keep-alive reuse race: Go net/http (IdleTimeout 300 ms), nginx (keepalive_timeout 300ms; nginx-reset: with reset_timedout_connection on, which does not apply to it) or Python http.server (timeout 0.3 s) closes an idle kept-alive connection with a FIN; the client, not having read, sends its next GET 600 ms after its first answer (many: after three answered requests, the first with a 3000-byte head); after: the FIN had arrived and was acked; crossed: the router drops the server's FINs, so the request does not ack it",
		variants: []variant{
			"gohttp-after-v4-eth-client", "gohttp-after-v6-eth-server", "nginx-after-v4-any-server-ng", "nginx-reset-after-v4-eth-server", "pyhttp-after-v4-eth-server",
			"gohttp-crossed-v4-any-router", "gohttp-crossed-v4-eth-client", "nginx-crossed-v6-eth-server", "pyhttp-crossed-v4-eth-server",
			"gohttp-many-after-v4-eth-server", "nginx-many-after-v6-eth-client",
		},
		expect: []string{"TCP_TIMEWAIT_SOCKET", "TCP_ABORT_ON_DATA"},
		// The client never closed: data after the server's close. See
		// timewait_rst: the mini-socket answers in substate FIN_WAIT2.
		causes: map[string]string{"TCP_TIMEWAIT_SOCKET": "data_after_close"},
		notes: map[string]string{
			"TCP_TIMEWAIT_SOCKET": "the next request on a kept-alive connection the server had closed when idle; the client had acked the server's FIN: its FIN_WAIT2 remnant answers (tcp_timewait_state_process, TCP_TW_RST)",
			"TCP_ABORT_ON_DATA":   "the next request on a kept-alive connection the server had closed when idle; the server's FIN had not reached the client (the router dropped it): data in FIN_WAIT1 after shutdown (tcp_rcv_state_process)",
		},
		server: reuseServer,
		client: reuseClient,
		drive:  driveReuse,
	}
}

// delayedNote is the delayed variants' note on the server's reset.
const delayedNote = "the next request on a kept-alive connection the server had closed when idle, sent before the server's FIN arrived (100 ms on the way): it crossed the FIN and met the FIN_WAIT1 socket, data after shutdown (tcp_rcv_state_process)"

// reuseDelayed is reuse on a path whose server-to-client direction is
// 100 ms long, so that the client's next request crosses the server's FIN
// on the wire. The client's capture shows the request, the FIN, the
// client's ACK of it, then the RST.
func reuseDelayed() *scenario {
	s := reuse()
	s.desc = "HTTP keep-alive reuse race on a path 100 ms long from the server to the client (a relay in the router namespace holds the server's packets): the server closes the idle connection 300 ms after its answer; the client sends its next GET 250 ms after the answer arrived, crossing the FIN on the wire (busy: a second connection opened after the first answer, so the server's listener shows it still accepts)"
	s.variants = []variant{"gohttp-delayed-v4-eth-client", "nginx-delayed-v4-eth-client", "pyhttp-delayed-v4-eth-client",
		"gohttp-busy-delayed-v4-eth-client", "nginx-busy-delayed-v4-eth-client"}
	s.expect = []string{"TCP_ABORT_ON_DATA"}
	s.injector = delayRelay
	s.notes = map[string]string{"TCP_ABORT_ON_DATA": delayedNote}
	return s
}

// reuseServer runs the variant's HTTP server with its idle timeout.
func reuseServer(a *agent) error {
	switch {
	case a.tags["gohttp"]:
		ln, err := a.listen()
		if err != nil {
			return err
		}
		srv := &http.Server{IdleTimeout: reuseIdle, ErrorLog: log.New(io.Discard, "", 0),
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })}
		go srv.Serve(ln)
		return nil
	case a.tags["nginx"]:
		dir, err := a.workdir()
		if err != nil {
			return err
		}
		if err := a.nginx(dir, nginxReuseConf(dir, a.server, a.tags["reset"])); err != nil {
			return err
		}
	case a.tags["pyhttp"]:
		dir, err := a.workdir()
		if err != nil {
			return err
		}
		if _, err := a.daemon(dir, "python3", "-c", pyReuseServer, a.server, fmt.Sprint(port)); err != nil {
			return err
		}
	default:
		return fmt.Errorf("reuse: no server tag")
	}
	a.mark("ready")
	return nil
}

// nginxReuseConf answers every request with "ok" and closes a kept-alive
// connection after 300 ms idle; reset turns reset_timedout_connection on,
// which nginx does not apply to a keep-alive timeout (its keepalive
// handler closes plainly).
func nginxReuseConf(dir, addr string, reset bool) string {
	return nginxHTTP(dir, addr, dir+"/error.log", []string{"keepalive_timeout 300ms;", "reset_timedout_connection " + onOff(reset) + ";"},
		[]string{"location / {", "\treturn 200 \"ok\\n\";", "}"})
}

// pyReuseServer is http.server with HTTP/1.1 keep-alive and a handler
// timeout: handle_one_request's readline times out and the connection is
// closed (socketserver: shutdown(SHUT_WR), close()).
const pyReuseServer = `
import http.server, socket, socketserver, sys
host, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 0.3
    def do_GET(self):
        body = b"ok\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    allow_reuse_address = True
    daemon_threads = True
Server((host, port), Handler).serve_forever()
`

// reuseClient sends a GET, reads its answer to its Content-Length and no
// further, waits past the server's idle timeout and sends the next GET on
// the same connection.
func reuseClient(a *agent) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	get := "GET / HTTP/1.1\r\nHost: lab\r\n\r\n"
	if a.tags["many"] {
		// Three answered requests before the idle one, the first with a
		// head of 3000 bytes (cookies, say): the first bytes kept of
		// the client fill before the later requests come.
		for i, req := range []string{
			"GET /a HTTP/1.1\r\nHost: lab\r\nX-Pad: " + strings.Repeat("p", 3000) + "\r\n\r\n",
			"GET /b HTTP/1.1\r\nHost: lab\r\n\r\n",
		} {
			if _, err := io.WriteString(c, req); err != nil {
				return err
			}
			if _, err := readResponse(c); err != nil {
				return fmt.Errorf("answer %d: %w", i+1, err)
			}
		}
		get = "GET /c HTTP/1.1\r\nHost: lab\r\n\r\n"
	}
	if _, err := io.WriteString(c, get); err != nil {
		return err
	}
	first, err := readResponse(c)
	if err != nil {
		return fmt.Errorf("first answer: %w", err)
	}
	if a.tags["many"] {
		get = "GET /d HTTP/1.1\r\nHost: lab\r\n\r\n"
	}
	if a.tags["busy"] {
		// Another client's connection, opened after this one's answer:
		// the server's SYN-ACK to it shows its listener still accepting
		// when the follow-up RST comes from it (TCP_FLAGS).
		other, err := a.dial()
		if err != nil {
			return fmt.Errorf("second connection: %w", err)
		}
		defer other.Close()
	}
	if a.tags["delayed"] {
		// From the answer's first byte: Python's http.server writes
		// its head and body apart, and Nagle holds the body back for
		// a round trip after the server's idle timer started.
		time.Sleep(time.Until(first.Add(reuseCross)))
	} else {
		time.Sleep(reuseWait)
	}
	if _, err := io.WriteString(c, get); err != nil {
		return fmt.Errorf("second request: %w", err)
	}
	// A read would return the server's FIN (EOF) first where it
	// arrived; a write after the RST fails.
	time.Sleep(300 * time.Millisecond)
	_, err = io.WriteString(c, get)
	if !errors.Is(err, unix.ECONNRESET) && !errors.Is(err, unix.EPIPE) {
		return fmt.Errorf("third write: %v, want reset", err)
	}
	return nil
}

// readResponse reads an HTTP response head and its Content-Length body,
// one byte at a time, leaving whatever follows in the kernel. It returns
// when the status line had come.
func readResponse(c net.Conn) (time.Time, error) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	n := 0
	var first time.Time
	for {
		l, err := readLine(c)
		if err != nil {
			return first, err
		}
		if first.IsZero() {
			first = time.Now()
		}
		if l == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Length") {
			if n, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return first, err
			}
		}
	}
	_, err := io.ReadFull(c, make([]byte, n))
	return first, err
}

// driveReuse drops the server's FINs at the router for crossed; for
// delayed it drops everything the server sends on the port and starts the
// relay that sends it on late.
func driveReuse(ctx context.Context, r *runner) error {
	switch {
	case r.j.v.has("crossed"):
		if err := r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--sport", fmt.Sprint(port), "--tcp-flags", "FIN", "FIN", "-j", "DROP"); err != nil {
			return err
		}
	case r.j.v.has("delayed"):
		if err := r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "-s", r.t.server(), "--sport", fmt.Sprint(port), "-j", "DROP"); err != nil {
			return err
		}
		relay, err := startAgent(nsRouter, "injector", "-job", r.self, "-role", "injector", "-server", r.t.server(), "-client", r.t.client())
		if err != nil {
			return err
		}
		defer relay.kill()
		if err := relay.expect("ready", 5*time.Second); err != nil {
			return err
		}
	}
	return standard(ctx, r)
}

// delayRelay runs in the router namespace as the injector role: it reads
// each IPv4 packet the server sends from the port as it arrives (AF_PACKET;
// the FORWARD chain drops the original) and sends it on to the client
// reuseDelay later, in order, through an IPPROTO_RAW socket, its TTL one
// lower as forwarding leaves it: a path with a delay, which the kernel's
// netem would give where it is built.
func delayRelay(a *agent) error {
	cl, err := netip.ParseAddr(a.clientAddr)
	if err != nil || !cl.Is4() {
		return fmt.Errorf("delay relay: IPv4 client address wanted, got %q", a.clientAddr)
	}
	rx, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return fmt.Errorf("AF_PACKET: %w", err)
	}
	defer unix.Close(rx)
	tx, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		return fmt.Errorf("IPPROTO_RAW: %w", err)
	}
	defer unix.Close(tx)
	type held struct {
		at  time.Time
		pkt []byte
	}
	queue := make(chan held, 4096)
	go func() {
		to := &unix.SockaddrInet4{Addr: cl.As4()}
		for h := range queue {
			time.Sleep(time.Until(h.at))
			if err := unix.Sendto(tx, h.pkt, 0, to); err != nil {
				fmt.Fprintf(os.Stderr, "delay relay: %v\n", err)
			}
		}
	}()
	a.mark("ready")
	buf := make([]byte, 65536)
	for {
		n, from, err := unix.Recvfrom(rx, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err
		}
		if ll, ok := from.(*unix.SockaddrLinklayer); ok && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // forwarded, or sent by the relay itself
		}
		s, ok := parseSeg(buf[:n])
		if !ok || s.src.Port() != port || s.dst.Addr() != cl || s.ttl < 2 {
			continue
		}
		total := int(binary.BigEndian.Uint16(buf[2:]))
		pkt := append([]byte(nil), buf[:total]...)
		ihl := int(pkt[0]&0xf) * 4
		pkt[8]--
		pkt[10], pkt[11] = 0, 0
		binary.BigEndian.PutUint16(pkt[10:], ipChecksum(pkt[:ihl]))
		// A packet from a local socket crosses a veth with its TCP
		// checksum left to the hardware (CHECKSUM_PARTIAL): AF_PACKET
		// hands it over unfinished, so it is computed afresh.
		t := pkt[ihl:]
		t[16], t[17] = 0, 0
		binary.BigEndian.PutUint16(t[16:], tcpChecksum(pkt[12:16], pkt[16:20], t))
		queue <- held{time.Now().Add(reuseDelay), pkt}
	}
}
