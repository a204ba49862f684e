package analyzer

import (
	"runtime"
	"unsafe"
)

// hugePage is the size of a transparent huge page on x86-64 and most
// arm64 kernels. Where it is another, alignment to it is merely wasted.
const hugePage = 2 << 20

// connSlabs hands out new connections from slabs of many (mapSlice), not
// one heap allocation each. The first slabs double from firstSlab
// connections, so that a small capture stays small; past smallSlabs
// connections each slab fills hugeSlab huge pages. One: a fresh huge page
// is the dearest memory there is under a hypervisor that takes freed
// memory back (perf: 2-4 ms each to fault in, on this project's VM), and
// every tracker's last slab is partly unused.
//
// A connection never goes back: the tracker keeps the dropped ones on its
// free list for the next, so the memory is that of the most connections
// held at once. The slabs are unmapped when the tracker is discarded, or
// once the collector finds it unreachable.
type connSlabs struct {
	cur  []conn // the newest slab; cur[used:] not handed out yet
	used int
	// keep holds, for every slab, its connections' connKeep. Nothing
	// else on the heap points to them: the slabs are not scanned.
	keep [][]connKeep
	n    int // connections in all slabs
	mem  *regions
}

// regions are a tracker's mappings.
type regions struct{ list []region }

func (m *regions) unmapAll() {
	for _, r := range m.list {
		r.unmap()
	}
	m.list = nil
}

// connKeep holds on the heap what a connection points to there, for the
// collector, which does not scan the slabs. The connection's own fields
// are the ones read; these only follow them (conn.setFirst, addOpen).
type connKeep struct {
	first *Reset
	open  []*Reset
}

const (
	firstSlab  = 64
	smallSlabs = 1024
	hugeSlab   = 1
	connSize   = int(unsafe.Sizeof(conn{}))
)

// get returns a zero connection that nothing else holds.
func (s *connSlabs) get(owner *Tracker) *conn {
	if s.used == len(s.cur) {
		if s.mem == nil {
			s.mem = &regions{}
			runtime.AddCleanup(owner, (*regions).unmapAll, s.mem)
		}
		size := max(firstSlab, s.n)
		if s.n >= smallSlabs {
			size = hugeSlab * hugePage / connSize
		}
		var r region
		s.cur, r = mapSlice[conn](size)
		keep := make([]connKeep, size)
		prefault(keep) // its pointers are written with a barrier, which reads first
		s.keep, s.used = append(s.keep, keep), 0
		s.mem.list = append(s.mem.list, r)
		s.n += size
	}
	c := &s.cur[s.used]
	c.keep = &s.keep[len(s.keep)-1][s.used]
	s.used++
	return c
}

// setFirst sets the connection's first reset.
func (c *conn) setFirst(r *Reset) {
	c.first = r
	c.keep.first = r
}

// addOpen adds a reset still gathering its aftermath.
func (c *conn) addOpen(r *Reset) {
	c.open = append(c.open, r)
	c.keep.open = c.open
}
