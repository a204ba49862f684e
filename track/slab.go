package track

import (
	"runtime"
	"unsafe"

	"github.com/rstwhy/rstwhy/internal/offheap"
)

// connSlabs hands out new connections from slabs of many (offheap.Map), not
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
	n    int // connections in all slabs
	mem  *regions
}

// regions are a tracker's mappings.
type regions struct{ list []offheap.Region }

func (m *regions) unmapAll() {
	for _, r := range m.list {
		r.Unmap()
	}
	m.list = nil
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
			size = hugeSlab * offheap.HugePage / connSize
		}
		var r offheap.Region
		s.cur, r = offheap.Map[conn](size)
		s.used = 0
		s.mem.list = append(s.mem.list, r)
		s.n += size
	}
	c := &s.cur[s.used]
	s.used++
	return c
}
