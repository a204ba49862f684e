// Package capture reads packet capture files: pcap (micro- and
// nanosecond, either byte order) and pcapng (several sections,
// interfaces and link types in one file), gzip- or zstd-compressed,
// recognised by their magic bytes. It is the first stage of rstwhy's
// pipeline: capture -> decode -> track -> heuristics -> correlate ->
// report.
//
// Start with NewReader (a file or any stream), or Config.Open for limits
// (the zstd window, a memory budget shared by the readers of a process) and
// for live input (a pipe or a terminal: the reader wakes every tick even
// when nothing arrives); then call Next until io.EOF, and Close. Each Raw record carries its frame number as
// Wireshark counts (every record, from 1), its link type and its bytes;
// Offset says where in the decompressed stream the next record starts.
//
// Damage is an error, never a panic: a record or block cut short, or one
// whose lengths disagree, ends reading with a *DamageError that names the
// frame and byte offset, after every record before it was returned. Input
// that is not a capture at all gives an error wrapping ErrNotCapture that
// says what it looks like instead.
//
// For the pipeline's zero-copy hand-off, SetFresh makes the reader read
// into blocks the caller owns, TakeBuffered takes every whole plain record
// already buffered in one call, and Detach moves on to a fresh block.
//
// Not a goal: link layers. The reader knows file formats; which link
// types are worth returning is the decoder's to say (Keep).
package capture
