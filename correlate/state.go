package correlate

import "container/heap"

// list is a doubly linked list of groups, oldest activity first; groups
// link themselves, so moving one costs no allocation.
type list struct{ head, tail *group }

func (l *list) pushBack(g *group) {
	g.prev, g.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = g
	} else {
		l.head = g
	}
	l.tail = g
}

func (l *list) remove(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		l.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		l.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

// frameTable maps the frame of a connection's first reset to its group,
// for the follow-ups that name it. Entries live FollowupWindow after
// their last use and at most max of them at once; a queue in order of use
// finds the old ones without a walk, and a sequence number tells an
// entry's latest use from the earlier ones still queued.
type frameTable struct {
	m     map[int64]frameRef
	queue []frameUse // queue[head:] is live
	head  int
	seq   uint64
	max   int
}

type frameRef struct {
	g   *group
	id  int64 // g.id when put: a closed, recycled group no longer matches
	seq uint64
}

type frameUse struct {
	frame int64
	eff   int64
	seq   uint64
}

func (t *frameTable) init(max int) {
	t.m = make(map[int64]frameRef)
	t.max = max
}

// lookup returns the open group of frame's connection, or nil.
func (t *frameTable) lookup(frame int64) *group {
	ref, ok := t.m[frame]
	if !ok || ref.g.id != ref.id {
		return nil
	}
	return ref.g
}

func (t *frameTable) put(frame int64, g *group, eff int64) {
	t.seq++
	t.m[frame] = frameRef{g, g.id, t.seq}
	if t.head > 0 && len(t.queue) == cap(t.queue) && t.head >= len(t.queue)/2 {
		// Reuse the dead front rather than grow: the queue's memory
		// follows the entries alive, not the resets seen.
		n := copy(t.queue, t.queue[t.head:])
		t.queue = t.queue[:n]
		t.head = 0
	}
	t.queue = append(t.queue, frameUse{frame, eff, t.seq})
	if len(t.queue)-t.head > t.max {
		t.pop()
	}
}

// expire forgets the frames last used before the clock reading before.
func (t *frameTable) expire(before int64) {
	for t.head < len(t.queue) && t.queue[t.head].eff < before {
		t.pop()
	}
}

func (t *frameTable) pop() {
	u := t.queue[t.head]
	t.head++
	if ref, ok := t.m[u.frame]; ok && ref.seq == u.seq {
		delete(t.m, u.frame)
	}
	if t.head == len(t.queue) {
		t.queue, t.head = t.queue[:0], 0
	}
}

// keptHeap holds the largest closed groups for Flush, the least of them
// at the root so that a larger one replaces it in O(log n).
type keptHeap []Group

func (h keptHeap) Len() int { return len(h) }

// Less: fewer resets is less; among equals the later group is less, so
// that the earlier one is kept.
func (h keptHeap) Less(i, j int) bool {
	if h[i].Count != h[j].Count {
		return h[i].Count < h[j].Count
	}
	return h[i].ID > h[j].ID
}
func (h keptHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *keptHeap) Push(x any)   { *h = append(*h, x.(Group)) }
func (h *keptHeap) Pop() any {
	old := *h
	g := old[len(old)-1]
	*h = old[:len(old)-1]
	return g
}

// keep adds s, keeping at most max groups; it returns the group left out,
// if any.
func (h *keptHeap) keep(s Group, max int) (Group, bool) {
	if len(*h) < max {
		heap.Push(h, s)
		return Group{}, false
	}
	root := (*h)[0]
	if root.Count > s.Count || root.Count == s.Count && root.ID < s.ID {
		return s, true
	}
	(*h)[0] = s
	heap.Fix(h, 0)
	return root, true
}

// take returns the groups kept and starts afresh.
func (h *keptHeap) take() []Group {
	out := *h
	*h = nil
	return out
}
