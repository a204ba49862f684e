package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rstwhy/rstwhy/scan"
)

// TestMain lets a test run the command as a process of its own (the
// test binary, re-run with RSTWHY_TEST_MAIN set), to kill it.
func TestMain(m *testing.M) {
	if os.Getenv("RSTWHY_TEST_MAIN") != "" {
		if os.Getenv("RSTWHY_TEST_STATE_EVERY") != "" {
			stateEvery = 0 // saved after every file: a kill finds a state
		}
		os.Args = append([]string{"rstwhy"}, strings.Fields(os.Getenv("RSTWHY_TEST_MAIN"))...)
		main()
	}
	os.Exit(m.Run())
}

// scanSummary runs a scan whose summary goes to a file, and reads it.
func scanSummary(t *testing.T, args ...string) (records string, sum scan.Summary) {
	t.Helper()
	sumFile := filepath.Join(t.TempDir(), "summary.json")
	out, errs, code := rstwhy(t, nil, append([]string{"scan", "--summary", "json", "--summary-out", sumFile}, args...)...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if err := json.Unmarshal(readTB(t, sumFile), &sum); err != nil {
		t.Fatal(err)
	}
	return out, sum
}

// TestScanState: with --state a rescan reads nothing when nothing
// changed, and exactly a file added, or one replaced; the records of
// the scans together are those of one scan of the final archive.
func TestScanState(t *testing.T) {
	root, captures := archive(t)
	state := filepath.Join(t.TempDir(), "scan.state")
	// The archive without one capture first.
	extra := captures[3]
	data := readTB(t, extra)
	os.Remove(extra)
	first, sum := scanSummary(t, "--state", state, root)
	if sum.Files.Scanned != int64(len(captures)+1) || first == "" {
		t.Fatalf("first scan: %+v", sum.Files)
	}
	again, sum := scanSummary(t, "--state", state, root)
	if again != "" || sum.Files.Scanned != 0 || sum.Files.Unchanged != int64(len(captures)+1) {
		t.Errorf("rescan of an unchanged archive read %d files (%d unchanged) and wrote %d records; want none",
			sum.Files.Scanned, sum.Files.Unchanged, strings.Count(again, "\n"))
	}
	if err := os.WriteFile(extra, data, 0o644); err != nil {
		t.Fatal(err)
	}
	added, sum := scanSummary(t, "--state", state, root)
	only, _, _ := rstwhy(t, nil, "scan", "--summary", "none", extra)
	if sum.Files.Scanned != 1 || added != only || added == "" {
		t.Errorf("after adding a file the rescan read %d files; records:\n%s\nwant that file's:\n%s", sum.Files.Scanned, added, only)
	}
	// Touched, same bytes: the digests say unchanged, and the next
	// rescan trusts the new time.
	later := time.Now().Add(time.Hour)
	os.Chtimes(captures[0], later, later)
	touched, sum := scanSummary(t, "--state", state, root)
	if touched != "" || sum.Files.Scanned != 0 {
		t.Errorf("a touched file was read again: %+v", sum.Files)
	}
	whole, _, _ := rstwhy(t, nil, "scan", "--summary", "none", root)
	if diff := cmp.Diff(lines(whole), lines(first+added)); diff != "" {
		t.Errorf("the incremental scans' records are not one scan's (-one +incremental):\n%s", diff)
	}
	// Replaced by another capture of the same size or not: read again,
	// all its records written.
	if err := os.WriteFile(captures[1], readTB(t, captures[2]), 0o644); err != nil {
		t.Fatal(err)
	}
	replaced, sum := scanSummary(t, "--state", state, root)
	if sum.Files.Scanned != 1 || strings.Count(replaced, "\n") == 0 {
		t.Errorf("a replaced file: %d files read, %d records", sum.Files.Scanned, strings.Count(replaced, "\n"))
	}
}

// pcapRecords splits a pcap file into its header and its records.
func pcapRecords(tb testing.TB, data []byte) (head []byte, recs [][]byte) {
	tb.Helper()
	if binary.LittleEndian.Uint32(data) != 0xa1b23c4d && binary.LittleEndian.Uint32(data) != 0xa1b2c3d4 {
		tb.Fatal("not a little-endian pcap")
	}
	head, data = data[:24], data[24:]
	for len(data) >= 16 {
		n := 16 + int(binary.LittleEndian.Uint32(data[8:]))
		recs, data = append(recs, data[:n]), data[n:]
	}
	return head, recs
}

// TestScanGrown: a capture still being written is read again when it
// has grown, and only the records of frames after the last one written
// are written: none twice.
func TestScanGrown(t *testing.T) {
	data := manyCaptures(t, 1)
	head, recs := pcapRecords(t, data)
	dir := t.TempDir()
	path := filepath.Join(dir, "live.pcap")
	half := slices.Concat(append([][]byte{head}, recs[:len(recs)/2]...)...)
	if err := os.WriteFile(path, half, 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "scan.state")
	first, _ := scanSummary(t, "--state", state, dir)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	second, sum := scanSummary(t, "--state", state, dir)
	if sum.Files.Grown != 1 {
		t.Errorf("files %+v: want one grown", sum.Files)
	}
	whole, _, _ := rstwhy(t, nil, "scan", "--summary", "none", path)
	firstRecs, wholeRecs := records(t, first), records(t, whole)
	if len(firstRecs) == 0 || len(firstRecs) == len(wholeRecs) {
		t.Fatalf("%d of %d records in the first half: nothing tested", len(firstRecs), len(wholeRecs))
	}
	last := firstRecs[len(firstRecs)-1].Frame
	var want []string
	for i, line := range strings.SplitAfter(whole, "\n") {
		if i < len(wholeRecs) && wholeRecs[i].Frame > last {
			want = append(want, line)
		}
	}
	if diff := cmp.Diff(strings.Join(want, ""), second); diff != "" {
		t.Errorf("the grown file's new records (after frame %d) (-want +got):\n%s", last, diff)
	}
	third, sum := scanSummary(t, "--state", state, dir)
	if third != "" || sum.Files.Unchanged != 1 {
		t.Errorf("third scan read %+v and wrote %q", sum.Files, third)
	}
}

// TestScanResume: a scan interrupted (Ctrl-C) once its first records
// are out stops starting files, finishes the ones it reads, and saves
// the state; the next scan reads the rest. Together they wrote what one
// scan writes, none twice.
func TestScanResume(t *testing.T) {
	root, _ := archive(t)
	whole, _, _ := rstwhy(t, nil, "scan", "-j", "1", "--summary", "none", root)
	state := filepath.Join(t.TempDir(), "scan.state")
	ctx, interrupt := context.WithCancel(context.Background())
	out := &interruptingWriter{interrupt: interrupt}
	var errb syncBuffer
	code := run(ctx, []string{"rstwhy", "scan", "-j", "1", "--summary", "none", "--state", state, root}, nil, out, &errb)
	if code != exitInterrupted || !strings.Contains(errb.String(), "rstwhy: interrupted: ") {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	cut := out.String()
	if cut == "" || cut == whole {
		t.Fatalf("the interrupted scan wrote %d of %d records: nothing tested", strings.Count(cut, "\n"), strings.Count(whole, "\n"))
	}
	rest, _, code := rstwhy(t, nil, "scan", "-j", "1", "--summary", "none", "--state", state, root)
	if code != exitOK {
		t.Fatalf("resumed: exit %d", code)
	}
	if diff := cmp.Diff(whole, cut+rest); diff != "" {
		t.Errorf("interrupted and resumed is not one scan (-one +resumed):\n%s", diff)
	}
}

// TestScanKilled: a scan killed (SIGKILL) anywhere, its records going
// to a file, then run again, leaves in that file exactly what one scan
// writes: what the killed scan wrote past its last saved state is cut
// off and written again.
func TestScanKilled(t *testing.T) {
	root, captures := archive(t)
	// More files, so that the kill most likely comes midway; whenever it
	// comes, the outcome must be the same.
	for i := range 15 {
		for j, c := range captures {
			dst := filepath.Join(root, fmt.Sprintf("copy-%02d", i), fmt.Sprintf("%02d-%s", j, filepath.Base(c)))
			os.MkdirAll(filepath.Dir(dst), 0o755)
			os.WriteFile(dst, readTB(t, c), 0o644)
		}
	}
	whole, _, _ := rstwhy(t, nil, "scan", "-j", "1", "--summary", "none", root)
	dir := t.TempDir()
	state, output := filepath.Join(dir, "scan.state"), filepath.Join(dir, "resets.jsonl")
	args := fmt.Sprintf("scan -j 1 --summary none --state %s -o %s %s", state, output, root)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "RSTWHY_TEST_MAIN="+args, "RSTWHY_TEST_STATE_EVERY=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Killed once a state is saved and a little more written.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(state); err == nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGKILL)
	err := <-exited
	killed := readTB(t, output)
	t.Logf("killed (%v) with %d of %d records written", err, strings.Count(string(killed), "\n"), strings.Count(whole, "\n"))
	// A half-written line past the state, as a kill mid-write leaves.
	f, _ := os.OpenFile(output, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(`{"capture":"half`)
	f.Close()
	_, errs, code := rstwhy(t, nil, strings.Fields(args)...)
	if code != exitOK {
		t.Fatalf("resumed: exit %d: %s", code, errs)
	}
	if diff := cmp.Diff(whole, string(readTB(t, output))); diff != "" {
		t.Errorf("killed and resumed is not one scan (-one +resumed):\n%s", diff)
	}
}

// TestScanLocked: a second scan of the same state is refused while the
// first holds it.
func TestScanLocked(t *testing.T) {
	state := filepath.Join(t.TempDir(), "scan.state")
	unlock, err := scan.Lock(state)
	if err != nil {
		t.Fatal(err)
	}
	_, errs, code := rstwhy(t, nil, "scan", "--state", state, sample)
	unlock()
	if code != exitUsage || !strings.Contains(errs, "another rstwhy scan is using this state file") {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
	if _, _, code := rstwhy(t, nil, "scan", "--summary", "none", "--state", state, sample); code != exitOK {
		t.Errorf("after the lock was let go: exit %d", code)
	}
}
