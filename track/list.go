package track

// listID names a tracker's activity lists; a connection is in one at most.
type listID uint8

const (
	listNone  listID = iota
	listLive         // connections still open
	listEnded        // reset, or FIN both ways and both acknowledged: kept for Linger
)

// connList is an intrusive list of connections, oldest activity first, so
// that expiry and eviction look only at the front. Links are connection
// IDs (connSlabs.at), never pointers: connections live outside the heap.
type connList struct {
	front, back uint32
}

func (t *Tracker) pushBack(id listID, c *conn) {
	l := &t.lists[id]
	c.list, c.prev, c.next = id, l.back, 0
	if l.back != 0 {
		t.slabs.at(l.back).next = c.id
	} else {
		l.front = c.id
	}
	l.back = c.id
}

// front is the connection at the front of list l, or nil.
func (t *Tracker) front(l listID) *conn {
	if id := t.lists[l].front; id != 0 {
		return t.slabs.at(id)
	}
	return nil
}

// unlink takes c out of its list, if it is in one.
func (t *Tracker) unlink(c *conn) {
	if c.list == listNone {
		return
	}
	l := &t.lists[c.list]
	if c.prev != 0 {
		t.slabs.at(c.prev).next = c.next
	} else {
		l.front = c.next
	}
	if c.next != 0 {
		t.slabs.at(c.next).prev = c.prev
	} else {
		l.back = c.prev
	}
	c.prev, c.next, c.list = 0, 0, listNone
}

// schedule is a min-heap of connections by the time their resets'
// evidence window closes (conn.at). It is indexed (conn.heapIdx), so a
// connection that leaves the table leaves the heap too: under a RST storm
// the heap never holds more than the table.
type schedule struct{ h []*conn }

func (s *schedule) len() int   { return len(s.h) }
func (s *schedule) top() *conn { return s.h[0] }

// set puts c in the heap at time at, or moves it there.
func (s *schedule) set(c *conn, at int64) {
	c.at = at
	if c.heapIdx < 0 {
		c.heapIdx = int32(len(s.h))
		s.h = append(s.h, c)
	}
	s.up(int(c.heapIdx))
	s.down(int(c.heapIdx))
}

// remove takes c out of the heap if it is there.
func (s *schedule) remove(c *conn) {
	i := int(c.heapIdx)
	if i < 0 {
		return
	}
	n := len(s.h) - 1
	s.swap(i, n)
	s.h[n] = nil
	s.h = s.h[:n]
	c.heapIdx = -1
	if i < n {
		s.up(i)
		s.down(i)
	}
}

func (s *schedule) swap(i, j int) {
	s.h[i], s.h[j] = s.h[j], s.h[i]
	s.h[i].heapIdx, s.h[j].heapIdx = int32(i), int32(j)
}

func (s *schedule) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if s.h[p].at <= s.h[i].at {
			return
		}
		s.swap(p, i)
		i = p
	}
}

func (s *schedule) down(i int) {
	n := len(s.h)
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s.h[l].at < s.h[m].at {
			m = l
		}
		if r < n && s.h[r].at < s.h[m].at {
			m = r
		}
		if m == i {
			return
		}
		s.swap(i, m)
		i = m
	}
}
