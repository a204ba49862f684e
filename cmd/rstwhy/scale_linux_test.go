//go:build linux && !race

// The race detector multiplies the cost of every memory access by a
// factor of its own; work ratios mean something only without it.

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// stormCapture writes a pcap of a handshake followed by n RSTs: on one
// connection when oneConn, else each on a flow of its own (a RST storm).
// Load for the scaling tests, not evidence of any verdict.
func stormCapture(tb testing.TB, n int, oneConn bool) string {
	tb.Helper()
	var buf bytes.Buffer
	le := binary.LittleEndian
	head := make([]byte, 24)
	le.PutUint32(head[0:], 0xa1b2c3d4)
	le.PutUint16(head[4:], 2)
	le.PutUint16(head[6:], 4)
	le.PutUint32(head[16:], 65535)
	le.PutUint32(head[20:], 1) // Ethernet
	buf.Write(head)
	frame := func(ts int64, src, dst uint32, sport, dport uint16, flags byte, seq, ack uint32) {
		f := make([]byte, 54)
		binary.BigEndian.PutUint16(f[12:], 0x0800)
		ip := f[14:]
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		binary.BigEndian.PutUint16(ip[2:], 40)
		binary.BigEndian.PutUint32(ip[12:], src)
		binary.BigEndian.PutUint32(ip[16:], dst)
		tcp := ip[20:]
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], seq)
		binary.BigEndian.PutUint32(tcp[8:], ack)
		tcp[12], tcp[13] = 5<<4, flags
		binary.BigEndian.PutUint16(tcp[14:], 1000)
		rec := make([]byte, 16)
		le.PutUint32(rec[0:], uint32(ts/1e9))
		le.PutUint32(rec[4:], uint32(ts%1e9/1e3))
		le.PutUint32(rec[8:], uint32(len(f)))
		le.PutUint32(rec[12:], uint32(len(f)))
		buf.Write(rec)
		buf.Write(f)
	}
	const syn, rst, ack = 0x02, 0x04, 0x10
	cl, sv := uint32(0x0a000002), uint32(0x0a000001)
	t0 := int64(1_700_000_000e9)
	if oneConn {
		frame(t0, cl, sv, 40000, 80, syn, 100, 0)
		frame(t0, sv, cl, 80, 40000, syn|ack, 500, 101)
		frame(t0, cl, sv, 40000, 80, ack, 101, 501)
	}
	for i := range n {
		ts := t0 + int64(i)*int64(time.Microsecond)
		if oneConn {
			frame(ts, sv, cl, 80, 40000, rst|ack, 501, 101)
			continue
		}
		frame(ts, sv, cl+uint32(i>>14), 80, uint16(1024+i&0x3fff), rst|ack, 501, 101)
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
// the process's CPU time, the best of two runs, 4N against N: linear
// work gives about 4, quadratic 16. (40k resets on one connection took 21 s
// when every packet walked the connection's open resets; 37k as a table
// took 20.9 s when every row checked every record.)
func TestResetsScaleLinearly(t *testing.T) {
	const n = 10000
	for _, oneConn := range []bool{true, false} {
		small, large := stormCapture(t, n, oneConn), stormCapture(t, 4*n, oneConn)
		for _, format := range []string{"jsonl", "json", "table"} {
			name := format + map[bool]string{true: "/one-connection", false: "/distinct-flows"}[oneConn]
			t.Run(name, func(t *testing.T) {
				cost := func(path string) time.Duration {
					best := time.Duration(1 << 62)
					for range 2 {
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
				t.Logf("%d resets: %v; %d: %v (%.1fx)", n, a, 4*n, b, ratio)
				if ratio > 8 {
					t.Errorf("4x the resets took %.1fx the work, want about 4", ratio)
				}
			})
		}
	}
}
