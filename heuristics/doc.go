// Package heuristics labels each TCP RST with its likely cause.
//
// Explain takes an track.Reset (the connection as it stood just before
// the RST, and what followed until it went quiet) and returns a Verdict:
// a stable cause ID, a confidence, the Linux sk_rst_reason the evidence
// points to, sentences of evidence that cite frames, and the raw signals.
// ExplainApp adds what the application was doing (package appctx) as one
// last sentence, without changing the verdict.
//
// One rule per file. Each rule names the wire signature it looks for and
// the kernel code path that produces it; rules read track.Reset and
// never raw packets, and do no I/O. The rule with the highest confidence
// wins; ties go to the rule listed first in rules(). Only the winner
// formats its evidence (see Rule.Match).
//
// Not a goal: guessing past "unknown" without evidence. A confident wrong
// answer costs an incident more time than an honest "unknown".
package heuristics
