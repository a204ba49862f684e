package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The scenarios of this file are servers told to turn a client away
// without an answer, as production configurations do for unwanted clients
// and scanners: nginx's `return 444` (close the connection, send
// nothing), with and without `reset_timedout_connection on` (which nginx
// applies to 444 as to a timeout: SO_LINGER {on, 0}); HAProxy's
// `http-request reject` (after the request's headers) and `tcp-request
// connection reject` (at accept, before any data). The client uploads
// 1 MiB with curl, which stops only when the connection ends.

func reject() *scenario {
	return &scenario{
		name:    "reject",
		dir:     serversDir,
		snaplen: 200,
		desc:    "a server turns a 1 MiB upload away without an answer: nginx return 444 (nginx444; nginx444reset: with reset_timedout_connection on), HAProxy http-request reject (httpreject) or tcp-request connection reject (tcpreject)",
		variants: []variant{
			"nginx444-v4-eth-server", "nginx444-v6-eth-client",
			"nginx444reset-v4-eth-server", "nginx444reset-v6-any-server-ng",
			"httpreject-v4-eth-server", "httpreject-v6-eth-client",
			"tcpreject-v4-eth-server", "tcpreject-v6-eth-client",
		},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE": "the server closed the connection with the upload unread (with SO_LINGER {on, 0} set too: tcp_close checks data_was_unread before the linger)",
			"TCP_STATE":          "SO_LINGER {on, 0} before close: an abortive close (nginx's reset_timedout_connection for 444, HAProxy's nolinger on reject)",
			"TCP_ABORT_ON_DATA":  "the client's data reached a connection the server had closed (FIN) before it arrived",
		},
		server: func(a *agent) error {
			dir, err := a.workdir()
			if err != nil {
				return err
			}
			if a.tags["nginx444"] || a.tags["nginx444reset"] {
				if err := a.nginx(dir, nginx444Conf(dir, a.server, a.tags["nginx444reset"])); err != nil {
					return err
				}
			} else {
				conf := filepath.Join(dir, "haproxy.cfg")
				if err := os.WriteFile(conf, []byte(haproxyRejectConf(a.server, a.tags["tcpreject"])), 0o644); err != nil {
					return err
				}
				if _, err := a.daemon(dir, "haproxy", "-db", "-f", conf); err != nil {
					return err
				}
			}
			a.mark("ready")
			return nil
		},
		client: func(a *agent) error {
			_, err := a.curlPost("/upload")
			if a.tags["tcpreject"] {
				// Reset as it connects, curl may say it could
				// not connect (exit 7): the scenario's outcome.
				return nil
			}
			return err
		},
	}
}

// nginx444Conf closes every request to /upload with 444, resetting it with
// reset.
func nginx444Conf(dir, addr string, reset bool) string {
	return nginxHTTP(dir, addr, dir+"/error.log", []string{"reset_timedout_connection " + onOff(reset) + ";"},
		[]string{"location / {", "\treturn 444;", "}"})
}

// onOff is an nginx flag's value.
func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// haproxyRejectConf rejects every connection at accept (tcp) or every
// request after its headers.
func haproxyRejectConf(addr string, tcp bool) string {
	bind := addr
	if strings.Contains(addr, ":") {
		bind = "[" + addr + "]"
	}
	rule := "http-request reject"
	if tcp {
		rule = "tcp-request connection reject"
	}
	return fmt.Sprintf(`global
	maxconn 64
	log stderr format raw local0
defaults
	log global
	mode http
	option httplog
	timeout connect 1s
	timeout client 5s
	timeout server 5s
frontend fe
	bind %[1]s:%[2]d
	%[4]s
	default_backend dead
backend dead
	server gone %[1]s:%[3]d
`, bind, port, port+1, rule)
}

// slowReader is nginx with `send_timeout 1s` and
// `reset_timedout_connection on` serving a 4 MiB file to a client that
// asks for it and stops reading (SO_RCVBUF 4096): its window closes, nginx
// cannot send for a second and resets the connection with the rest of the
// file queued, as it does to stalled downloads in production.
func slowReader() *scenario {
	return &scenario{
		name:     "slowreader",
		dir:      serversDir,
		snaplen:  200,
		desc:     "nginx 1.22 with send_timeout 1s and reset_timedout_connection on serves a 4 MiB file to a client (SO_RCVBUF 4096) that stops reading: the window is zero, nginx's send times out and it resets with data queued",
		variants: []variant{"nginx-v4-eth-server", "nginx-v6-eth-client", "nginx-v4-any-server-ng"},
		expect:   []string{"TCP_STATE", "TCP_DISCONNECT_WITH_DATA"},
		// As zero_window-sender: the blocked sender aborts.
		causes: map[string]string{
			"TCP_STATE":                "zero_window_abort",
			"TCP_DISCONNECT_WITH_DATA": "zero_window_abort",
		},
		notes: map[string]string{
			"TCP_STATE": "nginx send_timeout with reset_timedout_connection: SO_LINGER {on, 0} and close() with the file's rest queued behind the client's zero window",
		},
		server: func(a *agent) error {
			dir, err := a.workdir()
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 4<<20), 0o644); err != nil {
				return err
			}
			if err := a.nginx(dir, nginxSlowConf(dir, a.server)); err != nil {
				return err
			}
			a.mark("ready")
			return nil
		},
		client: func(a *agent) error {
			c, err := a.dial(intOpt(unix.SOL_SOCKET, unix.SO_RCVBUF, 4096))
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: lab\r\n\r\n"); err != nil {
				return err
			}
			// Read nothing until nginx gives up, then read to the
			// reset.
			time.Sleep(2500 * time.Millisecond)
			return expectReset(drain(c, 5*time.Second))
		},
	}
}

// nginxSlowConf serves dir's files with a 1 s send timeout and resets
// timed-out connections.
func nginxSlowConf(dir, addr string) string {
	return nginxHTTP(dir, addr, "stderr", []string{"sendfile on;", "send_timeout 1s;", "reset_timedout_connection on;"},
		[]string{"root " + dir + ";"})
}
