package track

import "github.com/rstwhy/rstwhy/internal/offheap"

// connTable holds the tracked connections by flow hash: open addressing
// with linear probing, a slot being the hash and the connection. A lookup
// reads one slot, usually one cache line, before the connection itself; a
// Go map read a control word and then a slot, two misses in a table of
// tens of thousands of connections. Flows whose 64-bit hashes collide
// simply take two slots, told apart by their keys.
type connTable struct {
	slots []connSlot // a power of two long, at most half full
	n     int
}

type connSlot struct {
	hash uint64
	c    *conn // nil: empty
}

func (t *connTable) mask() uint64 { return uint64(len(t.slots) - 1) }

func (t *connTable) get(h uint64, k flowKey) *conn {
	if t.n == 0 {
		return nil
	}
	m := t.mask()
	for i := h & m; ; i = (i + 1) & m {
		s := &t.slots[i]
		if s.c == nil {
			return nil
		}
		if s.hash == h && s.c.key.equal(&k) {
			return s.c
		}
	}
}

func (t *connTable) put(c *conn) {
	if 2*(t.n+1) > len(t.slots) {
		t.grow()
	}
	t.place(connSlot{c.hash, c})
	t.n++
}

func (t *connTable) place(s connSlot) {
	m := t.mask()
	i := s.hash & m
	for t.slots[i].c != nil {
		i = (i + 1) & m
	}
	t.slots[i] = s
}

func (t *connTable) grow() {
	old := t.slots
	t.slots = make([]connSlot, max(64, 2*len(old)))
	offheap.Prefault(t.slots)
	for _, s := range old {
		if s.c != nil {
			t.place(s)
		}
	}
}

// del removes c, shifting back the slots after it that probed past it,
// so that no lookup needs a tombstone.
func (t *connTable) del(c *conn) {
	m := t.mask()
	i := c.hash & m
	for t.slots[i].c != c {
		if t.slots[i].c == nil {
			return
		}
		i = (i + 1) & m
	}
	for j := (i + 1) & m; t.slots[j].c != nil; j = (j + 1) & m {
		// The slot at j may move to the hole at i unless its home lies
		// cyclically in (i, j].
		home := t.slots[j].hash & m
		if (j-home)&m >= (j-i)&m {
			t.slots[i] = t.slots[j]
			i = j
		}
	}
	t.slots[i] = connSlot{}
	t.n--
}

// each calls f for every connection; f must not add or remove any.
func (t *connTable) each(f func(*conn)) {
	for _, s := range t.slots {
		if s.c != nil {
			f(s.c)
		}
	}
}

// equal compares two keys field by field: the compiler inlines each
// array's comparison as word loads, where comparing the whole 36-byte
// struct called the runtime's memequal on every lookup.
func (k *flowKey) equal(o *flowKey) bool {
	return k.a == o.a && k.b == o.b && k.pa == o.pa && k.pb == o.pb
}
