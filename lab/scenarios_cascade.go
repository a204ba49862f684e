package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/rstwhy/rstwhy/internal/truth"
)

// The scenarios of this file put a reverse proxy in the router namespace:
// the client (10.200.1.2) uploads 1 MiB to the proxy (10.200.1.1:5000),
// which forwards it to the upstream (10.200.2.2:5000) from its other
// address (10.200.2.1). The upstream fails, and the proxy closes the
// client's connection with the upload unread: the client sees a reset whose
// cause is on the other leg. The capture is the proxy's `-i any`, both legs
// in one file; the truth's caused_by names the upstream event.
//
// Proxies: Go's net/http/httputil.ReverseProxy (goproxy), HAProxy 2.6 in
// http mode (haproxy) and in tcp mode with `option nolinger` (haproxytcp),
// and nginx 1.22's stream module (nginxstream), a TCP proxy that connects
// upstream as soon as it accepts the client, before any data, and, with
// `proxy_half_close off` (the default), closes both connections when
// either side ends: an upstream FIN becomes a reset of a client still
// uploading. The late tag's client connects, waits 100 ms and then sends
// its request, as a pooled connection opened ahead of its use.
// Upstream failures, one tag each:
//
//   - rst: the upstream reads the headers and part of the body and closes
//     with the rest unread: its kernel resets (TCP_ABORT_ON_CLOSE);
//   - refused: nothing listens on the upstream port (NO_SOCKET);
//   - timeout: the upstream host drops SYNs to the port (iptables); the
//     proxy's connect timeout is 1 s;
//   - fin: the upstream reads the headers, half-closes with no answer and
//     reads the rest: a clean FIN, no upstream reset.

// proxyAddr is the proxy's address on the client's side (the router's
// client-side address); it reaches the upstream from routerUpstream.
func proxyAddr(v6 bool) string {
	if v6 {
		return "fd00:200:1::1"
	}
	return "10.200.1.1"
}

// routerUpstream is the router's address on the server's side: a proxy in
// the router namespace connects to the upstream from it.
func routerUpstream(v6 bool) string {
	if v6 {
		return "fd00:200:2::1"
	}
	return "10.200.2.1"
}

// cascadeKinds are the upstream failures and the event rstwhy must link the
// client's reset to.
var cascadeKinds = map[string]string{
	"rst":     "upstream_rst",
	"refused": "upstream_refused",
	"timeout": "upstream_timeout",
	"fin":     "upstream_fin",
}

func cascade() *scenario {
	return &scenario{
		name:    "cascade",
		dir:     serversDir,
		snaplen: 200,
		routed:  true,
		desc:    "a reverse proxy in the router namespace (goproxy: Go's httputil.ReverseProxy; haproxy: HAProxy 2.6 mode http; haproxytcp: mode tcp with option nolinger; nginxstream: nginx 1.22's stream module, proxy_half_close off, connecting upstream at accept; late: the client waits 100 ms after connecting before it sends) forwards a 1 MiB upload to an upstream that resets mid-request (rst), refuses (refused), drops the SYN while the proxy's connect timeout is 1 s (timeout) or half-closes with no answer (fin); the proxy closes the client's connection with the upload unread; captured on the proxy with -i any",
		variants: []variant{
			"goproxy-rst-v4-any-router", "goproxy-pyclient-refused-v4-any-router", "goproxy-timeout-v4-any-router", "goproxy-fin-v4-any-router",
			"haproxy-rst-v4-any-router", "haproxy-refused-v6-any-router", "haproxy-timeout-v4-any-router", "haproxy-fin-v4-any-router",
			"haproxytcp-rst-v4-any-router", "goproxy-rst-v6-sll-router", "haproxy-timeout-v6-sll-router-ng",
			"nginxstream-fin-v4-any-router", "nginxstream-late-fin-v6-any-router", "nginxstream-late-rst-v4-any-router", "nginxstream-refused-v4-any-router", "nginxstream-late-refused-v6-any-router",
		},
		notes: map[string]string{
			"TCP_ABORT_ON_CLOSE":  "closed with unread data: the upstream mid-request (rst), or the proxy with the client's upload unread after the upstream failed",
			"NO_SOCKET":           "the upstream port has no listener: the proxy's connection is refused",
			"TCP_STATE":           "haproxy option nolinger: SO_LINGER {on, 0} on the client's connection, closed after the upstream ended",
			"TCP_ABORT_ON_DATA":   "the proxy had closed the client's connection (FIN) at once when the upstream failed, before the client's data arrived",
			"TCP_TIMEWAIT_SOCKET": "the proxy had closed the client's connection (FIN, acked by the client) at once when the upstream failed; the client's request, sent later, meets its FIN_WAIT2 remnant",
		},
		// The client never closed: data after the proxy's close, as in
		// timewait_rst.
		causes: map[string]string{"TCP_TIMEWAIT_SOCKET": "data_after_close"},
		server: upstream,
		proxy:  reverseProxy,
		// curl stops its upload at an early answer: refused at once,
		// goproxy's 502 came before the body and nothing was left to
		// reset. Python's client sends the whole body first.
		client: func(a *agent) error {
			if a.tags["pyclient"] {
				return a.pyPost("/upload")
			}
			if a.tags["late"] {
				return a.latePost("/upload", 100*time.Millisecond)
			}
			_, err := a.curlPost("/upload")
			return err
		},
		drive:    driveCascade,
		annotate: annotateCascade,
	}
}

// upstream is the origin server behind the proxy.
func upstream(a *agent) error {
	if a.tags["refused"] {
		a.mark("ready") // and no listener on port
		return nil
	}
	ln, err := a.listen()
	if err != nil {
		return err
	}
	go func() {
		for {
			c, err := ln.AcceptTCP()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReaderSize(c, 4096)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					l, err := br.ReadString('\n')
					if err != nil || l == "\r\n" {
						break
					}
				}
				switch {
				case a.tags["rst"]:
					// A little of the body, then close with the
					// rest queued: the kernel resets. Early, so
					// that the proxy has not yet drained what it
					// holds of the upload (net/http discards up
					// to 256 KiB after its handler).
					io.CopyN(io.Discard, br, 1<<10)
					time.Sleep(5 * time.Millisecond)
				case a.tags["fin"]:
					c.CloseWrite()
					io.Copy(io.Discard, br)
				}
			}()
		}
	}()
	return nil
}

// reverseProxy runs the variant's proxy, listening on the router's
// client-side address.
func reverseProxy(a *agent) error {
	up := net.JoinHostPort(topo{routed: true, v6: a.tags["v6"]}.server(), fmt.Sprint(port))
	if a.tags["nginxstream"] {
		dir, err := a.workdir()
		if err != nil {
			return err
		}
		if err := a.nginx(dir, nginxStreamConf(dir, a.server, up)); err != nil {
			return err
		}
		a.mark("ready")
		return nil
	}
	if !a.tags["goproxy"] {
		dir, err := a.workdir()
		if err != nil {
			return err
		}
		conf := filepath.Join(dir, "haproxy.cfg")
		if err := os.WriteFile(conf, []byte(cascadeHAProxyConf(a.server, up, a.tags["haproxytcp"])), 0o644); err != nil {
			return err
		}
		if _, err := a.daemon(dir, "haproxy", "-db", "-f", conf); err != nil {
			return err
		}
		a.mark("ready")
		return nil
	}
	// A receive buffer of 64 KiB, as on a busy proxy: the upload cannot
	// all sit in the kernel, and what net/http leaves unread is reset.
	ln, err := a.listen(intOpt(unix.SOL_SOCKET, unix.SO_RCVBUF, 64<<10))
	if err != nil {
		return err
	}
	target := &url.URL{Scheme: "http", Host: up}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: &http.Transport{
			DialContext: (&net.Dialer{Timeout: time.Second, KeepAlive: -1}).DialContext,
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			fmt.Fprintf(os.Stderr, "goproxy: %v\n", err)
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	srv := &http.Server{Handler: rp, ErrorLog: log.New(io.Discard, "", 0)}
	go srv.Serve(ln)
	return nil
}

// cascadeHAProxyConf forwards everything to up; its log (termination
// states) goes to stderr.
func cascadeHAProxyConf(addr, up string, tcp bool) string {
	bind := addr
	if strings.Contains(addr, ":") {
		bind = "[" + addr + "]"
	}
	mode, opts := "http", "option httplog"
	if tcp {
		mode, opts = "tcp", "option tcplog\n\toption nolinger"
	}
	return fmt.Sprintf(`global
	maxconn 64
	log stderr format raw local0
defaults
	log global
	mode %[4]s
	%[5]s
	timeout connect 1s
	timeout client 5s
	timeout server 5s
	retries 0
frontend fe
	bind %[1]s:%[2]d
	default_backend up
backend up
	server up %[3]s
`, bind, port, up, mode, opts)
}

// nginxStreamModule is where Debian's libnginx-mod-stream puts the module.
const nginxStreamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

// nginxStreamConf proxies TCP from addr to up with nginx's stream module:
// the upstream connection is opened when the client's is accepted, and
// proxy_half_close is off (its default), so the end of either connection
// ends both. The error log (info, to stderr: the lab prints what the proxy
// said) says which side closed.
func nginxStreamConf(dir, addr, up string) string {
	listen := addr
	if strings.Contains(addr, ":") {
		listen = "[" + addr + "]"
	}
	return fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log stderr info;
load_module %[5]s;
events { worker_connections 64; }
stream {
	server {
		listen %[2]s:%[3]d;
		proxy_pass %[4]s;
		proxy_connect_timeout 1s;
		proxy_timeout 5s;
	}
}
`, dir, listen, port, up, nginxStreamModule)
}

// latePost connects, waits, then uploads 1 MiB in an HTTP POST and reads
// until the connection ends: a client whose connection was opened before
// its request (a pool), so that a TCP proxy connects upstream first.
func (a *agent) latePost(path string, wait time.Duration) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	time.Sleep(wait)
	c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: lab\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", path, bodySize)
		_, err := c.Write(make([]byte, bodySize))
		fmt.Fprintf(os.Stderr, "late client: write: %v\n", err)
	}()
	err = drain(c, 5*time.Second)
	fmt.Fprintf(os.Stderr, "late client: read: %v\n", err)
	// A proxy that closed at once (refused) gives EOF before the
	// request is out: the writer must have sent before the close.
	<-wrote
	return nil
}

// driveCascade starts the upstream, the proxy in the router namespace and
// the client, which talks to the proxy.
func driveCascade(ctx context.Context, r *runner) error {
	v6 := r.t.v6
	if r.j.v.has("timeout") {
		if err := r.fw(ctx, nsServer, "-A", "INPUT", "-p", "tcp", "--dport", fmt.Sprint(port), "--syn", "-j", "DROP"); err != nil {
			return err
		}
	}
	up, err := r.agent("server")
	if err != nil {
		return err
	}
	defer up.quit()
	if err := up.expect("ready", 5*time.Second); err != nil {
		return err
	}
	px, err := startAgent(nsRouter, "proxy", "-job", r.self, "-role", "proxy", "-server", proxyAddr(v6), "-client", r.t.client())
	if err != nil {
		return err
	}
	if err := px.expect("ready", 10*time.Second); err != nil {
		px.kill()
		return err
	}
	cli, err := startAgent(nsClient, "client", "-job", r.self, "-role", "client", "-server", proxyAddr(v6), "-client", r.t.client())
	if err != nil {
		px.kill()
		return err
	}
	cerr := cli.wait(30 * time.Second)
	// Go's server resets 500 ms after its FIN at the latest.
	time.Sleep(time.Second)
	perr := px.quit()
	if s := px.errb.String(); s != "" {
		fmt.Fprintf(os.Stderr, "%s: proxy said:\n%s", r.self, s)
	}
	if cerr != nil {
		return cerr
	}
	return perr
}

// cascadeEvent is the upstream event a variant's client reset follows.
func cascadeEvent(v variant) string {
	for tag, ev := range cascadeKinds {
		if v.has(tag) {
			return ev
		}
	}
	return ""
}

// segment is one TCP segment of a capture, as annotateCascade needs it.
type segment struct {
	frame              int64
	src, dst           netip.AddrPort
	syn, ack, fin, rst bool
}

// segments reads every TCP segment of a pcap or pcapng file.
func segments(name string) ([]segment, error) {
	var out []segment
	err := truth.Packets(name, func(n int64, _ gopacket.CaptureInfo, p gopacket.Packet) {
		tcp, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok || p.NetworkLayer() == nil {
			return
		}
		sa, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Src().Raw())
		da, _ := netip.AddrFromSlice(p.NetworkLayer().NetworkFlow().Dst().Raw())
		out = append(out, segment{frame: n,
			src: netip.AddrPortFrom(sa.Unmap(), uint16(tcp.SrcPort)), dst: netip.AddrPortFrom(da.Unmap(), uint16(tcp.DstPort)),
			syn: tcp.SYN, ack: tcp.ACK, fin: tcp.FIN, rst: tcp.RST})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// annotateCascade links each reset the proxy sent its client to the
// upstream event of the variant's kind that came last before it.
func annotateCascade(j job, capture string, f *truth.File) error {
	v6 := j.v.v6()
	return annotateLinks(capture, f, cascadeAt{
		proxy: netip.MustParseAddr(proxyAddr(v6)),
		up:    netip.AddrPortFrom(netip.MustParseAddr(topo{routed: true, v6: v6}.server()), port),
		from:  netip.MustParseAddr(routerUpstream(v6)),
		event: cascadeEvent(j.v),
	})
}

// cascadeAt is where a proxy runs: it resets its clients from proxy:port
// and reaches its upstream up from the address from; event is how the
// upstream fails.
type cascadeAt struct {
	proxy netip.Addr
	up    netip.AddrPort
	from  netip.Addr
	event string
}

// annotateLinks sets caused_by on each first reset the proxy sent its
// client: the upstream event of c's kind that came last before it, the
// upstream's RST (rst, refused), the first SYN of the proxy's last
// connection attempt, never answered (timeout), the upstream's FIN (fin).
// A capture whose proxy did not reset its client, or whose reset follows
// no such event, fails: the scenario did not happen.
func annotateLinks(capture string, f *truth.File, c cascadeAt) error {
	segs, err := segments(capture)
	if err != nil {
		return err
	}
	linked := 0
	for i := range f.Resets {
		r := &f.Resets[i]
		if r.Followup || r.CopyOf != 0 || r.Src != c.proxy.String() || r.Sport != port {
			continue
		}
		var at int64
		for k := len(segs) - 1; k >= 0 && at == 0; k-- {
			s := segs[k]
			if s.frame >= r.Frame {
				continue
			}
			switch c.event {
			case "upstream_rst", "upstream_refused":
				if s.rst && s.src == c.up && s.dst.Addr() == c.from {
					at = s.frame
				}
			case "upstream_fin":
				if s.fin && s.src == c.up && s.dst.Addr() == c.from {
					at = s.frame
				}
			case "upstream_timeout":
				if s.syn && !s.ack && s.dst == c.up && s.src.Addr() == c.from {
					at = firstSYN(segs[:k+1], s.src, c.up)
				}
			}
		}
		if at == 0 {
			return fmt.Errorf("frame %d: the proxy's reset follows no %s", r.Frame, c.event)
		}
		r.CausedBy = &truth.CausedBy{Frame: at, Event: c.event}
		linked++
	}
	if linked == 0 {
		return fmt.Errorf("the proxy did not reset its client")
	}
	return nil
}

// firstSYN is the frame of the first SYN from src to dst, the connection
// attempt that the last one retransmits; 0 when one was answered.
func firstSYN(segs []segment, src, dst netip.AddrPort) int64 {
	var first int64
	for _, s := range segs {
		switch {
		case s.syn && !s.ack && s.src == src && s.dst == dst && first == 0:
			first = s.frame
		case s.syn && s.ack && s.src == dst && s.dst == src:
			return 0
		}
	}
	return first
}

// annotateHAProxyDead links haproxy-dead's reset of the client to the
// refusal of haproxy's last attempt to reach its backend (port+1 on the
// server's own address, over loopback): a cascade, visible only where the
// capture holds the loopback (-i any on the server).
func annotateHAProxyDead(j job, capture string, f *truth.File) error {
	if !j.v.has("dead") || j.v.point() != "server" || j.v.link() == "EN10MB" {
		return nil
	}
	srv := netip.MustParseAddr(topo{v6: j.v.v6()}.server())
	return annotateLinks(capture, f, cascadeAt{proxy: srv, up: netip.AddrPortFrom(srv, port+1), from: srv, event: "upstream_refused"})
}
