package main

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// kind is how a connection ends: a FIN close or one of the RST signatures
// rstwhy recognizes.
type kind uint8

const (
	kindFIN        kind = iota // FIN from both sides
	kindRefused                // SYN answered by RST+ACK, seq 0, ack = SYN seq+1
	kindUnread                 // peer data never ACKed, then RST+ACK from the reader, no FIN
	kindLinger                 // all data ACKed, then RST+ACK without FIN (SO_LINGER 0)
	kindNoSocket               // data to a host that lost the socket: bare RST, seq = the data's ack
	kindAfterClose             // FIN from the resetter, peer data after it, RST
	kindZeroWindow             // window 0, probes, then RST from the sender
	kindKeepalive              // keepalive probes (seq = snd_una-1, no data) unanswered, then RST
	kindMiddlebox              // injected RST: other TTL, IP ID 0; the claimed sender keeps sending
	numKinds
)

func (k kind) String() string {
	switch k {
	case kindFIN:
		return "fin"
	case kindRefused:
		return "refused"
	case kindUnread:
		return "unread_data"
	case kindLinger:
		return "linger_abort"
	case kindNoSocket:
		return "no_socket"
	case kindAfterClose:
		return "data_after_close"
	case kindZeroWindow:
		return "zero_window"
	case kindKeepalive:
		return "keepalive"
	case kindMiddlebox:
		return "middlebox"
	}
	return "unknown"
}

// TCP flags as on the wire.
const (
	flagFIN = 1 << iota
	flagSYN
	flagRST
	flagPSH
	flagACK
)

// Which options a segment carries; values are filled at encode time.
const (
	optNone = iota // RSTs sent without a socket carry none
	optSYN         // MSS, SACK permitted, timestamps, window scale
	optTS          // timestamps, when the connection negotiated them
	optSACK        // timestamps and one SACK block
)

// Sides. The capture point is next to the server: the server's packets
// are seen as it sends them, the client's one path delay after.
const (
	cli = 0
	srv = 1
)

// seg is one packet of a connection, waiting to be encoded.
type seg struct {
	t            int64 // capture time, Unix ns
	seq, ack     uint32
	sackL, sackR uint32 // the SACK block, with optSACK
	n            uint16 // payload bytes
	win          uint16 // raw window field
	dir          uint8  // sender: cli or srv
	flags        uint8
	opt          uint8
	forged       bool // injected by a middlebox: other TTL, IP ID 0
}

// conn is one connection: its packets, built up front in time order, and
// the per-side header state that encode fills as they go out.
type conn struct {
	id   uint64
	idx  int // in the heap
	next int // next seg to write
	segs []seg
	kind kind
	t0   int64

	v6, ts    bool
	addr      [2][16]byte // IPv4 in the last 4 bytes
	port      [2]uint16
	mac       [2][6]byte
	ttl       [2]uint8
	forgedTTL uint8
	ipid      [2]uint16
	isn       [2]uint32 // payload bytes follow from seq - isn
	flow      uint32    // IPv6 flow label
	tsBase    [2]uint32
	lastTS    [2]uint32 // the last TSval each side sent, echoed by the other
	mss       [2]uint16
	wscale    [2]uint8
}

// builder scripts one connection into conn.segs. It is reused: build
// resets it.
type builder struct {
	c    *conn
	r    *rand.Rand
	t    int64     // script cursor
	last int64     // latest packet time so far
	nxt  [2]uint32 // next sequence number each side sends
	rcv  [2]uint32 // what each side acknowledges
	win  [2]uint16 // each side's advertised window, raw
	seg  [2]int    // payload bytes per full segment each side sends
	gap  [2]int64  // spacing of back-to-back segments from each side, as captured
	rtt  int64     // capture point to client and back

	sendT []int64 // transfer's send times, reused
}

// Times in nanoseconds.
const (
	us     = int64(1e3)
	ms     = int64(1e6)
	delack = 40 * ms // Linux delayed ACK timeout (TCP_DELACK_MIN)
	minRTO = 200 * ms
)

func (b *builder) build(c *conn, id uint64, t int64, r *rand.Rand, short bool) {
	*b = builder{c: c, r: r, sendT: b.sendT[:0], t: t, last: t}
	c.id, c.t0, c.segs = id, t, c.segs[:0]
	b.endpoints(id)

	c.kind = kindFIN
	if r.IntN(5) == 0 {
		c.kind = kind(1 + r.IntN(int(numKinds)-1))
	}
	if c.kind == kindRefused {
		b.add(b.t, cli, flagSYN, 0, optSYN)
		b.t += b.lag(srv)
		// The reply takes ack = SYN seq+1 and seq 0 (RFC 9293 §3.10.7.1).
		b.emit(seg{t: b.t, seq: 0, ack: b.nxt[cli], dir: srv, flags: flagRST | flagACK})
		return
	}

	// Sizes: most connections are small, so that a gigabyte holds
	// hundreds of thousands of them; a few move megabytes.
	exchanges := 1
	req := func() int { return int(b.logu(60, 500)) }
	resp := func() int { return int(b.logu(100, 3000)) }
	if !short {
		switch p := r.IntN(1000); {
		case p < 2:
			resp = func() int { return int(b.logu(100e3, 1.5e6)) }
		case p < 100:
			exchanges = 1 + r.IntN(3)
			req = func() int {
				if b.r.IntN(20) == 0 {
					return int(b.logu(2000, 40000)) // an upload
				}
				return int(b.logu(100, 1500))
			}
			resp = func() int { return int(b.logu(1000, 20000)) }
		default:
			exchanges = 1 + r.IntN(2)
		}
	}

	b.handshake()
	b.t += b.gap[cli] // the request follows the final ACK
	for i := range exchanges {
		if i > 0 {
			b.t += b.logu(1*ms, 2000*ms) // the client's user thinks
		}
		b.exchange(req(), resp())
	}
	if !short {
		// Idle keep-alive time before the close: connections spend
		// most of their life idle, which sets the capture's data rate.
		b.t = b.last + b.logu(1*ms, 1000*ms)
		if b.r.IntN(2) == 0 {
			b.t += 1000*ms + b.r.Int64N(9000*ms) // up to a server's keep-alive timeout
		}
	}
	b.end()
	slices.SortStableFunc(c.segs, func(x, y seg) int { return cmp.Compare(x.t, y.t) })
}

// endpoints picks addresses, ports and per-side header habits. Client
// address and port come from the id, so no two connections share a
// 4-tuple in any practical file.
func (b *builder) endpoints(id uint64) {
	c, r := b.c, b.r
	h := uint32(id%50000) + 1
	server := byte(r.IntN(32))
	ports := [...]uint16{443, 443, 443, 443, 443, 80, 80, 8080, 5432, 6379, 3306, 22}
	c.port = [2]uint16{uint16(32768 + (id/50000)%28000), ports[r.IntN(len(ports))]}
	c.v6 = r.IntN(5) == 0
	c.addr = [2][16]byte{}
	if c.v6 {
		c.addr[cli] = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x0c, 12: byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h)}
		c.addr[srv] = [16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x05, 15: server + 1}
		c.flow = r.Uint32() & 0xfffff
	} else {
		c.addr[cli] = [16]byte{12: 10, byte(h >> 16), byte(h >> 8), byte(h)}
		c.addr[srv] = [16]byte{12: 192, 0, 2, 10 + server}
	}
	c.mac[cli] = [6]byte{0x02, 0, 0, 0, 0, 1} // the router
	c.mac[srv] = [6]byte{0x02, 0, 0, 0, 1, server}

	// The server is next to the capture; the client is hops away, from a
	// Linux-like (64) or Windows-like (128) initial TTL.
	c.ttl[srv] = 64
	c.ttl[cli] = 64 - byte(4+r.IntN(16))
	c.forgedTTL = 64 - byte(r.IntN(2)) // a middlebox a hop or two from the server
	if r.IntN(4) == 0 {
		c.ttl[cli] = 128 - byte(4+r.IntN(16))
	}
	c.ts = r.IntN(100) < 85
	base := uint16(1460)
	if c.v6 {
		base = 1440
	}
	c.mss = [2]uint16{base, base}
	if r.IntN(10) == 0 {
		c.mss[cli] = base - 60 // a tunnel on the client's path
	}
	c.wscale = [2]uint8{7, 7}
	if r.IntN(3) == 0 {
		c.wscale[cli] = 8
	}
	for s := range 2 {
		c.tsBase[s] = r.Uint32()
		c.ipid[s] = uint16(r.Uint32())
		c.lastTS[s] = 0
		b.nxt[s] = r.Uint32()
		c.isn[s] = b.nxt[s]
		b.win[s] = uint16(500 + r.IntN(3000))
		b.seg[s] = int(c.mss[1-s])
		if c.ts {
			b.seg[s] -= 12
		}
	}
	// Round trips: a data centre, a continent, the world.
	switch p := r.IntN(10); {
	case p < 5:
		b.rtt = b.logu(150*us, 2*ms)
	case p < 9:
		b.rtt = b.logu(8*ms, 60*ms)
	default:
		b.rtt = b.logu(80*ms, 250*ms)
	}
	b.gap = [2]int64{b.logu(12*us, 150*us), 2*us + r.Int64N(10*us)}
}

// logu draws log-uniformly from [lo, hi): sizes and times spread over
// orders of magnitude.
func (b *builder) logu(lo, hi int64) int64 {
	return int64(float64(lo) * math.Exp(b.r.Float64()*math.Log(float64(hi)/float64(lo))))
}

// lag is the time from a captured packet to side's answer being captured:
// microseconds for the server, a round trip for the client.
func (b *builder) lag(side int) int64 {
	if side == srv {
		return 5*us + b.r.Int64N(30*us)
	}
	return b.rtt
}

func (b *builder) emit(s seg) {
	b.c.segs = append(b.c.segs, s)
	if s.t > b.last {
		b.last = s.t
	}
}

// add sends n bytes from side at t with the side's current seq and ack.
func (b *builder) add(t int64, side int, flags uint8, n int, opt uint8) {
	s := seg{t: t, seq: b.nxt[side], n: uint16(n), win: b.win[side], dir: uint8(side), flags: flags, opt: opt}
	if flags&flagACK != 0 {
		s.ack = b.rcv[side]
	}
	if flags&flagSYN != 0 {
		s.win = 64240
	}
	b.emit(s)
	b.nxt[side] += uint32(n)
	if flags&(flagSYN|flagFIN) != 0 {
		b.nxt[side]++
	}
}

// deliver marks everything side sent as received by the other side.
func (b *builder) deliver(side int) { b.rcv[1-side] = b.nxt[side] }

func (b *builder) handshake() {
	b.add(b.t, cli, flagSYN, 0, optSYN)
	b.t += b.lag(srv)
	b.deliver(cli)
	b.add(b.t, srv, flagSYN|flagACK, 0, optSYN)
	b.t += b.lag(cli)
	b.deliver(srv)
	b.add(b.t, cli, flagACK, 0, optTS)
}

// exchange is one request and its response. The server ACKs the request
// with its response unless the application takes longer than the delayed
// ACK timer.
func (b *builder) exchange(req, resp int) {
	tl := b.transfer(cli, req, xfer{quietLast: true})
	at := tl + b.lag(srv)
	think := b.logu(50*us, 80*ms)
	if think > delack {
		b.add(at+delack, srv, flagACK, 0, optTS)
	}
	b.t = at + think
	if resp > 16000 && b.r.IntN(8) == 0 {
		// The client stops reading for a while: zero window, probes,
		// then a window update and the rest.
		first := resp / 3
		b.t = b.transfer(srv, first, xfer{zeroWin: true})
		b.probes(srv, 1+b.r.IntN(3), true)
		b.t += b.logu(1*ms, 300*ms)
		b.add(b.t, cli, flagACK, 0, optTS)
		b.t += b.lag(srv)
		resp -= first
	}
	b.t = b.transfer(srv, resp, xfer{})
	if b.r.IntN(6) == 0 {
		// The client's application read the data: a window update.
		b.t += b.logu(1*ms, 30*ms)
		b.win[cli] += uint16(1 + b.r.IntN(200))
		b.add(b.t, cli, flagACK, 0, optTS)
	}
	b.t = b.last
}

// probes sends zero-window probes from side s with exponential backoff,
// each answered with the window still closed when answered is set.
// Linux probes with seq = snd_una-1 and no data (tcp_xmit_probe_skb).
func (b *builder) probes(s, n int, answered bool) {
	rto := minRTO + b.rtt
	for i := range n {
		b.t += rto << i
		b.emit(seg{t: b.t, seq: b.nxt[s] - 1, ack: b.rcv[s], win: b.win[s], dir: uint8(s), flags: flagACK, opt: optTS})
		if answered {
			r := 1 - s
			b.emit(seg{t: b.t + b.lag(r), seq: b.nxt[r], ack: b.rcv[r], dir: uint8(r), flags: flagACK, opt: optTS})
		}
	}
	b.t = b.last
}

type xfer struct {
	quietLast bool // the receiver's answer carries the ACK for an odd last segment
	noAck     bool // the receiver never ACKs: it is about to reset
	zeroWin   bool // the receiver's last ACK closes the window
}

// transfer sends n bytes from side s starting at b.t, ACK-clocked: an
// initial window of ten segments, an ACK per two segments (delayed ACK
// for an odd last one), slow start growing the window by one segment per
// segment ACKed. Sometimes a segment is lost after the capture point and
// is retransmitted after three duplicate ACKs carrying SACK (or after the
// RTO), and sometimes two client segments arrive swapped. It returns the
// time of its last packet.
func (b *builder) transfer(s, n int, o xfer) int64 {
	r := 1 - s
	mss := b.seg[s]
	k := (n + mss - 1) / mss
	base := b.nxt[s]
	startOf := func(i int) uint32 { return base + uint32(i*mss) }
	end := func(i int) uint32 { return base + uint32(min((i+1)*mss, n)) }
	lastT, lastAck := int64(0), base // the receiver's latest ACK
	sack := func(t int64, ack, l, r2 uint32) {
		b.emit(seg{t: t, seq: b.nxt[r], ack: ack, sackL: l, sackR: r2, win: b.win[r], dir: uint8(r), flags: flagACK, opt: optSACK})
		if t >= lastT {
			lastT, lastAck = t, ack
		}
	}
	note := func(t int64, ack uint32) {
		if t >= lastT {
			lastT, lastAck = t, ack
		}
	}
	ackAt := func(t int64, ack uint32, win uint16) {
		b.emit(seg{t: t, seq: b.nxt[r], ack: ack, win: win, dir: uint8(r), flags: flagACK, opt: optTS})
		note(t, ack)
	}

	loss := -1
	if !o.noAck && !o.zeroWin && b.r.Float64() < float64(k)*0.002 {
		loss = b.r.IntN(k)
	}
	data := func(i int, t int64, rtx bool) {
		if i == loss && !rtx && s == cli {
			return // lost before reaching the capture: only the retransmission shows
		}
		fl := uint8(flagACK)
		if i == k-1 {
			fl |= flagPSH
		}
		b.emit(seg{t: t, seq: startOf(i), ack: b.rcv[s], n: uint16(end(i) - startOf(i)), win: b.win[s], dir: uint8(s), flags: fl, opt: optTS})
	}
	st := b.sendT[:0]
	defer func() { b.sendT = st[:0] }()
	first := len(b.c.segs)
	cwnd := 10
	if o.noAck {
		cwnd = k
	}
	sent := 0
	for ; sent < k && sent < cwnd; sent++ {
		t := b.t + int64(sent)*b.gap[s]
		st = append(st, t)
		data(sent, t, false)
	}
	b.nxt[s] = end(k - 1)
	b.rcv[r] = b.nxt[s]
	if o.noAck {
		return b.last
	}
	if loss < 0 && s == cli && sent >= 3 && b.r.IntN(10) == 0 {
		// Two segments of the first flight arrive swapped; the receiver
		// answers the early one with a duplicate ACK and SACK.
		i := b.r.IntN(sent - 1)
		st[i], st[i+1] = st[i+1], st[i]
		b.c.segs[first+i].t, b.c.segs[first+i+1].t = st[i], st[i+1]
		sack(st[i+1]+b.lag(r), startOf(i), startOf(i+1), end(i+1))
	}

	capw := min(max(int(b.win[r])<<b.c.wscale[r]/mss, 10), 300)
	lossState := 0 // 1: lost, 2: retransmitted
	if loss >= 0 {
		lossState = 1
	}
	dups := 0
	rtxArrive := int64(math.MaxInt64)
	rtxAck := base
	for e := 1; ; e += 2 {
		e = min(e, k-1)
		at := st[e]
		if e > 0 && st[e-1] > at {
			at = st[e-1]
		}
		at += b.lag(r)
		if e%2 == 0 { // an odd last segment
			if o.quietLast && lossState == 0 {
				break
			}
			at += delack
		}
		if loss >= 0 && loss == e && at < rtxArrive {
			ackAt(at, startOf(loss), b.win[r]) // what arrived before the hole
		} else if loss >= 0 && loss < e && at < rtxArrive {
			sack(at, startOf(loss), end(loss), end(e))
			dups++
		} else {
			win := b.win[r]
			if o.zeroWin && e == k-1 {
				win = 0
			}
			ack := end(e)
			if at >= rtxArrive && rtxAck-base > ack-base {
				ack = rtxAck
			}
			ackAt(at, ack, win)
		}
		if lossState == 1 && dups == 3 {
			rt := at + b.lag(s)
			data(loss, rt, true)
			lossState = 2
			rtxArrive = rt + b.lag(r)
			// The receiver then has everything sent before the
			// retransmission; segments queued behind it arrive after.
			j := sent - 1
			for j > loss && st[j] > rt {
				j--
			}
			rtxAck = end(j)
			ackAt(rtxArrive, rtxAck, b.win[r])
		}
		m := 2
		if cwnd < capw {
			m, cwnd = 4, cwnd+2
		}
		for ; m > 0 && sent < k; m-- {
			t := max(at+b.lag(s), st[sent-1]+b.gap[s])
			st = append(st, t)
			data(sent, t, false)
			sent++
		}
		if e == k-1 {
			break
		}
	}
	if lossState == 1 {
		// Too few duplicate ACKs for fast retransmit: the RTO fires.
		rt := b.last + minRTO + b.rtt
		data(loss, rt, true)
		ackAt(rt+b.lag(r), end(k-1), b.win[r])
	}
	if loss >= 0 && lastAck != end(k-1) {
		ackAt(b.last+b.lag(r), end(k-1), b.win[r])
	}
	return b.last
}

// end closes the connection the way c.kind says.
func (b *builder) end() {
	b.t = max(b.t, b.last)
	switch b.c.kind {
	case kindFIN:
		b.t += b.logu(100*us, 100*ms)
		if b.r.IntN(10) < 6 {
			b.add(b.t, cli, flagFIN|flagACK, 0, optTS)
			b.t += b.lag(srv)
			b.deliver(cli)
			b.add(b.t, srv, flagFIN|flagACK, 0, optTS)
			b.t += b.lag(cli)
			b.deliver(srv)
			b.add(b.t, cli, flagACK, 0, optTS)
			return
		}
		b.add(b.t, srv, flagFIN|flagACK, 0, optTS)
		b.t += b.lag(cli)
		b.deliver(srv)
		b.add(b.t, cli, flagACK, 0, optTS)
		b.t += b.logu(50*us, 2*ms)
		b.add(b.t, cli, flagFIN|flagACK, 0, optTS)
		b.t += b.lag(srv)
		b.deliver(cli)
		b.add(b.t, srv, flagACK, 0, optTS)

	case kindUnread:
		// The peer sends more (a pipelined request, say); the reader
		// closes with it unread, within the delayed ACK time, so the
		// data is never ACKed on its own. The RST's ack covers it
		// (tcp_send_active_reset sends rcv_nxt).
		res := b.side(7)
		peer := 1 - res
		b.t += b.logu(100*us, 50*ms)
		b.transfer(peer, int(b.logu(100, 2500)), xfer{noAck: true})
		b.t = b.last + b.lag(res) + b.logu(20*us, 5*ms)
		b.add(b.t, res, flagRST|flagACK, 0, optTS)

	case kindLinger:
		b.t += b.logu(100*us, 300*ms)
		b.add(b.t, b.side(5), flagRST|flagACK, 0, optTS)

	case kindNoSocket:
		// The server lost its socket (a restart, say); the client's next
		// request gets a reply RST with seq = the segment's ack
		// (tcp_v4_send_reset).
		b.t += b.logu(100*ms, 2000*ms)
		b.noSocketReply(cli)

	case kindAfterClose:
		res := b.side(7)
		peer := 1 - res
		b.t += b.logu(100*us, 50*ms)
		b.add(b.t, res, flagFIN|flagACK, 0, optTS)
		b.t += b.lag(peer)
		b.deliver(res)
		b.add(b.t, peer, flagACK, 0, optTS)
		b.t += b.logu(50*us, 5*ms)
		// An orphaned socket that gets data resets (tcp_rcv_state_process,
		// TCPAbortOnData), answering as a socketless reply.
		b.noSocketReply(peer)

	case kindZeroWindow:
		b.t += b.logu(100*us, 100*ms)
		b.t = b.transfer(srv, int(b.logu(8e3, 64e3)), xfer{zeroWin: true})
		b.probes(srv, 3+b.r.IntN(4), true)
		b.t += b.logu(10*ms, 1000*ms)
		b.add(b.t, srv, flagRST|flagACK, 0, optTS)

	case kindKeepalive:
		// Short keepalive settings (TCP_KEEPIDLE 1-3 s, TCP_KEEPINTVL
		// ~1 s) so that timeouts fit in a benchmark's capture time.
		p := b.side(7)
		b.t += b.logu(1000*ms, 3000*ms)
		intvl := b.logu(500*ms, 1500*ms)
		for range 3 + b.r.IntN(3) {
			b.emit(seg{t: b.t, seq: b.nxt[p] - 1, ack: b.rcv[p], win: b.win[p], dir: uint8(p), flags: flagACK, opt: optTS})
			b.t += intvl
		}
		b.add(b.t, p, flagRST|flagACK, 0, optTS)

	case kindMiddlebox:
		// A firewall drops idle state and resets the server in the
		// client's name; the client, unaware, sends again.
		b.t += b.logu(200*ms, 2000*ms)
		b.emit(seg{t: b.t, seq: b.nxt[cli], ack: b.rcv[cli], dir: cli, flags: flagRST | flagACK, forged: true})
		b.t += b.logu(50*ms, 1000*ms)
		b.noSocketReply(cli)
	}
}

// noSocketReply has side send a request the other side no longer has a
// socket for, answered by a bare RST whose seq is the request's ack
// (RFC 9293 §3.10.7.1).
func (b *builder) noSocketReply(side int) {
	ack := b.rcv[side]
	b.add(b.t, side, flagPSH|flagACK, int(b.logu(60, 600)), optTS)
	b.t += b.lag(1 - side)
	b.emit(seg{t: b.t, seq: ack, dir: uint8(1 - side), flags: flagRST})
}

// side returns srv with probability in10/10, else cli.
func (b *builder) side(in10 int) int {
	if b.r.IntN(10) < in10 {
		return srv
	}
	return cli
}
