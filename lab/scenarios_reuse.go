package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
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

// reuseIdle is the servers' idle timeout; reuseWait the client's pause
// after its first answer, well past it.
const (
	reuseIdle = 300 * time.Millisecond
	reuseWait = 600 * time.Millisecond
)

func reuse() *scenario {
	return &scenario{
		name:    "reuse",
		dir:     serversDir,
		snaplen: 200,
		routed:  true,
		desc:    "HTTP keep-alive reuse race: Go net/http (IdleTimeout 300 ms), nginx (keepalive_timeout 300ms) or Python http.server (timeout 0.3 s) closes an idle kept-alive connection with a FIN; the client, not having read, sends its next GET 600 ms after its first answer; after: the FIN had arrived and was acked; crossed: the router drops the server's FINs, so the request does not ack it",
		variants: []variant{
			"gohttp-after-v4-eth-client", "gohttp-after-v6-eth-server", "nginx-after-v4-any-server-ng", "pyhttp-after-v4-eth-server",
			"gohttp-crossed-v4-any-router", "gohttp-crossed-v4-eth-client", "nginx-crossed-v6-eth-server", "pyhttp-crossed-v4-eth-server",
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
		conf := filepath.Join(dir, "nginx.conf")
		if err := os.WriteFile(conf, []byte(nginxReuseConf(dir, a.server)), 0o644); err != nil {
			return err
		}
		if _, err := a.daemon(dir, "nginx", "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", conf); err != nil {
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
// connection after 300 ms idle.
func nginxReuseConf(dir, addr string) string {
	listen := addr
	if strings.Contains(addr, ":") {
		listen = "[" + addr + "]"
	}
	return fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	keepalive_timeout 300ms;
	server {
		listen %[2]s:%[3]d;
		location / {
			return 200 "ok\n";
		}
	}
}
`, dir, listen, port)
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
	if _, err := io.WriteString(c, get); err != nil {
		return err
	}
	if err := readResponse(c); err != nil {
		return fmt.Errorf("first answer: %w", err)
	}
	time.Sleep(reuseWait)
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
// one byte at a time, leaving whatever follows in the kernel.
func readResponse(c net.Conn) error {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer c.SetReadDeadline(time.Time{})
	n := 0
	for {
		l, err := readLine(c)
		if err != nil {
			return err
		}
		if l == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(k, "Content-Length") {
			if n, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				return err
			}
		}
	}
	_, err := io.ReadFull(c, make([]byte, n))
	return err
}

// driveReuse drops the server's FINs at the router for crossed.
func driveReuse(ctx context.Context, r *runner) error {
	if r.j.v.has("crossed") {
		if err := r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--sport", fmt.Sprint(port), "--tcp-flags", "FIN", "FIN", "-j", "DROP"); err != nil {
			return err
		}
	}
	return standard(ctx, r)
}
