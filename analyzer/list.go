package analyzer

// connList is an intrusive list of connections, oldest activity first, so
// that expiry and eviction look only at the front.
type connList struct {
	front, back *conn
}

func (l *connList) pushBack(c *conn) {
	c.list, c.prev, c.next = l, l.back, nil
	if l.back != nil {
		l.back.next = c
	} else {
		l.front = c
	}
	l.back = c
}

func (l *connList) remove(c *conn) {
	if c.list != l {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		l.front = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		l.back = c.prev
	}
	c.prev, c.next, c.list = nil, nil, nil
}

// schedule is a min-heap of times at which connections with resets
// should be looked at again. Entries of connections that were closed
// meanwhile are skipped when they come up.
type schedEntry struct {
	at int64
	c  *conn
}

type schedule struct{ h []schedEntry }

func (s *schedule) len() int         { return len(s.h) }
func (s *schedule) top() *schedEntry { return &s.h[0] }

func (s *schedule) push(e schedEntry) {
	s.h = append(s.h, e)
	for i := len(s.h) - 1; i > 0; {
		p := (i - 1) / 2
		if s.h[p].at <= s.h[i].at {
			break
		}
		s.h[p], s.h[i] = s.h[i], s.h[p]
		i = p
	}
}

func (s *schedule) pop() schedEntry {
	e := s.h[0]
	n := len(s.h) - 1
	s.h[0] = s.h[n]
	s.h[n] = schedEntry{}
	s.h = s.h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && s.h[l].at < s.h[m].at {
			m = l
		}
		if r < n && s.h[r].at < s.h[m].at {
			m = r
		}
		if m == i {
			break
		}
		s.h[i], s.h[m] = s.h[m], s.h[i]
		i = m
	}
	return e
}
