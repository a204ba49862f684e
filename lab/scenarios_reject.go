package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
				conf := filepath.Join(dir, "nginx.conf")
				if err := os.WriteFile(conf, []byte(nginx444Conf(dir, a.server, a.tags["nginx444reset"])), 0o644); err != nil {
					return err
				}
				if _, err := a.daemon(dir, "nginx", "-e", filepath.Join(dir, "error.log"), "-p", dir, "-c", conf); err != nil {
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
	listen := addr
	if strings.Contains(addr, ":") {
		listen = "[" + addr + "]"
	}
	rst := "off"
	if reset {
		rst = "on"
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
	reset_timedout_connection %[4]s;
	server {
		listen %[2]s:%[3]d;
		location / {
			return 444;
		}
	}
}
`, dir, listen, port, rst)
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
