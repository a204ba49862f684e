package correlate

// State sizes for the bounded-memory tests: groups open, frames remembered
// for follow-ups, and the queue holding those frames.
func (c *Correlator) Sizes() (open, frames, queue int) {
	return c.open, len(c.frames.m), cap(c.frames.queue)
}
