// Package track follows TCP connections packet by packet and takes, at
// every RST, an immutable snapshot of the connection as it stood (a
// Reset), which it hands on once what followed the RST is in. It is the
// third stage of rstwhy's pipeline: heuristics judge its Resets.
//
// Start with Tracker: Add (or AddAt, for trackers sharing one capture
// clock) each decoded segment; Emit receives every reset, in frame order,
// once its connection has been quiet for Quiet (MaxDelay at the latest),
// and Flush judges what is left at the end. Conn and Side are the state
// kept per connection and per endpoint: sequence space, ACKs, scaled
// windows, FIN/RST, retransmission, zero-window and keepalive runs, TTL
// and IP ID, and a ring of the last RingSize packets. An Observer sees
// every segment and every dropped connection by ConnID, for later stages
// that keep state of their own per connection.
//
// Memory is bounded by the connections open at once, never by the length
// of the capture or the number of resets: ended connections leave after
// Linger, idle ones after Idle, MaxConns evicts the oldest idle one, and
// each packet costs O(1) however many resets its connection drew. The
// connections live outside the Go heap (internal/offheap) and hold no Go
// pointers; what they refer to on the heap is kept by ID.
//
// Not a goal: judging. The tracker measures; package heuristics decides.
package track
