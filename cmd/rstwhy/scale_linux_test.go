//go:build linux && !race

// The race detector multiplies the cost of every memory access by a
// factor of its own; work ratios mean something only without it.

package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/internal/storm"
)

// stormCapture writes a capture of n RSTs (package storm) to a file.
func stormCapture(tb testing.TB, n int, oneConn bool) string {
	tb.Helper()
	var buf bytes.Buffer
	if err := storm.Write(&buf, n, oneConn); err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(tb.TempDir(), "storm.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path
}

// processCPU is the CPU time the whole process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestResetsScaleLinearly: a capture of N resets, on one connection or
// on N flows, costs work in proportion to N in every format. Measured as
// the process's CPU time, the best of three runs, 8N against N: linear
// work gives about 8, quadratic 64; it fails past 24. (4N against N, with
// a limit of 10, failed on linear work on a loaded machine: 40k resets
// on distinct flows cost up to 9.4 times 10k, the larger table missing
// the cache more.) (40k resets on one connection took 21 s
// when every packet walked the connection's open resets; 37k as a table
// took 20.9 s when every row checked every record.)
func TestResetsScaleLinearly(t *testing.T) {
	const n, scale = 5000, 8
	for _, oneConn := range []bool{true, false} {
		small, large := stormCapture(t, n, oneConn), stormCapture(t, scale*n, oneConn)
		for _, format := range []string{"jsonl", "json", "table"} {
			name := format + map[bool]string{true: "/one-connection", false: "/distinct-flows"}[oneConn]
			t.Run(name, func(t *testing.T) {
				cost := func(path string) time.Duration {
					best := time.Duration(1 << 62)
					for range 3 {
						runtime.GC()
						t0 := processCPU(t)
						code := run(context.Background(), []string{"rstwhy", "analyze", "-f", format, "-j", "1", path}, nil, io.Discard, io.Discard)
						if code != exitOK {
							t.Fatalf("exit %d", code)
						}
						best = min(best, processCPU(t)-t0)
					}
					return max(best, time.Millisecond)
				}
				a, b := cost(small), cost(large)
				ratio := float64(b) / float64(a)
				t.Logf("%d resets: %v; %d: %v (%.1fx)", n, a, scale*n, b, ratio)
				if ratio > 3*scale {
					t.Errorf("%dx the resets took %.1fx the work, want about %d", scale, ratio, scale)
				}
			})
		}
	}
}
