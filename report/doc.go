// Package report turns verdicts into what users read: records with a
// stable JSON schema, streamed JSON lines, one JSON document, a terminal
// table with a summary by cause, a Markdown report for tickets, each
// reset's ladder drawn as text, and one self-contained HTML page
// (html.go, html.tmpl: an overview, each group's ladder as SVG, a
// sortable table) drawn from a Digest.
//
// Start at NewRecord, which joins a reset (track) and its verdict
// (heuristics) into a Record, and at Writer, which every format
// implements. Parquet files, by date, are package report/parquet's.
// Digest groups alike resets for the reports; AppendExplain
// and AppendLadder draw one reset as text; NextSteps is the advice by
// cause every report shares. Not a goal: judging anything; this package
// only renders (Record.Key chooses which sentence to show first, never
// what it says).
package report
