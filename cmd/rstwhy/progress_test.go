package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestProgressLine: the line counts files, bytes, packets and resets,
// and the rate and time left follow from the bytes read.
func TestProgressLine(t *testing.T) {
	p := newProgress(&bytes.Buffer{}, []scanTask{{}, {}, {}, {}})
	p.total = 400e6
	p.fileDone(100e6, 250000, 7)
	p.bytes.Store(200e6) // a second file half read
	got := p.line(2 * time.Second)
	want := "1/4 files  200.0 MB/400.0 MB  250000 packets  7 resets  100.0 MB/s  2s left"
	if got != want {
		t.Errorf("line\n got %q\nwant %q", got, want)
	}
	if strings.Contains(p.line(0), "left") {
		t.Errorf("a rate at 0 s: %q", p.line(0))
	}
}

// TestProgressSilent: not on a terminal (a buffer here), scan writes no
// progress: stderr has only diagnostics.
func TestProgressSilent(t *testing.T) {
	_, errs, code := rstwhy(t, nil, "scan", "--summary", "none", sample)
	if code != exitOK || errs != "" {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
