// Package pipeline runs rstwhy's stages over one capture: it reads
// records (capture), decodes them (decode) on several workers, tracks each
// connection on the worker its flow hashes to (track), calls a judge on
// every reset there, and hands the judged results to emit in frame order.
//
// Start with Run or RunJudged; RunObserved gives each worker's tracker an
// observer of its own (application context, package appctx) beside its
// judge. Options.Workers spreads the work (one
// worker is the same pipeline with one worker: the output is the same,
// byte for byte, whatever the count); Options.Capture.Live is for a pipe or a
// terminal, where capture time follows the wall clock while nothing
// arrives. Cancelling the context stops reading; what was read is still
// judged and emitted.
//
// What needs every packet in frame order runs between decoding and
// tracking, once per chunk (the capture clock, the host TTL table the
// middlebox rule reads, and the connections each host opened as a client
// with how they failed, offered to a RST of that host as
// decode.Packet.Upstream for correlate.Cascade: upstream.go; each
// endpoint's latest SYN-ACKs, offered to its RSTs as decode.Packet.Accepting:
// listeners.go); see run.go for the data flow.
//
// Not a goal: judging or rendering. The judge is the caller's function
// (heuristics.Explain, then report.NewRecord, in the command), and so is
// everything across resets (package correlate).
package pipeline
