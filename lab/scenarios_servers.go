package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The scenarios of this file run real HTTP server software against a 1 MiB
// upload (or a client that goes quiet): Go's net/http, Python's
// http.server, nginx and HAProxy from Debian's packages (lab/run.sh
// installs them). Their captures go to testdata/pcaps-servers.

// goHTTP is Go's net/http server answering before it has read the body. The
// server then half-closes (FIN), waits rstAvoidanceDelay (500 ms) for the
// client to stop, and closes with the rest of the body unread.
func goHTTP() *scenario {
	return &scenario{
		name:    "gohttp",
		dir:     serversDir,
		snaplen: 200,
		expect:  []string{"TCP_ABORT_ON_CLOSE"},
		desc:    "Go net/http server; the client uploads 1 MiB; the handler answers 413 from the Content-Length (413) or after http.MaxBytesReader stops at 64 KiB (maxbytes) without reading the rest; the server half-closes, waits 500 ms and closes with the body unread",
		variants: []variant{
			"413-v4-eth-server", "413-v6-eth-client", "maxbytes-v4-any-server", "maxbytes-v6-eth-server-ng",
			"goclient-413-v4-eth-client", "goclient-maxbytes-v4-eth-server",
		},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "net/http closeWriteAndWait: FIN, 500 ms, then close() with the upload unread",
		},
		server: func(a *agent) error {
			ln, err := a.listen()
			if err != nil {
				return err
			}
			srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if a.tags["maxbytes"] {
					r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
					if _, err := io.Copy(io.Discard, r.Body); err != nil {
						http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
						return
					}
				} else if r.ContentLength > 64<<10 {
					http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
					return
				}
				io.WriteString(w, "ok\n")
			})}
			go srv.Serve(ln)
			return nil
		},
		client: func(a *agent) error {
			if !a.tags["goclient"] {
				_, err := a.curlPost("/upload")
				return err
			}
			return a.goPost("/upload")
		},
	}
}

// goPost uploads 1 MiB with Go's http.Client.
func (a *agent) goPost(path string) error {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	resp, err := c.Post(a.url(path), "application/octet-stream", bytes.NewReader(make([]byte, bodySize)))
	if err != nil {
		fmt.Fprintf(os.Stderr, "go client: %v\n", err)
		return nil // a reset during the upload is the scenario's outcome
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Fprintf(os.Stderr, "go client: %s\n", resp.Status)
	return nil
}

// pyServer is a Python http.server whose POST handler answers 413 from the
// Content-Length without reading the body. It binds without
// HTTPServer.server_bind, which would look the address up in DNS.
const pyServer = `
import http.server, socket, socketserver, sys
host, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n > 65536:
            body = b"request body too large\n"
            self.send_response(int(sys.argv[3]))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
            return
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
class Server(socketserver.ThreadingTCPServer):
    address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
    allow_reuse_address = True
    daemon_threads = True
Server((host, port), Handler).serve_forever()
`

func pyHTTP() *scenario {
	return &scenario{
		name:    "pyhttp",
		dir:     serversDir,
		snaplen: 200,
		expect:  []string{"TCP_ABORT_ON_CLOSE"},
		desc:    "Python http.server (BaseHTTPRequestHandler, ThreadingTCPServer); the client uploads 1 MiB; do_POST answers 413 (or 400) from the Content-Length without reading the body; socketserver shuts the socket down for writing (FIN) and closes it at once with the body unread",
		variants: []variant{
			"413-v4-eth-server", "413-v6-eth-client", "400-v4-any-client-ng", "400-v6-eth-server",
		},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "socketserver shutdown_request: shutdown(SHUT_WR), then close() with the upload unread",
		},
		server: func(a *agent) error {
			dir, err := a.workdir()
			if err != nil {
				return err
			}
			status := "413"
			if a.tags["400"] {
				status = "400"
			}
			_, err = a.daemon(dir, "python3", "-c", pyServer, a.server, fmt.Sprint(port), status)
			if err != nil {
				return err
			}
			a.mark("ready")
			return nil
		},
		client: func(a *agent) error {
			_, err := a.curlPost("/upload")
			return err
		},
	}
}

// pyHTTPModule is `python3 -m http.server`, the file server many people
// start by hand: it has no do_POST, so a POST gets 501 with its body unread.
func pyHTTPModule() *scenario {
	return &scenario{
		name:     "pyhttp_module",
		dir:      serversDir,
		snaplen:  200,
		expect:   []string{"TCP_ABORT_ON_CLOSE"},
		desc:     "python3 -m http.server (SimpleHTTPRequestHandler) gets a 1 MiB POST; it has no do_POST, answers 501 Unsupported method without reading the body, shuts the socket down for writing and closes it",
		variants: []variant{"501-v4-eth-server", "501-v6-eth-client"},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "send_error(501) sets close_connection; socketserver shutdown_request: shutdown(SHUT_WR), then close() with the upload unread",
		},
		server: func(a *agent) error {
			dir, err := a.workdir()
			if err != nil {
				return err
			}
			if _, err := a.daemon(dir, "python3", "-m", "http.server", "--bind", a.server, "--directory", dir, fmt.Sprint(port)); err != nil {
				return err
			}
			a.mark("ready")
			return nil
		},
		client: func(a *agent) error {
			_, err := a.curlPost("/upload")
			return err
		},
	}
}

// nginx writes conf to dir/nginx.conf and starts nginx on it as a
// daemon of the agent, its error log in dir.
func (a *agent) nginx(dir, conf string) error {
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return err
	}
	_, err := a.daemon(dir, "nginx", "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", path)
	return err
}

// nginxHTTP is a minimal nginx configuration that writes only under dir
// (its error log to errorLog, a path or stderr), with one HTTP server
// listening on addr: http holds the http block's own directives, server
// the server block's after its listen.
func nginxHTTP(dir, addr, errorLog string, http, server []string) string {
	listen := addr
	if strings.Contains(addr, ":") {
		listen = "[" + addr + "]"
	}
	return fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[5]s info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	%[3]s
	server {
		listen %[2]s:%[4]d;
		%[6]s
	}
}
`, dir, listen, strings.Join(http, "\n\t"), port, errorLog, strings.Join(server, "\n\t\t"))
}

// nginxConf times clients out after 1 s and resets them.
func nginxConf(dir, addr string) string {
	return nginxHTTP(dir, addr, dir+"/error.log",
		[]string{"client_max_body_size 64k;", "client_body_timeout 1s;", "client_header_timeout 1s;", "reset_timedout_connection on;"},
		[]string{"location / {", "\tproxy_pass http://127.0.0.1:9;", "}"})
}

func nginx() *scenario {
	return &scenario{
		name:    "nginx",
		dir:     serversDir,
		snaplen: 200,
		desc:    "nginx 1.22 (Debian) with reset_timedout_connection on: a client that sends part of its body (bodytimeout) or of its headers (headertimeout) and goes quiet is reset when client_body_timeout / client_header_timeout (1 s) runs out",
		variants: []variant{
			"bodytimeout-v4-eth-client", "bodytimeout-v6-any-server-ng",
			"headertimeout-v4-eth-server", "headertimeout-v6-eth-client",
		},
		// A 413 for client_max_body_size was tried too and never reset:
		// nginx reads and discards the rest of a rejected body, even with
		// lingering_close off and a client that sends it all.
		expect: []string{"TCP_STATE"},
		notes: map[string]string{
			"TCP_STATE": "reset_timedout_connection: nginx sets SO_LINGER {on, 0} on a timed-out connection and closes it, one timeout after the client went quiet",
		},
		server: func(a *agent) error {
			dir, err := a.workdir()
			if err != nil {
				return err
			}
			if err := a.nginx(dir, nginxConf(dir, a.server)); err != nil {
				return err
			}
			a.mark("ready")
			return nil
		},
		client: func(a *agent) error {
			if a.tags["bodytimeout"] {
				return a.stall("POST /upload HTTP/1.1\r\nHost: lab\r\nContent-Length: 4096\r\n\r\n" + strings.Repeat("x", 100))
			}
			return a.stall("GET / HTTP/1.1\r\nHost: lab\r\n")
		},
	}
}

// stall sends part of a request and goes quiet; the server's timeout must
// end the connection with a reset.
func (a *agent) stall(part string) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := io.WriteString(c, part); err != nil {
		return err
	}
	return expectReset(drain(c, 5*time.Second))
}

// haproxyConf fronts a backend that does not exist: port 5001 of the
// server's own address has no listener. Uploads to /upload above 64 KiB are
// denied with 413; everything else goes to the dead backend.
func haproxyConf(addr string) string {
	bind := addr
	if strings.Contains(addr, ":") {
		bind = "[" + addr + "]"
	}
	return fmt.Sprintf(`global
	maxconn 64
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
	retries 1
frontend fe
	bind %[1]s:%[2]d
	http-request deny deny_status 413 if { path_beg /upload } { req.hdr_val(content-length) gt 65536 }
	default_backend dead
backend dead
	server gone %[1]s:%[3]d
`, bind, port, port+1)
}

func haproxy() *scenario {
	return &scenario{
		name:    "haproxy",
		dir:     serversDir,
		snaplen: 200,
		desc:    "HAProxy 2.6 (Debian) in front of a backend with no listener; a 1 MiB upload (curl; pyclient: Python http.client, which sends the whole body before reading) is denied with 413 by http-request deny (deny), or sent to the dead backend, whose host refuses haproxy's connections, and answered 503 (dead); the client's body is left unread",
		variants: []variant{
			"deny-v4-eth-server", "pyclient-deny-v6-eth-client", "pyclient-deny-v4-any-server-ng", "dead-v4-any-server", "dead-v4-eth-client", "dead-v6-any-server-ng",
		},
		expect:   []string{"TCP_ABORT_ON_CLOSE", "NO_SOCKET"},
		annotate: annotateHAProxyDead,
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "haproxy closed the client's connection after its early answer with the upload unread",
			"NO_SOCKET":          "haproxy's connection to the backend port with no listener, on the server host's loopback",
		},
		server: func(a *agent) error {
			dir, err := a.workdir()
			if err != nil {
				return err
			}
			conf := filepath.Join(dir, "haproxy.cfg")
			if err := os.WriteFile(conf, []byte(haproxyConf(a.server)), 0o644); err != nil {
				return err
			}
			if _, err := a.daemon(dir, "haproxy", "-db", "-f", conf); err != nil {
				return err
			}
			a.mark("ready")
			return nil
		},
		client: func(a *agent) error {
			path := "/upload"
			if a.tags["dead"] {
				path = "/dead"
			}
			if a.tags["pyclient"] {
				return a.pyPost(path)
			}
			_, err := a.curlPost(path)
			return err
		},
	}
}
