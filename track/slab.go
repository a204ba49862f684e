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
	slabs [][]conn    // every slab, whole; the last one's [used:] not handed out yet
	exts  [][]connExt // what each slab's connections hold on the heap, alike
	used  int
	n     int // connections in all slabs
	mem   *regions
}

// at returns the connection with ID id (not 0). An ID is the slab's number
// from 1 in its upper half and the index in the slab in its lower: two
// loads from a small table, where an ID-to-pointer slice as long as the
// table cost a cache miss of its own on every link followed.
func (s *connSlabs) at(id uint32) *conn { return &s.slabs[id>>16-1][id&0xffff] }

// ext returns what the connection with ID id holds on the heap.
func (s *connSlabs) ext(id uint32) *connExt { return &s.exts[id>>16-1][id&0xffff] }

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

// get returns a zero connection that nothing else holds, its ID set.
func (s *connSlabs) get(owner *Tracker) *conn {
	if len(s.slabs) == 0 || s.used == len(s.slabs[len(s.slabs)-1]) {
		if s.mem == nil {
			s.mem = &regions{}
			runtime.AddCleanup(owner, (*regions).unmapAll, s.mem)
		}
		size := max(firstSlab, s.n)
		if s.n >= smallSlabs {
			size = hugeSlab * offheap.HugePage / connSize
		}
		size = min(size, 1<<16) // the index in a slab is 16 bits of the ID
		slab, r := offheap.Map[conn](size)
		s.slabs, s.exts = append(s.slabs, slab), append(s.exts, make([]connExt, size))
		s.used = 0
		s.mem.list = append(s.mem.list, r)
		s.n += size
	}
	c := &s.slabs[len(s.slabs)-1][s.used]
	c.id = uint32(len(s.slabs))<<16 | uint32(s.used)
	s.used++
	return c
}

// snapSlabs hand out the Conn snapshots of recycled resets
// (Tracker.Recycle) from slabs outside the heap, doubling from
// firstSlab up to a huge page. A snapshot stays with its Reset through
// every reuse, so there are as many as resets ever waited at once; the
// slabs go when the tracker closes (or is collected).
type snapSlabs struct {
	last []Conn // the newest slab's snapshots not handed out yet
	n    int
	mem  *regions
}

func (s *snapSlabs) get(owner *Tracker) *Conn {
	if len(s.last) == 0 {
		if s.mem == nil {
			s.mem = &regions{}
			runtime.AddCleanup(owner, (*regions).unmapAll, s.mem)
		}
		size := min(max(firstSlab, s.n), max(1, offheap.HugePage/int(unsafe.Sizeof(Conn{}))))
		slab, r := offheap.Map[Conn](size)
		s.mem.list = append(s.mem.list, r)
		s.last = slab
		s.n += size
	}
	c := &s.last[0]
	s.last = s.last[1:]
	return c
}
