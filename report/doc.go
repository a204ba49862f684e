// Package report turns verdicts into what users read: records with a
// stable JSON schema, streamed JSON lines, one JSON document, or a
// terminal table with a summary by cause.
//
// Start at NewRecord, which joins a reset (track) and its verdict
// (heuristics) into a Record, and at Writer, which every format
// implements. Parquet files, by date, are package report/parquet's.
// Not a goal: judging anything; this package only renders.
package report
