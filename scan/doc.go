// Package scan is what `rstwhy scan` knows of an archive of captures
// besides the captures themselves: which files to read (Walk: files,
// folders, include and exclude globs, lists of paths), which of them are
// this task's (Shard: a deterministic share by a hash of the path), what
// was read before (State: an incremental scan's record of each file),
// which files follow each other (Rotations: consecutive files of one
// capture point), and what the records add up to (Summary: resets by
// cause, hour, server, resetter, the top talkers, the files that failed).
//
// Start with Walk, then Shard.Has and State.Check on each File. The
// analysis itself is the pipeline's, run by the command: this package
// never reads a packet, except the first record's time that Rotations
// orders files by.
//
// Not a goal: rendering records (package report) or running captures in
// parallel (the command's sequencer).
package scan
