package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/rstwhy/rstwhy/report"
	"github.com/rstwhy/rstwhy/report/parquet"
)

// openOutput returns the writer of the records in format: on stdout, or
// into the file output names, or for parquet into the directory output
// names (one process: shard 1 of 1). out is what the records' writer
// writes to, flushed as records come; closeOutput closes the file, once
// (the deferred call after the first does nothing). A file or directory
// that cannot be made is a write error: exit status 3.
func openOutput(format, output string, stdout *stdoutWriter, opt report.Options) (w report.Writer, out *bufio.Writer, closeOutput func() error, err error) {
	none := func() error { return nil }
	if format != "parquet" {
		// The report package knows its formats: ask it before any
		// file is made.
		if _, err := report.NewWriter(format, io.Discard, opt); err != nil {
			return nil, nil, nil, fmt.Errorf("%v; or parquet, into the directory -o names", err)
		}
	}
	if format == "parquet" {
		pw, err := parquet.Create(output, 1, 1)
		if err != nil {
			return nil, nil, nil, &writeError{err}
		}
		// Nothing goes to stdout: out stays empty.
		return parquetWriter{pw}, bufio.NewWriter(stdout), none, nil
	}
	if output == "" {
		out = bufio.NewWriter(stdout)
		w, err := report.NewWriter(format, out, opt)
		return w, out, none, err
	}
	f, err := os.Create(output)
	if err != nil {
		return nil, nil, nil, &writeError{err}
	}
	out = bufio.NewWriter(&stdoutWriter{w: f})
	w, _ = report.NewWriter(format, out, opt)
	closed := false
	closeOutput = func() error {
		if closed {
			return nil
		}
		closed = true
		if err := f.Close(); err != nil {
			return &writeError{err}
		}
		return nil
	}
	return w, out, closeOutput, nil
}

// parquetWriter is a report.Writer for package parquet. Its every error is
// the output's, and stops the run as a failed write to stdout does.
type parquetWriter struct{ w *parquet.Writer }

func (p parquetWriter) Record(r report.Record) error {
	if err := p.w.Record(r); err != nil {
		return &writeError{err}
	}
	return nil
}

// Close makes the files visible. The captures' summary has no place in
// the records' files.
func (p parquetWriter) Close([]report.Capture) error {
	if err := p.w.Close(); err != nil {
		return &writeError{err}
	}
	return nil
}
