package correlate

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"
)

// Kinds of group. They are stable data, like cause IDs.
const (
	Storm  = "storm"
	Repeat = "repeat"
	Scan   = "scan"
)

// Defaults of the Correlator's fields; the package doc says why each.
const (
	DefaultStormGap       = 10 * time.Millisecond
	DefaultStormSpan      = time.Second
	DefaultMinStorm       = 3
	DefaultRepeatGap      = 15 * time.Minute
	DefaultMinRepeat      = 3
	DefaultScanGap        = time.Minute
	DefaultMinScanPorts   = 5
	DefaultFollowupWindow = 10 * time.Second
	DefaultMaxOpen        = 65536
	DefaultMaxKept        = 1024
)

// maxPorts bounds the distinct ports a group remembers: a scan of every
// port would otherwise hold 128 KiB. Past it, Group.Ports stops counting.
const maxPorts = 64

// Reset is one judged RST, as the pipeline hands it over.
type Reset struct {
	Frame    int64          // 1-based frame number
	TS       int64          // capture time, Unix ns
	Resetter netip.AddrPort // the side that sent the RST
	Peer     netip.AddrPort // the other side
	Server   netip.AddrPort // the connection's server endpoint (the service)
	Cause    string         // e.g. "unread_data_close", "connection_refused"

	// AnswersSYN: the RST answered the peer's SYN (RST+ACK acknowledging
	// it), a refused connection attempt whatever its cause, for instance a
	// firewall's middlebox_reset.
	AnswersSYN bool

	Followup   bool  // a consequence of an earlier RST on the same connection
	FollowupOf int64 // frame of the connection's first RST, when Followup
}

// Assignment is a reset's group, final when Add returns.
type Assignment struct {
	Group int64 // the group's ID: 1, 2, 3, ... in the order groups start
	// Kind is the group's kind as of this reset: Storm, Repeat, Scan or
	// "". It can change with later resets; Group.Kind is final.
	Kind string
}

// Key is what a group's first reset says about it. A storm shares
// Resetter, a repeat Resetter, ServerPort and Cause, a scan Resetter and
// Peer.
type Key struct {
	Resetter   netip.Addr
	Peer       netip.Addr
	ServerPort uint16
	Cause      string
}

// Group is the summary of a closed group.
type Group struct {
	ID    int64
	Kind  string // Storm, Repeat, Scan, or "" (a single reset, or too few to name)
	Key   Key
	Count int64 // resets, follow-ups included
	Conns int64 // resets that were not follow-ups: one a connection
	Ports int   // distinct server ports among the connections, counted up to 64
	// Burst is the longest run of connections each reset within StormGap
	// of the one before: a repeat that absorbed a storm says so here.
	Burst int64

	FirstFrame int64 // the group's first reset: the example to look at
	FirstTS    int64 // its capture time, Unix ns, as given
	LastFrame  int64 // the group's last reset
	LastTS     int64
	// Span is the capture time from the first reset to the last, never
	// negative: time that runs backwards counts as none passing, so Span
	// can differ from LastTS - FirstTS.
	Span time.Duration

	Evicted bool // closed early because MaxOpen groups were open
}

// Stats counts what a Correlator did.
type Stats struct {
	Resets     int64 // calls to Add
	Groups     int64 // IDs given out
	Open       int   // groups open now
	Evicted    int64 // groups closed early because MaxOpen groups were open
	Singletons int64 // closed groups of one reset: Flush never returns them
	// Dropped is the closed groups of two or more resets that Flush will
	// not return (Emit nil, past MaxKept), DroppedResets the resets in
	// them. Resets = the kept groups' Counts + Singletons + DroppedResets.
	Dropped       int64
	DroppedResets int64
}

// Correlator groups the resets of one capture. Set its fields before the
// first Add; the zero value uses the defaults. Zero or negative durations
// and sizes mean the default; MinStorm and MinRepeat below 2 mean 2,
// MinScanPorts is kept within 2..64. Not safe for concurrent use.
type Correlator struct {
	StormGap       time.Duration // longest gap within a storm (DefaultStormGap)
	StormSpan      time.Duration // longest storm, first reset to last (DefaultStormSpan)
	MinStorm       int           // connections that make a storm (DefaultMinStorm)
	RepeatGap      time.Duration // longest gap within a repeat (DefaultRepeatGap)
	MinRepeat      int           // connections that make a repeat (DefaultMinRepeat)
	ScanGap        time.Duration // longest gap within a scan (DefaultScanGap)
	MinScanPorts   int           // distinct ports that make a scan (DefaultMinScanPorts)
	FollowupWindow time.Duration // how long a first reset waits for follow-ups (DefaultFollowupWindow)
	MaxOpen        int           // groups open at once; past it the least recently joined closes (DefaultMaxOpen)
	MaxKept        int           // with Emit nil, groups Flush returns at most (DefaultMaxKept)

	// Emit, when set, receives every group as it closes, groups of one
	// reset included; Flush then returns nil. It must not call the
	// Correlator.
	Emit func(Group)

	cfg     config
	started bool
	clock   int64 // capture time that never runs backwards, ns from the first Add
	lastTS  int64
	nextID  int64
	open    int

	storms  map[netip.Addr]*group
	repeats map[repeatKey]*group
	scans   map[scanKey]*group
	lists   [2]list // by last activity; listLong holds repeat candidates
	free    []*group

	frames frameTable
	kept   keptHeap
	stats  Stats
}

type config struct {
	stormGap, stormSpan, repeatGap, scanGap, followupWindow int64
	minStorm, minRepeat, minScanPorts                       int64
	maxOpen, maxKept                                        int
	ttl                                                     [2]int64 // by list
}

const (
	listShort = iota
	listLong
)

type repeatKey struct {
	res   netip.Addr
	port  uint16
	cause string
}

type scanKey struct{ res, peer netip.Addr }

// Relations a group can still grow by.
const (
	relStorm uint8 = 1 << iota
	relRepeat
	relScan
)

// kind orders the kinds: a join never lowers a group's kind.
type kind uint8

const (
	kindNone kind = iota
	kindStorm
	kindRepeat
	kindScan
)

var kindNames = [...]string{kindNone: "", kindStorm: Storm, kindRepeat: Repeat, kindScan: Scan}

type group struct {
	id    int64 // 0 while on the free list
	rel   uint8
	list  uint8
	res   netip.Addr
	peer  netip.Addr
	port  uint16
	cause string
	ports []uint16 // distinct, up to maxPorts

	count, conns int64
	run, burst   int64

	firstFrame, firstTS, lastFrame, lastTS int64
	firstEff, relEff, lastEff              int64 // clock at the first, the last connection's, the last reset

	prev, next *group
}

func (c *Correlator) init() {
	if c.started {
		return
	}
	c.started = true
	dur := func(d, def time.Duration) int64 {
		if d <= 0 {
			return int64(def)
		}
		return int64(d)
	}
	size := func(n, def, lo, hi int) int {
		switch {
		case n <= 0:
			return def
		case n < lo:
			return lo
		case n > hi:
			return hi
		}
		return n
	}
	g := &c.cfg
	g.stormGap = dur(c.StormGap, DefaultStormGap)
	g.stormSpan = dur(c.StormSpan, DefaultStormSpan)
	g.repeatGap = dur(c.RepeatGap, DefaultRepeatGap)
	g.scanGap = dur(c.ScanGap, DefaultScanGap)
	g.followupWindow = dur(c.FollowupWindow, DefaultFollowupWindow)
	g.minStorm = int64(size(c.MinStorm, DefaultMinStorm, 2, math.MaxInt32))
	g.minRepeat = int64(size(c.MinRepeat, DefaultMinRepeat, 2, math.MaxInt32))
	g.minScanPorts = int64(size(c.MinScanPorts, DefaultMinScanPorts, 2, maxPorts))
	g.maxOpen = size(c.MaxOpen, DefaultMaxOpen, 1, math.MaxInt32)
	g.maxKept = size(c.MaxKept, DefaultMaxKept, 1, math.MaxInt32)
	g.ttl[listShort] = max(g.stormGap, g.scanGap, g.followupWindow)
	g.ttl[listLong] = max(g.ttl[listShort], g.repeatGap)
	c.storms = make(map[netip.Addr]*group)
	c.repeats = make(map[repeatKey]*group)
	c.scans = make(map[scanKey]*group)
	c.frames.init(g.maxOpen)
}

// Add takes the capture's next reset, in frame order, and returns its
// group.
func (c *Correlator) Add(r Reset) Assignment {
	c.init()
	c.tick(r.TS)
	c.expire()
	c.stats.Resets++

	res := r.Resetter.Addr().Unmap()
	peer := r.Peer.Addr().Unmap()
	port := r.Server.Port()
	refusal := r.AnswersSYN || r.Cause == "connection_refused"

	// The frame that follow-ups of this connection will name.
	first := r.Frame
	if r.Followup && r.FollowupOf != 0 {
		first = r.FollowupOf
		if g := c.frames.lookup(first); g != nil {
			c.touch(g, r)
			c.frames.put(first, g, c.clock)
			return Assignment{g.id, c.kindName(g)}
		}
		// The first reset's group is gone (closed or never seen): this
		// one stands for its connection.
	}

	g := c.join(r, res, peer, port, refusal)
	if g == nil {
		g = c.start(r, res, peer, port, refusal)
	}
	c.index(g)
	c.frames.put(first, g, c.clock)
	return Assignment{g.id, c.kindName(g)}
}

// tick advances the clock by the capture time since the previous reset,
// or not at all when the capture's time ran backwards.
func (c *Correlator) tick(ts int64) {
	if c.stats.Resets > 0 && ts > c.lastTS {
		d := uint64(ts) - uint64(c.lastTS) // exact: ts > lastTS
		if d > uint64(math.MaxInt64-c.clock) {
			c.clock = math.MaxInt64
		} else {
			c.clock += int64(d)
		}
	}
	c.lastTS = ts
}

// expire closes the groups no reset can join any more. Each list is in
// order of last activity and has one time to live, so only its front is
// looked at.
func (c *Correlator) expire() {
	for i := range c.lists {
		ttl := c.cfg.ttl[i]
		for g := c.lists[i].head; g != nil && c.clock-g.lastEff > ttl; g = c.lists[i].head {
			c.close(g, false)
		}
	}
	c.frames.expire(c.clock - c.cfg.followupWindow)
}

// join adds r to the first open group it fits, or returns nil.
func (c *Correlator) join(r Reset, res, peer netip.Addr, port uint16, refusal bool) *group {
	try := func(g *group, rel uint8) bool {
		if g == nil || g.rel&rel == 0 {
			return false
		}
		gap := c.clock - g.relEff
		var fits uint8
		if gap <= c.cfg.stormGap && c.clock-g.firstEff <= c.cfg.stormSpan {
			fits |= relStorm
		}
		if gap <= c.cfg.repeatGap && port == g.port && r.Cause == g.cause {
			fits |= relRepeat
		}
		if gap <= c.cfg.scanGap && refusal && peer == g.peer {
			fits |= relScan
		}
		keep := g.rel & fits
		if keep&rel == 0 {
			return false
		}
		ports := int64(len(g.ports))
		if ports < maxPorts && !slices.Contains(g.ports, port) {
			ports++
		}
		if c.kindOf(keep, g.conns+1, ports) < c.kindOf(g.rel, g.conns, int64(len(g.ports))) {
			return false
		}
		g.rel = keep
		if gap <= c.cfg.stormGap {
			g.run++
		} else {
			g.run = 1
		}
		g.burst = max(g.burst, g.run)
		if int64(len(g.ports)) < ports {
			g.ports = append(g.ports, port)
		}
		g.conns++
		g.relEff = c.clock
		c.touch(g, r)
		return true
	}
	if refusal {
		if g := c.scans[scanKey{res, peer}]; try(g, relScan) {
			return g
		}
	}
	if g := c.repeats[repeatKey{res, port, r.Cause}]; try(g, relRepeat) {
		return g
	}
	if g := c.storms[res]; try(g, relStorm) {
		return g
	}
	return nil
}

// touch counts r in g and moves g to the back of its list.
func (c *Correlator) touch(g *group, r Reset) {
	g.count++
	g.lastFrame, g.lastTS, g.lastEff = r.Frame, r.TS, c.clock
	c.lists[g.list].remove(g)
	if g.rel&relRepeat == 0 {
		g.list = listShort
	}
	c.lists[g.list].pushBack(g)
}

// start opens a group for r, closing the least recently joined group
// first when MaxOpen are open.
func (c *Correlator) start(r Reset, res, peer netip.Addr, port uint16, refusal bool) *group {
	if c.open >= c.cfg.maxOpen {
		old := c.lists[listLong].head
		if s := c.lists[listShort].head; old == nil || s != nil && s.lastEff < old.lastEff {
			old = s
		}
		c.close(old, true)
	}
	var g *group
	if n := len(c.free); n > 0 {
		g, c.free = c.free[n-1], c.free[:n-1]
	} else {
		g = new(group)
	}
	c.nextID++
	c.stats.Groups++
	c.open++
	*g = group{
		id: c.nextID, rel: relStorm | relRepeat, list: listLong,
		res: res, peer: peer, port: port, cause: r.Cause,
		ports: append(g.ports[:0], port),
		count: 1, conns: 1, run: 1, burst: 1,
		firstFrame: r.Frame, firstTS: r.TS, lastFrame: r.Frame, lastTS: r.TS,
		firstEff: c.clock, relEff: c.clock, lastEff: c.clock,
	}
	if refusal {
		g.rel |= relScan
	}
	c.lists[listLong].pushBack(g)
	return g
}

// index points the keys of the relations g can still grow by at g: a reset
// looks for the most recently joined group of its keys.
func (c *Correlator) index(g *group) {
	if g.rel&relStorm != 0 {
		c.storms[g.res] = g
	}
	if g.rel&relRepeat != 0 {
		c.repeats[repeatKey{g.res, g.port, g.cause}] = g
	}
	if g.rel&relScan != 0 {
		c.scans[scanKey{g.res, g.peer}] = g
	}
}

func (c *Correlator) kindOf(rel uint8, conns, ports int64) kind {
	switch {
	case rel&relScan != 0 && ports >= c.cfg.minScanPorts:
		return kindScan
	case rel&relStorm != 0 && conns >= c.cfg.minStorm:
		return kindStorm
	case rel&relRepeat != 0 && conns >= c.cfg.minRepeat:
		return kindRepeat
	}
	return kindNone
}

func (c *Correlator) kindName(g *group) string {
	return kindNames[c.kindOf(g.rel, g.conns, int64(len(g.ports)))]
}

// close ends g, hands its summary on and recycles it.
func (c *Correlator) close(g *group, evicted bool) {
	c.lists[g.list].remove(g)
	c.open--
	if c.storms[g.res] == g {
		delete(c.storms, g.res)
	}
	if k := (repeatKey{g.res, g.port, g.cause}); c.repeats[k] == g {
		delete(c.repeats, k)
	}
	if k := (scanKey{g.res, g.peer}); c.scans[k] == g {
		delete(c.scans, k)
	}
	s := Group{
		ID:    g.id,
		Kind:  c.kindName(g),
		Key:   Key{Resetter: g.res, Peer: g.peer, ServerPort: g.port, Cause: g.cause},
		Count: g.count, Conns: g.conns, Ports: len(g.ports), Burst: g.burst,
		FirstFrame: g.firstFrame, FirstTS: g.firstTS, LastFrame: g.lastFrame, LastTS: g.lastTS,
		Span:    time.Duration(g.lastEff - g.firstEff),
		Evicted: evicted,
	}
	if evicted {
		c.stats.Evicted++
	}
	g.id = 0 // stale references (frames) no longer match
	g.cause = ""
	c.free = append(c.free, g)

	if s.Count == 1 {
		c.stats.Singletons++
	}
	switch {
	case c.Emit != nil:
		c.Emit(s)
	case s.Count > 1:
		if d, ok := c.kept.keep(s, c.cfg.maxKept); ok {
			c.stats.Dropped++
			c.stats.DroppedResets += d.Count
		}
	}
}

// Flush closes every open group: the capture has ended. With Emit nil it
// returns the groups of two or more resets closed since the last Flush, in
// ID order, at most MaxKept (the largest; Stats counts the rest); with
// Emit set it returns nil. Add may be called again after it; IDs go on.
func (c *Correlator) Flush() []Group {
	c.init()
	var open []*group
	for i := range c.lists {
		for g := c.lists[i].head; g != nil; g = g.next {
			open = append(open, g)
		}
	}
	slices.SortFunc(open, func(a, b *group) int { return cmp.Compare(a.id, b.id) })
	for _, g := range open {
		c.close(g, false)
	}
	out := c.kept.take()
	slices.SortFunc(out, func(a, b Group) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Stats returns the counts so far.
func (c *Correlator) Stats() Stats {
	s := c.stats
	s.Open = c.open
	return s
}
