// Package correlate joins the judged resets of one capture into groups, so
// that a capture with thousands of resets reads as a handful of findings.
//
// It is the pipeline's stage after judging: heuristics see one connection at
// a time, a Correlator sees every reset of a capture, in frame order, with
// bounded memory. Start at Correlator.Add, which takes a Reset (this
// package's own input type: the pipeline fills it from a judged reset) and
// returns its Assignment, and at Group, the summary of a group that the
// Correlator gives when the group closes (Correlator.Emit, or
// Correlator.Flush at the end of the capture).
//
// Cascade is the other relation across connections: it links a proxy's
// reset of its own client to the failure of the upstream connection the
// proxy had opened for that client's request (caused_by in the records).
// It is a function of one reset, its connection and the candidate the
// pipeline's frame-ordered pass offers (decode.Packet.Upstream), so it
// keeps no state here.
//
// Not goals: judging a single reset (its cause comes in, already decided),
// reading packets, and joining resets across captures (one Correlator a
// capture).
//
// # Kinds of group
//
// Every reset lies in exactly one group; most groups have one reset and no
// kind. Three relations join resets of one resetter host:
//
//   - storm: one host resets several connections in a burst, each reset
//     within StormGap (10 ms) of the one before and all within StormSpan
//     (1 s) of the first; at least MinStorm (3) connections. A process that
//     exits closes its descriptors in a loop and the kernel sends each
//     reset microseconds after the last; a Windows client does the same to
//     all its connections at once. 10 ms leaves room for thousands of
//     connections and for scheduling and capture jitter. Three and not two:
//     a host that resets ten connections a second has a second reset within
//     10 ms of a given one about one time in ten by chance, a third about
//     one time in a hundred. A chain longer than 1 s is a steady rate, not
//     an event.
//   - repeat: the same cause from the same resetter host to the same server
//     port, each within RepeatGap (15 min) of the one before; at least
//     MinRepeat (3) connections. 15 minutes covers health checks, jobs
//     every minute and jobs every quarter of an hour; an hourly job gives
//     24 records a day, already readable. Three and not two: two
//     occurrences are one interval, a coincidence as easily as a rhythm.
//     The key is the resetter's address, not its port, because a client
//     resets from a new ephemeral port each time; the server port names the
//     service in both directions.
//   - scan: refusals (cause connection_refused, or any reset that answers a
//     SYN: Reset.AnswersSYN) from one host to one peer, each within ScanGap
//     (1 min) of the one before, on at least MinScanPorts (5) distinct
//     server ports. Ordinary clients use one or two ports of a host (a
//     service and its fallback, 80 and 443); five refused ports in a row is
//     probing. A minute between refusals covers nmap's slowest timing but
//     one (-T1 waits 15 s between probes, and open or filtered ports in
//     between answer nothing).
//
// A follow-up (a reset drawn by segments that arrive after the connection
// was reset, Reset.Followup) joins the group of its connection's first
// reset while that group is open and the first reset was seen within
// FollowupWindow (10 s, refreshed by each follow-up; the tracker lets go of
// a reset connection 2 s after its last packet). It counts in Group.Count
// and not in Group.Conns, and it does not extend a storm or a repeat.
//
// A reset that could join several open groups joins the first that fits
// of: a scan of its host and peer, a repeat of its key, a storm of its host.
// A group's first reset makes it a candidate for every relation its keys
// allow; each reset that joins drops the relations it breaks. A group's
// kind is the first of scan, storm, repeat whose relation still holds and
// whose minimum is met. A join never moves a group down the order none,
// storm, repeat, scan: such a reset looks for another group and otherwise starts its own. So a
// scan stays a scan; a burst that recurs later with the same key becomes a
// repeat (Group.Burst keeps the size of the largest burst); and a server
// that resets connections of one port for one cause all day long is one
// repeat, not thousands of small storms. A burst of a key that already has
// an open repeat group joins that repeat: a reset's group is decided when
// it arrives, and the repeat was there first.
//
// # Streaming
//
// A reset's group ID is final when Add returns: the first reset of a group
// gets a new ID (1, 2, 3, ... in the order groups start), every later one
// the ID of the group it joins. Records can therefore be written at once,
// carrying their group ID. What a group is (its kind, count, span) is known
// only when later resets have come or cannot come any more: Assignment.Kind
// is the group's kind as of that reset (the first reset of a storm says "",
// the third "storm"), and the final kind is in the group's summary. The
// alternative, holding each reset until its group is settled, would delay
// records by up to RepeatGap and hold all of them meanwhile.
//
// # Memory
//
// A group closes once no reset can join it any more: 15 minutes of capture
// time after its last reset while it can still become a repeat, otherwise 1
// minute (the longest of ScanGap, FollowupWindow and StormGap). At most
// MaxOpen (65536) groups are open at once; past it the group least
// recently joined closes early (Group.Evicted), and a reset that would have
// joined it starts a group of its own. MaxOpen also bounds the first-reset
// frames remembered for follow-ups. Closed groups go to Emit, every one,
// singletons included, in the order they close. With no Emit, Flush
// returns the closed groups of two or more resets, at most MaxKept (1024)
// of them, the largest kept; Stats counts the rest. Add does a constant
// amount of work apart from closing groups, each of which closes once.
//
// Time comes from the capture. Captures can step backwards (a clock step,
// merged files); the Correlator's clock then stands still: a reset earlier
// than the one before counts as simultaneous with it. Durations are never
// negative and nothing panics on any input.
package correlate
