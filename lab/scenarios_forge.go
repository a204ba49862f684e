package main

// Forged resets (issues 13 and 16): an on-path injector in the router
// namespace watches the forwarded packets of the scenario's connection with
// an AF_PACKET socket and writes RSTs with a raw IPPROTO_RAW socket (its own
// IP header: TTL or hop limit, and IPv4's IP ID, as the scenario wants). The kernel's
// tcp_send_reset tracepoint never sees these; the injector prints every RST
// it sent, the lab keeps the lines (runner.forged) and label marks those
// frames as the middlebox's. Also here: RSTs with a payload, and clients that
// close abortively the way Windows programs do (winabort).

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/rstwhy/rstwhy/internal/truth"
	"golang.org/x/sys/unix"
)

// forged is one RST the injector sent, as it logged it.
type forged struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    string
	// burst: sent right after another forged RST of the same attempt
	// (a follow-up of the first); ignored: made so that the receiver
	// drops it (no consequence: never the first RST of its connection).
	burst, ignored bool
	note           string
	used           bool
}

// matchForged finds the unused logged RST that is this frame.
func matchForged(fs []forged, src, dst netip.AddrPort, fr truth.Frame) *forged {
	for i := range fs {
		f := &fs[i]
		if !f.used && f.src == src && f.dst == dst && f.seq == fr.Seq && f.ack == fr.Ack && f.flags == fr.Flags {
			f.used = true
			return f
		}
	}
	return nil
}

// String is the line the injector prints: "sent SRC DST SEQ ACK FLAGS
// burst ignored NOTE...".
func (f forged) String() string {
	return fmt.Sprintf("sent %s %s %d %d %s %t %t %s", f.src, f.dst, f.seq, f.ack, f.flags, f.burst, f.ignored, f.note)
}

func parseForged(line string) (forged, bool) {
	p := strings.SplitN(line, " ", 9)
	if len(p) < 9 || p[0] != "sent" {
		return forged{}, false
	}
	var f forged
	var err [6]error
	f.src, err[0] = netip.ParseAddrPort(p[1])
	f.dst, err[1] = netip.ParseAddrPort(p[2])
	seq, e2 := strconv.ParseUint(p[3], 10, 32)
	ack, e3 := strconv.ParseUint(p[4], 10, 32)
	err[2], err[3] = e2, e3
	f.seq, f.ack, f.flags = uint32(seq), uint32(ack), p[5]
	f.burst, err[4] = strconv.ParseBool(p[6])
	f.ignored, err[5] = strconv.ParseBool(p[7])
	f.note = p[8]
	return f, errors.Join(err[:]...) == nil
}

// runInjector runs the scenario's injector role.
func (a *agent) runInjector(s *scenario) error {
	if s.injector == nil {
		return errors.New("the scenario has no injector")
	}
	if err := s.injector(a); err != nil {
		return err
	}
	a.mark("done")
	return nil
}

// seg is a TCP segment of the scenario's connection as the router saw it
// arrive (before forwarding lowered its TTL).
type seg struct {
	fromClient bool
	src, dst   netip.AddrPort
	seq, ack   uint32
	flags      uint8
	len        int
	ttl        uint8
	id         uint16
	// The timestamp option (RFC 7323), when present.
	hasTS     bool
	tsv, tsec uint32
}

const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpPSH = 0x08
	tcpACK = 0x10
)

// end is the sequence number after the segment.
func (s seg) end() uint32 {
	e := s.seq + uint32(s.len)
	if s.flags&(tcpSYN|tcpFIN) != 0 {
		e++
	}
	return e
}

// injector sniffs the router's forwarded packets and writes RSTs.
type injector struct {
	a      *agent
	rx, tx int // tx: IPPROTO_RAW of the client's address family
	client netip.Addr
	// last is the latest segment seen from each side: [0] the client's,
	// [1] the server's; nxt the highest sequence number each side sent.
	last [2]seg
	seen [2]bool
	nxt  [2]uint32
	id   uint16 // the device's own IP ID counter
	// firstTS is the first TSval seen from each side (hasFirstTS).
	firstTS    [2]uint32
	hasFirstTS [2]bool
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func newInjector(a *agent) (*injector, error) {
	cl, err := netip.ParseAddr(a.clientAddr)
	if err != nil {
		return nil, err
	}
	rx, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET: %w", err)
	}
	if err := unix.SetsockoptTimeval(rx, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 20000}); err != nil {
		unix.Close(rx)
		return nil, err
	}
	family := unix.AF_INET
	if cl.Is6() {
		family = unix.AF_INET6 // IPPROTO_RAW: the header is ours, as IP_HDRINCL
	}
	tx, err := unix.Socket(family, unix.SOCK_RAW, unix.IPPROTO_RAW)
	if err != nil {
		unix.Close(rx)
		return nil, fmt.Errorf("IPPROTO_RAW: %w", err)
	}
	return &injector{a: a, rx: rx, tx: tx, client: cl, id: uint16(rand.Uint32())}, nil
}

func (in *injector) close() {
	unix.Close(in.rx)
	unix.Close(in.tx)
}

// next returns the next segment of the connection on the scenario's port
// that arrives at the router, or ok false when timeout passes first.
func (in *injector) next(timeout time.Duration) (s seg, ok bool, err error) {
	buf := make([]byte, 65536)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		n, from, err := unix.Recvfrom(in.rx, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			return seg{}, false, err
		}
		if ll, isLL := from.(*unix.SockaddrLinklayer); isLL && ll.Pkttype == unix.PACKET_OUTGOING {
			continue // the forwarded copy, or what we sent ourselves
		}
		s, ok := parseSeg(buf[:n])
		if !ok || (s.src.Port() != port && s.dst.Port() != port) {
			continue
		}
		s.fromClient = s.src.Addr() == in.client
		i := 1
		if s.fromClient {
			i = 0
		}
		if !in.seen[i] || int32(s.end()-in.nxt[i]) > 0 || s.flags&tcpSYN != 0 {
			in.nxt[i] = s.end()
		}
		in.last[i], in.seen[i] = s, true
		if s.hasTS && !in.hasFirstTS[i] {
			in.firstTS[i], in.hasFirstTS[i] = s.tsv, true
		}
		return s, true, nil
	}
	return seg{}, false, nil
}

// await reads segments until one satisfies want.
func (in *injector) await(timeout time.Duration, want func(seg) bool) (seg, error) {
	deadline := time.Now().Add(timeout)
	for {
		s, ok, err := in.next(time.Until(deadline))
		if err != nil {
			return seg{}, err
		}
		if !ok {
			return seg{}, errors.New("the awaited segment did not come")
		}
		if want(s) {
			return s, nil
		}
	}
}

// quiet reads segments until none has come for d; it gives up after max.
func (in *injector) quiet(d, max time.Duration) error {
	end := time.Now().Add(max)
	for time.Now().Before(end) {
		_, ok, err := in.next(d)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
	}
	return errors.New("the connection never went quiet")
}

// parseSeg reads an IPv4 or IPv6 TCP segment (IPv6 without extension
// headers, as the lab sends them).
func parseSeg(b []byte) (seg, bool) {
	if len(b) >= 40 && b[0]>>4 == 6 && b[6] == unix.IPPROTO_TCP {
		total := 40 + int(binary.BigEndian.Uint16(b[4:]))
		if total > len(b) || total < 60 {
			return seg{}, false
		}
		s, ok := parseTCP(b[40:total])
		s.src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])), s.src.Port())
		s.dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[24:40])), s.dst.Port())
		s.ttl = b[7]
		return s, ok
	}
	if len(b) < 20 || b[0]>>4 != 4 || b[9] != unix.IPPROTO_TCP {
		return seg{}, false
	}
	ihl := int(b[0]&0xf) * 4
	total := int(binary.BigEndian.Uint16(b[2:]))
	if total > len(b) || ihl+20 > total {
		return seg{}, false
	}
	s, ok := parseTCP(b[ihl:total])
	s.src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[12:16])), s.src.Port())
	s.dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[16:20])), s.dst.Port())
	s.ttl, s.id = b[8], binary.BigEndian.Uint16(b[4:])
	return s, ok
}

// parseTCP reads the TCP header of t; the addresses are left to the caller.
func parseTCP(t []byte) (seg, bool) {
	if len(t) < 20 {
		return seg{}, false
	}
	off := int(t[12]>>4) * 4
	if off < 20 || off > len(t) {
		return seg{}, false
	}
	s := seg{
		src: netip.AddrPortFrom(netip.Addr{}, binary.BigEndian.Uint16(t[0:])), dst: netip.AddrPortFrom(netip.Addr{}, binary.BigEndian.Uint16(t[2:])),
		seq: binary.BigEndian.Uint32(t[4:]), ack: binary.BigEndian.Uint32(t[8:]), flags: t[13], len: len(t) - off,
	}
	for o := t[20:off]; len(o) > 0; {
		switch kind := o[0]; {
		case kind == 0:
			return s, true
		case kind == 1:
			o = o[1:]
			continue
		case len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o):
			return s, true
		case kind == 8 && o[1] == 10:
			s.hasTS, s.tsv, s.tsec = true, binary.BigEndian.Uint32(o[2:]), binary.BigEndian.Uint32(o[6:])
		}
		o = o[o[1]:]
	}
	return s, true
}

// tsOption is NOP, NOP and the timestamp option: what Linux writes on a
// segment of an established connection.
func tsOption(tsv, tsec uint32) []byte {
	o := []byte{1, 1, 8, 10, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(o[4:], tsv)
	binary.BigEndian.PutUint32(o[8:], tsec)
	return o
}

// rst is a RST to write.
type rst struct {
	toClient       bool // claims the server, goes to the client
	seq, ack       uint32
	ackFlag        bool
	ttl            uint8
	id             uint16
	opts           []byte // TCP options, a multiple of 4 bytes long
	payload        []byte
	burst, ignored bool
	note           string
}

// mimic is the TTL and next IP ID the claimed sender's own packets have
// when they reach the victim: one hop more than the router saw them.
func (in *injector) mimic(server bool) (uint8, uint16) {
	l := in.last[0]
	if server {
		l = in.last[1]
	}
	return l.ttl - 1, l.id + 1
}

// own is the router's own TTL and IP ID counter: what a device that
// resets on its own account writes.
func (in *injector) own() (uint8, uint16) {
	in.id++
	return 64, in.id
}

// send writes r and prints what it sent.
func (in *injector) send(r rst) error {
	// The connection's endpoints as the claimed sender sees them.
	var src, dst netip.AddrPort
	switch {
	case in.seen[0]:
		src, dst = in.last[0].dst, in.last[0].src // server -> client
	case in.seen[1]:
		src, dst = in.last[1].src, in.last[1].dst
	default:
		return errors.New("no segment of the connection seen")
	}
	if !r.toClient {
		src, dst = dst, src
	}
	hl := 20 + len(r.opts)
	t := make([]byte, hl+len(r.payload))
	binary.BigEndian.PutUint16(t[0:], src.Port())
	binary.BigEndian.PutUint16(t[2:], dst.Port())
	binary.BigEndian.PutUint32(t[4:], r.seq)
	flags, fl := uint8(tcpRST), "R"
	if r.ackFlag {
		binary.BigEndian.PutUint32(t[8:], r.ack)
		flags, fl = tcpRST|tcpACK, "R."
	}
	t[12] = byte(hl/4) << 4
	t[13] = flags
	copy(t[20:], r.opts)
	copy(t[hl:], r.payload)
	// The pseudo-header sums alike for IPv6 (RFC 8200 8.1): the two
	// addresses, the length and the next header.
	binary.BigEndian.PutUint16(t[16:], tcpChecksum(src.Addr().AsSlice(), dst.Addr().AsSlice(), t))
	var pkt []byte
	var to unix.Sockaddr
	if src.Addr().Is6() {
		ip := make([]byte, 40, 40+len(t))
		ip[0] = 6 << 4
		binary.BigEndian.PutUint16(ip[4:], uint16(len(t)))
		ip[6], ip[7] = unix.IPPROTO_TCP, r.ttl
		s16, d16 := src.Addr().As16(), dst.Addr().As16()
		copy(ip[8:], s16[:])
		copy(ip[24:], d16[:])
		pkt, to = append(ip, t...), &unix.SockaddrInet6{Addr: d16}
		r.id = 0 // no IP ID in IPv6
	} else {
		pkt, to = ipv4(src.Addr(), dst.Addr(), r.ttl, r.id, t), &unix.SockaddrInet4{Addr: dst.Addr().As4()}
	}
	if err := unix.Sendto(in.tx, pkt, 0, to); err != nil {
		return fmt.Errorf("send: %w", err)
	}
	ack := uint32(0)
	if r.ackFlag {
		ack = r.ack
	}
	note := fmt.Sprintf("forged by the lab's injector in the router namespace (TTL %d, IP ID %d): %s", r.ttl, r.id, r.note)
	if src.Addr().Is6() {
		note = fmt.Sprintf("forged by the lab's injector in the router namespace (hop limit %d): %s", r.ttl, r.note)
	}
	in.a.mark(forged{src: src, dst: dst, seq: r.seq, ack: ack, flags: fl, burst: r.burst, ignored: r.ignored, note: note}.String())
	return nil
}

// ipv4 is an IPv4 packet of the TCP segment t, DF set as Linux sends.
func ipv4(src, dst netip.Addr, ttl uint8, id uint16, t []byte) []byte {
	ip := make([]byte, 20, 20+len(t))
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(t)))
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8], ip[9] = ttl, unix.IPPROTO_TCP
	s4, d4 := src.As4(), dst.As4()
	copy(ip[12:], s4[:])
	copy(ip[16:], d4[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	return append(ip, t...)
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// forgeDrive runs the injector, the server and the client. before runs
// first, mid once the injector is done, after once the client ended,
// before the server is told to quit; each may be nil.
func forgeDrive(before, mid, after func(ctx context.Context, r *runner) error) func(ctx context.Context, r *runner) error {
	return func(ctx context.Context, r *runner) error {
		if before != nil {
			if err := before(ctx, r); err != nil {
				return err
			}
		}
		inj, err := startAgent(nsRouter, "injector", "-job", r.self, "-role", "injector", "-server", r.t.server(), "-client", r.t.client())
		if err != nil {
			return err
		}
		defer inj.kill()
		if err := inj.expect("ready", 5*time.Second); err != nil {
			return err
		}
		srv, err := r.agent("server")
		if err != nil {
			return err
		}
		defer srv.kill()
		if err := srv.expect("ready", 5*time.Second); err != nil {
			return err
		}
		cli, err := r.agent("client")
		if err != nil {
			return err
		}
		defer cli.kill()
		r.forged, err = collectForged(inj, cli, 20*time.Second, func() error {
			if mid != nil {
				return mid(ctx, r)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if err := cli.wait(20 * time.Second); err != nil {
			return err
		}
		if after != nil {
			if err := after(ctx, r); err != nil {
				return err
			}
		}
		time.Sleep(200 * time.Millisecond)
		return srv.quit()
	}
}

// collectForged reads the injector's lines until it is done, and tells the
// client "go" then: the client goes on only after every forgery.
func collectForged(inj, cli *proc, timeout time.Duration, mid func() error) ([]forged, error) {
	var out []forged
	deadline := time.After(timeout)
	for {
		select {
		case l, ok := <-inj.lines:
			if !ok {
				return nil, fmt.Errorf("%w: injector exited: %s", errAgent, inj.errb.String())
			}
			switch {
			case l == "done":
				if err := mid(); err != nil {
					return nil, err
				}
				cli.send("go")
				return out, nil
			case l == "error":
				return nil, fmt.Errorf("%w: injector: %s", errAgent, inj.errb.String())
			}
			if f, ok := parseForged(l); ok {
				out = append(out, f)
			}
		case <-deadline:
			return nil, fmt.Errorf("injector: not done within %v: %s", timeout, inj.errb.String())
		}
	}
}

// request is the client's side of the forge scenarios: GET, then a line
// back; reset reports whether the read found the connection reset.
func request(c *net.TCPConn) (reset bool, err error) {
	if _, err := c.Write([]byte("GET\n")); err != nil {
		return false, err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err = readLine(c)
	if errors.Is(err, unix.ECONNRESET) {
		return true, nil
	}
	return false, err
}

// bye ends a connection that survived its forgeries cleanly: BYE, OK,
// then FIN both ways.
func (a *agent) bye(c *net.TCPConn) error {
	if err := a.await("go"); err != nil {
		return err
	}
	if _, err := c.Write([]byte("BYE\n")); err != nil {
		return fmt.Errorf("the connection did not survive the forged RSTs: %w", err)
	}
	if _, err := readLine(c); err != nil {
		return err
	}
	c.CloseWrite()
	return drain(c, 3*time.Second)
}

// serveBye is the server's side of bye.
func serveBye(c *net.TCPConn) error {
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readLine(c); err != nil {
		return err
	}
	if _, err := c.Write([]byte("OK\n")); err != nil {
		return err
	}
	if err := drain(c, 5*time.Second); err != nil {
		return err
	}
	return c.Close()
}

func isData(from bool) func(seg) bool {
	return func(s seg) bool { return s.fromClient == from && s.len > 0 }
}

// forgeRace: the injector sees the client's request and resets the client
// in the server's name. win: the server answers 100 ms later, so the RST
// (at the server's next sequence number) arrives first and the client
// accepts it; the server's answer then draws the client's NO_SOCKET RST.
// lose: the server answers at once and the injector, slower, sends its RST
// 30 ms after the answer with the sequence number it read from the request:
// inside data the server had already sent, below what the client has
// received; the client ignores it and the connection ends cleanly. stale:
// as lose, but the router drops all the server sends after the forgery,
// so that the stale sequence number is the only sign.
func forgeRace() *scenario {
	return &scenario{
		name:   "forge_race",
		desc:   "an on-path injector resets the client in the server's name when it sees the request (TTL and IP ID mimic the server's); win: the server answers 100 ms later and the client accepts the forged RST; lose: the answer comes first, the RST's sequence number is already behind, the client ignores it; stale: as lose, then the router drops all the server sends",
		routed: true,
		variants: []variant{"win-v4-eth-client", "win-v4-any-router", "lose-v4-eth-client", "lose-v4-any-router",
			"stale-v4-eth-client", "stale-v4-eth-router", "win-v6-eth-client"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			req, err := in.await(10*time.Second, isData(true))
			if err != nil {
				return err
			}
			lose := a.tags["lose"] || a.tags["stale"]
			if lose {
				if _, err := in.await(5*time.Second, isData(false)); err != nil {
					return err
				}
				time.Sleep(30 * time.Millisecond)
			}
			ttl, id := in.mimic(true)
			note := "at the server's next sequence number as the request acknowledged it; the client accepts it"
			if lose {
				note = "with the sequence number read from the request, sent after the server's answer: inside data the server had already sent; the client ignores it"
			}
			return in.send(rst{toClient: true, seq: req.ack, ack: req.end(), ackFlag: true, ttl: ttl, id: id, ignored: lose, note: note})
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := readLine(c); err != nil {
				return err
			}
			win := !a.tags["lose"] && !a.tags["stale"]
			if win {
				time.Sleep(100 * time.Millisecond)
			}
			if _, err := c.Write([]byte("REPLY\n")); err != nil {
				return err
			}
			switch {
			case win:
				return expectReset(drain(c, 3*time.Second))
			case a.tags["stale"]:
				held = append(held, c) // silenced by the router from now on
				return nil
			}
			return serveBye(c)
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			reset, err := request(c)
			if err != nil {
				return err
			}
			if lose := a.tags["lose"] || a.tags["stale"]; reset == lose {
				return fmt.Errorf("reset %v, want %v", reset, !lose)
			}
			if reset {
				return nil
			}
			if a.tags["stale"] {
				if err := a.await("go"); err != nil {
					return err
				}
				time.Sleep(200 * time.Millisecond)
				return c.Close()
			}
			return a.bye(c)
		},
		drive: forgeDrive(nil, silenceIf("stale"), nil),
	}
}

// silenceIf silences the server (silenceServer) in variants with tag.
func silenceIf(tag string) func(ctx context.Context, r *runner) error {
	return func(ctx context.Context, r *runner) error {
		if r.j.v.has(tag) {
			return silenceServer(ctx, r)
		}
		return nil
	}
}

// forgeWindow: an injector that guesses the window sends three RSTs back
// to back at base, base+1460 and base+4380 (a known signature of injectors,
// Weaver, Sommer and Paxson, NDSS 2009). base is exact, so the first
// resets the client; the other two reach no socket and are dropped.
// silent: the router drops all the server sends after the forgery, so
// that the burst is the only sign.
func forgeWindow() *scenario {
	return &scenario{
		name:     "forge_window",
		desc:     "an injector resets the client with three bare RSTs back to back at base, base+1460 and base+4380 (base: the server's next sequence number); the first is accepted; the server's answer 100 ms later draws the client's NO_SOCKET RST (silent: the router drops it)",
		routed:   true,
		variants: []variant{"v4-eth-client", "v4-any-router", "silent-v4-eth-client", "silent-v4-eth-router", "v6-eth-client"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			req, err := in.await(10*time.Second, isData(true))
			if err != nil {
				return err
			}
			ttl, id := in.mimic(true)
			for i, off := range []uint32{0, 1460, 4380} {
				note := fmt.Sprintf("RST %d of 3 stepping through the window at base+%d", i+1, off)
				if err := in.send(rst{toClient: true, seq: req.ack + off, ttl: ttl, id: id + uint16(i), burst: i > 0, note: note}); err != nil {
					return err
				}
			}
			return nil
		},
		server: answerLate(make([]byte, 3000)),
		client: requestReset,
		drive:  forgeDrive(nil, silenceIf("silent"), nil),
	}
}

// requestReset is the client of the scenarios whose injector resets it: it
// sends its request and must be reset.
func requestReset(a *agent) error {
	c, err := a.dial()
	if err != nil {
		return err
	}
	defer c.Close()
	reset, err := request(c)
	if err == nil && !reset {
		err = errors.New("not reset")
	}
	return err
}

// answerLate is the server of the scenarios whose injector resets the
// client before the answer: it reads the request and writes reply 100 ms
// later, then waits for the client's reset (silent: the router drops what
// it sends from then on, and the connection is held open).
func answerLate(reply []byte) func(a *agent) error {
	return func(a *agent) error {
		c, err := a.accept()
		if err != nil {
			return err
		}
		defer c.Close()
		if _, err := readLine(c); err != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
		if _, err := c.Write(reply); err != nil {
			return err
		}
		if a.tags["silent"] {
			held = append(held, c)
			return nil
		}
		return expectReset(drain(c, 3*time.Second))
	}
}

// forgeRefusal: the injector answers the client's SYN with a "refusal" in
// the server's name (RST+ACK, seq 0, ack SYN+1); the client's connect
// fails. The router drops the server's first SYN-ACK so that the forgery
// surely arrives first; the server's retransmitted SYN-ACK a second later
// finds no socket and the client's kernel resets it: a follow-up.
func forgeRefusal() *scenario {
	return &scenario{
		name:     "forge_refusal",
		desc:     "an injector answers the client's SYN with RST+ACK (seq 0, ack SYN+1) in the server's name; the client gives up; the server's real SYN-ACK (its first dropped by the router, so the forgery wins the race) follows a second later and the client's kernel resets it",
		routed:   true,
		variants: []variant{"v4-eth-client", "v4-any-router", "v6-eth-client"},
		expect:   []string{""},
		notes: map[string]string{
			"NO_SOCKET": "the client's kernel answers the server's real SYN-ACK: its connect had failed on the forged refusal",
		},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			syn, err := in.await(10*time.Second, func(s seg) bool { return s.fromClient && s.flags&(tcpSYN|tcpACK) == tcpSYN })
			if err != nil {
				return err
			}
			// The injector knows the server is one hop beyond it.
			return in.send(rst{toClient: true, seq: 0, ack: syn.seq + 1, ackFlag: true, ttl: 63, id: 0x1000 + uint16(rand.IntN(0x8000)),
				note: "a refusal answering the client's SYN; the server's real SYN-ACK follows"})
		},
		server: listenDiscard,
		client: func(a *agent) error {
			_, err := a.dial()
			if !errors.Is(err, unix.ECONNREFUSED) {
				return fmt.Errorf("dial: %v, want refused", err)
			}
			time.Sleep(1500 * time.Millisecond) // the retransmitted SYN-ACK comes and is reset
			return nil
		},
		drive: forgeDrive(func(ctx context.Context, r *runner) error {
			// The first SYN-ACK of the scenario's port is dropped.
			return r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--sport", fmt.Sprint(port), "--tcp-flags", "SYN,ACK", "SYN,ACK",
				"-m", "statistic", "--mode", "nth", "--every", "1000", "--packet", "0", "-j", "DROP")
		}, nil, nil),
	}
}

// silenceServer drops the server's packets on the router once the client
// is done, so that nothing of the server's (its FIN at exit) follows the
// forgery where the capture sees the client's side.
func silenceServer(ctx context.Context, r *runner) error {
	return r.fw(ctx, nsRouter, "-A", "FORWARD", "-p", "tcp", "--sport", fmt.Sprint(port), "-j", "DROP")
}

// held keeps connections open (and out of the collector's reach, whose
// finalizer would close them) until the agent exits.
var held []*net.TCPConn

// quietReset is the client and server of forge_ttl and payload_rst: one
// request and answer, then the client waits to read and gets the forged
// RST; the server sends nothing after its answer.
func quietReset(s *scenario) {
	s.server = func(a *agent) error {
		c, err := a.accept()
		if err != nil {
			return err
		}
		if _, err := readLine(c); err != nil {
			return err
		}
		if _, err := c.Write([]byte("REPLY\n")); err != nil {
			return err
		}
		held = append(held, c) // open until the agent exits
		return nil
	}
	s.client = func(a *agent) error {
		c, err := a.dial()
		if err != nil {
			return err
		}
		defer c.Close()
		reset, err := request(c)
		if err != nil || reset {
			return fmt.Errorf("request: reset %v, %v", reset, err)
		}
		return expectReset(drain(c, 5*time.Second))
	}
	s.drive = forgeDrive(nil, nil, silenceServer)
}

// afterAnswer waits for the server's answer and the client's ACK of it.
func (in *injector) afterAnswer() error {
	if _, err := in.await(10*time.Second, isData(false)); err != nil {
		return err
	}
	return in.quiet(50*time.Millisecond, 5*time.Second)
}

// forgeTTL: the forged RST is exact but carries the router's own TTL and IP
// ID: one hop nearer the client than the server's packets.
func forgeTTL() *scenario {
	s := &scenario{
		name:     "forge_ttl",
		desc:     "after a request and its answer an injector resets the client in the server's name, at the exact sequence numbers but with the router's own TTL 64 and IP ID (the server's packets arrive with 63); nothing else follows",
		routed:   true,
		variants: []variant{"v4-eth-client", "v4-eth-router", "v6-eth-client"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			if err := in.afterAnswer(); err != nil {
				return err
			}
			ttl, id := in.own()
			return in.send(rst{toClient: true, seq: in.nxt[1], ack: in.nxt[0], ackFlag: true, ttl: ttl, id: id,
				note: "exact sequence numbers, the router's own TTL and IP ID"})
		},
	}
	quietReset(s)
	return s
}

// payloadRST: the forged RST is exact, mimics the server's TTL and IP ID,
// and carries a payload: the IETF draft's compact reason (magic 0x33AA,
// code 17 "middlebox interference", PEN 0), its free text (0xF317), or
// plain text as some devices write.
func payloadRST() *scenario {
	s := &scenario{
		name:     "payload_rst",
		desc:     "after a request and its answer an injector resets the client in the server's name, exact and with the server's TTL and next IP ID, with a payload: draft-boucadair-tcpm-rst-diagnostic-payload compact (diag: 0x33AA, code 17, PEN 0) or free text (diagtext: 0xF317), or plain text (text)",
		routed:   true,
		variants: []variant{"diag-v4-eth-client", "diagtext-v4-eth-router", "text-v4-eth-client", "diag-v6-eth-client"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			if err := in.afterAnswer(); err != nil {
				return err
			}
			var p []byte
			switch {
			case a.tags["diag"]:
				p = []byte{0x33, 0xAA, 0, 17, 0, 0, 0, 0}
			case a.tags["diagtext"]:
				p = append([]byte{0xF3, 0x17}, "idle session closed by policy"...)
			default:
				p = []byte("Connection reset by firewall policy 42")
			}
			ttl, id := in.mimic(true)
			return in.send(rst{toClient: true, seq: in.nxt[1], ack: in.nxt[0], ackFlag: true, ttl: ttl, id: id, payload: p,
				note: fmt.Sprintf("exact, with the server's TTL and next IP ID, carrying %d bytes of payload", len(p))})
		},
	}
	quietReset(s)
	return s
}

// forgeIdle: a stateful device (load balancer, NAT, firewall) times out an
// idle connection and resets both ends at once, from its own TTL and its
// own IP ID counter.
func forgeIdle() *scenario {
	return &scenario{
		name:     "forge_idle",
		desc:     "after a request, its answer and 3 s of silence an idle-timeout device on the router resets both ends at once (RST+ACK to the client in the server's name and to the server in the client's), exact, with its own TTL 64 and consecutive IP IDs",
		routed:   true,
		variants: []variant{"v4-eth-client", "v4-eth-server", "v4-any-router", "v6-eth-server"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			if _, err := in.await(10*time.Second, isData(false)); err != nil {
				return err
			}
			if err := in.quiet(3*time.Second, 10*time.Second); err != nil {
				return err
			}
			ttl, id := in.own()
			if err := in.send(rst{toClient: true, seq: in.nxt[1], ack: in.nxt[0], ackFlag: true, ttl: ttl, id: id,
				note: "idle timeout: the device resets the client"}); err != nil {
				return err
			}
			ttl, id = in.own()
			return in.send(rst{toClient: false, seq: in.nxt[0], ack: in.nxt[1], ackFlag: true, ttl: ttl, id: id,
				note: "idle timeout: the device resets the server"})
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := c.Write([]byte("REPLY\n")); err != nil {
				return err
			}
			return expectReset(drain(c, 10*time.Second))
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			reset, err := request(c)
			if err != nil || reset {
				return fmt.Errorf("request: reset %v, %v", reset, err)
			}
			return expectReset(drain(c, 10*time.Second))
		},
		drive: forgeDrive(nil, nil, nil),
	}
}

// forgeIgnored: crafted RSTs the client must ignore (RFC 5961): one inside
// the window but not at its next sequence number (the client answers with a
// challenge ACK), one far outside it (dropped without a word). The
// connection goes on and ends with FINs.
func forgeIgnored() *scenario {
	return &scenario{
		name:     "forge_ignored",
		desc:     "after a request and its answer an injector sends the client two RSTs in the server's name that it must ignore: in the window but 1000 bytes past its next sequence number (a challenge ACK, RFC 5961 3.2), then 2^30 past (outside the window, dropped); the connection goes on and closes with FINs",
		routed:   true,
		variants: []variant{"v4-eth-client", "v4-any-router", "v6-eth-client"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			if err := in.afterAnswer(); err != nil {
				return err
			}
			ttl, id := in.mimic(true)
			if err := in.send(rst{toClient: true, seq: in.nxt[1] + 1000, ack: in.nxt[0], ackFlag: true, ttl: ttl, id: id, ignored: true,
				note: "in the client's window but not at its next sequence number: it answers with a challenge ACK (RFC 5961 3.2)"}); err != nil {
				return err
			}
			time.Sleep(50 * time.Millisecond)
			return in.send(rst{toClient: true, seq: in.nxt[1] + 1<<30, ack: in.nxt[0], ackFlag: true, ttl: ttl, id: id + 1, ignored: true,
				note: "outside the client's window: dropped"})
		},
		server: func(a *agent) error {
			c, err := a.accept()
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := readLine(c); err != nil {
				return err
			}
			if _, err := c.Write([]byte("REPLY\n")); err != nil {
				return err
			}
			return serveBye(c)
		},
		client: func(a *agent) error {
			c, err := a.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			reset, err := request(c)
			if err != nil || reset {
				return fmt.Errorf("request: reset %v, %v", reset, err)
			}
			return a.bye(c)
		},
		drive: forgeDrive(nil, nil, nil),
	}
}

// winAbort: a client that closes the way many Windows programs do, with
// SO_LINGER {on, 0} (closesocket after linger 0: a RST, no FIN), right after
// it read its last answer (last); or a process exiting with several such
// connections open, each reset at once (exit). The client namespace's
// default TTL is 128, as Windows'.
func winAbort() *scenario {
	return &scenario{
		name:   "winabort",
		desc:   "a Windows-like client (default TTL 128) reads its last answer and closes with SO_LINGER {on, 0} at once (last; lastfin: the server closes after answering, its FIN crossing the RST), or resets its 4 connections at once as a process exiting with linger 0 on each (exit)",
		expect: []string{"TCP_STATE"},
		variants: []variant{
			"last-v4-eth-client", "last-v6-eth-server", "lastfin-v4-eth-server",
			"exit-v4-eth-client", "exit-v6-any-server",
		},
		notes: map[string]string{
			"TCP_STATE": "closesocket with SO_LINGER {on, 0} right after the last answer was read: nothing unread",
			"NO_SOCKET": "the server's FIN reached the client after its abort",
		},
		server: func(a *agent) error {
			ln, err := a.listen()
			if err != nil {
				return err
			}
			defer ln.Close()
			n := 1
			if a.tags["exit"] {
				n = 4
			}
			errs := make(chan error, n)
			for range n {
				ln.SetDeadline(time.Now().Add(10 * time.Second))
				c, err := ln.AcceptTCP()
				if err != nil {
					return err
				}
				go func() {
					defer c.Close()
					if _, err := readLine(c); err != nil {
						errs <- err
						return
					}
					if _, err := c.Write([]byte("REPLY\n")); err != nil {
						errs <- err
						return
					}
					if a.tags["lastfin"] {
						errs <- c.Close()
						return
					}
					errs <- expectReset(drain(c, 5*time.Second))
				}()
			}
			for range n {
				if err := <-errs; err != nil {
					return err
				}
			}
			return nil
		},
		client: func(a *agent) error {
			n := 1
			if a.tags["exit"] {
				n = 4
			}
			var cs []*net.TCPConn
			for range n {
				c, err := a.dial()
				if err != nil {
					return err
				}
				cs = append(cs, c)
				if _, err := c.Write([]byte("GET\n")); err != nil {
					return err
				}
				if _, err := readLine(c); err != nil {
					return err
				}
				if !a.tags["exit"] {
					return abort(c)
				}
			}
			time.Sleep(300 * time.Millisecond) // the process works on, then exits
			for _, c := range cs {
				if err := abort(c); err != nil {
					return err
				}
			}
			return nil
		},
		drive: func(ctx context.Context, r *runner) error {
			if err := nsh(ctx, nsClient, "sysctl", "-qw", "net.ipv4.ip_default_ttl=128"); err != nil {
				return err
			}
			for _, c := range []string{"all", "default", prefix + "c0"} {
				if err := nsh(ctx, nsClient, "sysctl", "-qw", "net.ipv6.conf."+c+".hop_limit=128"); err != nil {
					return err
				}
			}
			return standard(ctx, r)
		},
	}
}

// forgeAcks: an injector that guesses where the client's data ends sends
// three RST+ACKs back to back in the server's name, all at the server's
// next sequence number, acknowledging base, base+1460 and base+2920 (base:
// the end of the client's request). The first resets the client; the
// others reach no socket. A stack's repeated RSTs carry one ACK, or ACKs
// the peer's segments explain (the race rule of Weaver, Sommer and Paxson,
// NDSS 2009, on the ACK numbers). The server's answer 100 ms later draws
// the client's NO_SOCKET RST (silent: the router drops it).
func forgeAcks() *scenario {
	return &scenario{
		name:     "forge_acks",
		desc:     "an injector resets the client with three RST+ACKs back to back at the server's next sequence number, acknowledging base, base+1460 and base+2920 (base: the end of the client's request); the first is accepted; the server's answer 100 ms later draws the client's NO_SOCKET RST (silent: the router drops it)",
		routed:   true,
		variants: []variant{"v4-eth-client", "v4-any-router", "silent-v4-eth-client", "silent-v4-eth-router", "v6-eth-client"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			req, err := in.await(10*time.Second, isData(true))
			if err != nil {
				return err
			}
			ttl, id := in.mimic(true)
			for i, off := range []uint32{0, 1460, 2920} {
				note := fmt.Sprintf("RST+ACK %d of 3 stepping the ACK through the client's data at base+%d", i+1, off)
				if err := in.send(rst{toClient: true, seq: req.ack, ack: req.end() + off, ackFlag: true, ttl: ttl, id: id + uint16(i), burst: i > 0, note: note}); err != nil {
					return err
				}
			}
			return nil
		},
		server: answerLate([]byte("REPLY\n")),
		client: requestReset,
		drive:  forgeDrive(nil, silenceIf("silent"), nil),
	}
}

// forgeClock: after a request and an answer 300 ms later (the server's
// timestamp clock shows on its SYN-ACK, its ACK and its answer), an
// injector resets the client in the server's name, exact, with the
// server's TTL and next IP ID, and the timestamp option as Linux writes it
// on an active reset, but a TSval the server's clock cannot show: the
// SYN-ACK's, 300 ms old (stale), or an hour ahead at 1 kHz (ahead). Only
// the clock tells it from the server's own abortive close. The router
// then drops what the server sends.
func forgeClock() *scenario {
	s := &scenario{
		name:     "forge_clock",
		desc:     "after a request and an answer 300 ms later an injector resets the client in the server's name, exact, with the server's TTL and next IP ID and a timestamp option whose TSval is the server's SYN-ACK's (stale) or an hour ahead of its clock at 1 kHz (ahead); nothing else follows",
		routed:   true,
		variants: []variant{"stale-v4-eth-client", "stale-v4-eth-router", "stale-v4-any-router", "ahead-v4-eth-client", "stale-v6-eth-client"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			if err := in.afterAnswer(); err != nil {
				return err
			}
			srv, cli := in.last[1], in.last[0]
			if !srv.hasTS || !cli.hasTS || !in.hasFirstTS[1] {
				return errors.New("no timestamp option on the connection")
			}
			tsv, note := in.firstTS[1], "the TSval of the server's SYN-ACK, behind its clock"
			if a.tags["ahead"] {
				tsv, note = srv.tsv+3600*1000, "a TSval an hour ahead of the server's clock at 1 kHz"
			}
			ttl, id := in.mimic(true)
			return in.send(rst{toClient: true, seq: in.nxt[1], ack: in.nxt[0], ackFlag: true, ttl: ttl, id: id, opts: tsOption(tsv, cli.tsv),
				note: fmt.Sprintf("exact, with the server's TTL and next IP ID, TSval %d (the server's last %d): %s", tsv, srv.tsv, note)})
		},
	}
	quietReset(s)
	s.server = func(a *agent) error {
		c, err := a.accept()
		if err != nil {
			return err
		}
		if _, err := readLine(c); err != nil {
			return err
		}
		time.Sleep(300 * time.Millisecond)
		if _, err := c.Write([]byte("REPLY\n")); err != nil {
			return err
		}
		held = append(held, c) // open until the agent exits
		return nil
	}
	return s
}

// forgeIPID: after a request and an answer in four segments (the server's
// IP IDs run as its connection's counter), an injector resets the client
// in the server's name, exact, with the server's TTL but the IP ID of the
// server's last packet, as a forger that copies the header it last saw:
// the server's own reset would carry the next ID. The router then drops
// what the server sends.
func forgeIPID() *scenario {
	s := &scenario{
		name:     "forge_ipid",
		desc:     "after a request and an answer in four segments an injector resets the client in the server's name, exact, with the server's TTL but the IP ID of the server's last packet (copied, not the next); nothing else follows",
		routed:   true,
		variants: []variant{"copy-v4-eth-client", "copy-v4-eth-router"},
		injector: func(a *agent) error {
			in, err := newInjector(a)
			if err != nil {
				return err
			}
			defer in.close()
			a.mark("ready")
			if err := in.afterAnswer(); err != nil {
				return err
			}
			ttl, _ := in.mimic(true)
			id := in.last[1].id
			return in.send(rst{toClient: true, seq: in.nxt[1], ack: in.nxt[0], ackFlag: true, ttl: ttl, id: id,
				note: "exact, with the server's TTL and the IP ID of its last packet, copied"})
		},
	}
	quietReset(s)
	s.server = func(a *agent) error {
		c, err := a.accept()
		if err != nil {
			return err
		}
		if _, err := readLine(c); err != nil {
			return err
		}
		for i := range 4 {
			if _, err := fmt.Fprintf(c, "REPLY %d\n", i); err != nil {
				return err
			}
			time.Sleep(20 * time.Millisecond)
		}
		held = append(held, c) // open until the agent exits
		return nil
	}
	return s
}

// finScan: the negative of forge_acks, from the kernel. A FIN scanner
// (nmap -sF) sends two FINs without ACK from a raw socket, back to back
// and from one source port, to a port with no listener, at sequence
// numbers 1000 apart: the server's kernel answers each with RST+ACK, seq
// 0, acknowledging the FIN it answers. Two RST+ACKs in one sender's name
// back to back at different ACKs, each explained by a segment of the peer.
func finScan() *scenario {
	return &scenario{
		name:     "no_socket",
		dir:      serversDir,
		expect:   []string{"NO_SOCKET"},
		desc:     "finscan: a FIN scanner sends two FINs without ACK from a raw socket, back to back from one port, 1000 apart in sequence, to a port with no listener; the server's kernel answers each with RST+ACK acknowledging it",
		variants: []variant{"finscan-v4-eth-client", "finscan-v4-eth-server"},
		// No SYN: nothing was refused; the segments met no socket.
		causes: map[string]string{"NO_SOCKET": "no_socket"},
		notes: map[string]string{
			"NO_SOCKET": "a FIN without ACK to a port with no listener: RST+ACK, seq 0, acknowledging the FIN",
		},
		client: func(a *agent) error {
			src, err1 := netip.ParseAddr(a.clientAddr)
			dst, err2 := netip.ParseAddr(a.server)
			if err := errors.Join(err1, err2); err != nil {
				return err
			}
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_TCP)
			if err != nil {
				return err
			}
			defer unix.Close(fd)
			for i := range 2 {
				seg := make([]byte, 20)
				binary.BigEndian.PutUint16(seg[0:], 45100)
				binary.BigEndian.PutUint16(seg[2:], port+1)
				binary.BigEndian.PutUint32(seg[4:], 0x7f1a0000+uint32(i)*1000)
				seg[12] = 5 << 4
				seg[13] = tcpFIN
				binary.BigEndian.PutUint16(seg[14:], 1024)
				binary.BigEndian.PutUint16(seg[16:], tcpChecksum(src.AsSlice(), dst.AsSlice(), seg))
				if err := unix.Sendto(fd, seg, 0, &unix.SockaddrInet4{Addr: dst.As4()}); err != nil {
					return err
				}
			}
			time.Sleep(300 * time.Millisecond)
			return nil
		},
	}
}
