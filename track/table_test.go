package track

import (
	"math/rand/v2"
	"testing"
)

// TestConnTable holds the table to a map through random puts and deletes,
// with hashes from a small range so that probe runs collide, wrap around
// the end and share hashes between different keys.
func TestConnTable(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var tab connTable
	ref := map[flowKey]*conn{}
	var live []*conn
	for step := range 200000 {
		if len(live) > 0 && (rng.IntN(2) == 0 || len(live) > 3000) {
			i := rng.IntN(len(live))
			c := live[i]
			live[i] = live[len(live)-1]
			live = live[:len(live)-1]
			tab.del(c)
			delete(ref, c.key)
		} else {
			c := &conn{hash: uint64(rng.IntN(5000)) * 0x9e3779b97f4a7c15}
			c.key.pa, c.key.pb = uint16(step), uint16(step>>16)
			tab.put(c)
			ref[c.key] = c
			live = append(live, c)
		}
		if tab.n != len(ref) {
			t.Fatalf("step %d: %d connections, want %d", step, tab.n, len(ref))
		}
		if step%997 == 0 {
			for k, c := range ref {
				if got := tab.get(c.hash, k); got != c {
					t.Fatalf("step %d: lookup of %v found %p, want %p", step, k, got, c)
				}
			}
			seen := 0
			tab.each(func(*conn) { seen++ })
			if seen != len(ref) {
				t.Fatalf("step %d: each saw %d connections, want %d", step, seen, len(ref))
			}
		}
	}
	for _, c := range live {
		k := c.key
		k.pa++
		if got := tab.get(c.hash, k); got != nil && got.key != k {
			t.Fatalf("lookup of an absent key found %v", got.key)
		}
	}
}
