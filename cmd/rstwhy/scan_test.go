package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/rstwhy/rstwhy/report"
	"github.com/rstwhy/rstwhy/scan"
)

// archive lays out a tree as a capture archive looks: captures in nested
// folders, plain, gzip and zstd, a README, a capture cut short, and a
// folder of notes. It returns the root and the captures' paths in the
// order a scan takes them (lexical, folder by folder).
func archive(tb testing.TB) (root string, captures []string) {
	tb.Helper()
	root = tb.TempDir()
	lab, _ := filepath.Glob(filepath.Join(pcaps, "*-eth-*.pcap"))
	if len(lab) < 12 {
		tb.Skip("not enough lab captures")
	}
	write := func(rel string, data []byte) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		w := gzip.NewWriter(&buf)
		w.Write(b)
		w.Close()
		return buf.Bytes()
	}
	zs := func(b []byte) []byte {
		w, _ := zstd.NewWriter(nil)
		return w.EncodeAll(b, nil)
	}
	for i, f := range lab[:12] {
		data := readTB(tb, f)
		base := filepath.Base(f)
		switch i % 3 {
		case 0:
			write(filepath.Join("host-a", "2026", base), data)
		case 1:
			write(filepath.Join("host-a", "2026", "11", base+".gz"), gz(data))
		case 2:
			write(filepath.Join("host-b", base+".zst"), zs(data))
		}
	}
	write("README.txt", []byte("captures of the lab\n"))
	write("host-b/notes/todo.md", []byte("# nothing\n"))
	cut := readTB(tb, lab[12%len(lab)])
	write("host-b/cut.pcap", cut[:len(cut)*2/3])
	err := scan.Walker{}.Walk([]string{root}, func(f scan.File) error {
		if !strings.HasSuffix(f.Path, ".txt") && !strings.HasSuffix(f.Path, ".md") {
			captures = append(captures, f.Path)
		}
		return nil
	}, func(p scan.Problem) { tb.Fatal(p) })
	if err != nil {
		tb.Fatal(err)
	}
	return root, captures
}

// TestScanTree: a tree of nested, compressed, non-capture and damaged
// files gives the records analyze gives for its captures, in the walk's
// order, whatever -j; the files that are not captures are counted, not
// failed.
func TestScanTree(t *testing.T) {
	root, captures := archive(t)
	want, _, _ := rstwhy(t, nil, append([]string{"analyze", "-f", "jsonl", "-j", "1"}, captures...)...)
	if strings.Count(want, "\n") < 10 {
		t.Fatalf("only %d records from the lab captures", strings.Count(want, "\n"))
	}
	for _, jobs := range []string{"1", "2", "4"} {
		t.Run("j"+jobs, func(t *testing.T) {
			sumFile := filepath.Join(t.TempDir(), "summary.json")
			out, errs, code := rstwhy(t, nil, "scan", "-j", jobs, "--summary", "json", "--summary-out", sumFile, root)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			if diff := cmp.Diff(want, out); diff != "" {
				t.Errorf("records differ from analyze's (-want +got):\n%s", diff)
			}
			var sum scan.Summary
			if err := json.Unmarshal(readTB(t, sumFile), &sum); err != nil {
				t.Fatal(err)
			}
			f := sum.Files
			if f.Found != int64(len(captures)+2) || f.Scanned != f.Found || f.NotCaptures != 2 || f.Damaged != 1 || f.Failed != 0 {
				t.Errorf("files %+v; want %d found and scanned, 2 not captures, 1 damaged", f, len(captures)+2)
			}
			if sum.Resets != int64(strings.Count(want, "\n")) {
				t.Errorf("summary counts %d resets, the records are %d", sum.Resets, strings.Count(want, "\n"))
			}
			if len(sum.Damaged) != 1 || !strings.HasSuffix(sum.Damaged[0].File, "cut.pcap") {
				t.Errorf("damaged %+v", sum.Damaged)
			}
			if !strings.Contains(errs, "cut.pcap: damaged capture at frame") || !strings.Contains(errs, "2 files are not captures") {
				t.Errorf("stderr does not name the damage and the files skipped:\n%s", errs)
			}
		})
	}
}

// TestScanSelect: --include, --exclude and --files-from pick the files
// a scan reads.
func TestScanSelect(t *testing.T) {
	root, captures := archive(t)
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		want  int64 // files scanned
		why   string
	}{
		{"all", []string{root}, "", int64(len(captures) + 2), "every regular file"},
		{"include gz", []string{"--include", "*.gz", root}, "", 4, "a third of the captures are gzipped"},
		{"include two", []string{"--include", "*.gz", "--include", "*.zst", root}, "", 8, "globs add up"},
		{"exclude folder", []string{"--exclude", "host-a", root}, "", 4 + 1 + 1 + 1, "host-b: 4 zstd, the cut capture, the notes; the README"},
		{"exclude by path", []string{"--exclude", "host-a/2026/11", root}, "", int64(len(captures)+2) - 4, "a glob with a slash matches the path below the root"},
		{"files-from", []string{"--files-from", "-"}, captures[0] + "\n\n" + filepath.Join(root, "host-b") + "\n", 1 + 6, "a file and a folder, a blank line skipped"},
		{"duplicates", []string{captures[0], captures[0], filepath.Dir(captures[0])}, "", 4, "a path met twice is read once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sumFile := filepath.Join(t.TempDir(), "s.json")
			_, errs, code := rstwhy(t, []byte(tc.stdin), append([]string{"scan", "--summary", "json", "--summary-out", sumFile}, tc.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, errs)
			}
			var sum scan.Summary
			if err := json.Unmarshal(readTB(t, sumFile), &sum); err != nil {
				t.Fatal(err)
			}
			if sum.Files.Scanned != tc.want {
				t.Errorf("%d files scanned, want %d: %s", sum.Files.Scanned, tc.want, tc.why)
			}
		})
	}
}

// TestScanUsage: scan's own usage errors are exit 2 with one line.
func TestScanUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing", []string{"scan"}, "rstwhy: scan needs at least one file or folder"},
		{"stdin", []string{"scan", "-"}, "rstwhy: scan reads files and folders, not standard input"},
		{"bad glob", []string{"scan", "--include", "[", "x"}, `rstwhy: glob "["`},
		{"bad shard", []string{"scan", "--shard", "4/3", "x"}, `rstwhy: --shard "4/3"`},
		{"shard zero", []string{"scan", "--shard", "0/3", "x"}, `rstwhy: --shard "0/3"`},
		{"bad format", []string{"scan", "-f", "csv", "x"}, `rstwhy: --format "csv"`},
		{"parquet to stdout", []string{"scan", "-f", "parquet", "x"}, "rstwhy: --format parquet writes a folder"},
		{"parquet with state", []string{"scan", "-f", "parquet", "-o", "d", "--state", "s", "x"}, "rstwhy: --format parquet replaces the shard's files"},
		{"unknown flag", []string{"scan", "x", "--bogus"}, "rstwhy: unknown flag --bogus (see rstwhy help scan)"},
		{"jobs", []string{"scan", "-j", "0", "x"}, "rstwhy: -j 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errs, code := rstwhy(t, nil, tc.args...)
			if code != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, one line starting %q", code, out, errs, tc.want)
			}
		})
	}
}

// TestScanMissing: a path that does not exist is named on stderr and
// makes the exit status 1; the rest is scanned.
func TestScanMissing(t *testing.T) {
	out, errs, code := rstwhy(t, nil, "scan", "--summary", "none", sample, "no/such/folder")
	if code != exitUnreadable || !strings.Contains(errs, "no/such/folder: no such file or directory") || strings.Count(out, "\n") != 1 {
		t.Errorf("exit %d, %d records, stderr %q", code, strings.Count(out, "\n"), errs)
	}
}

// lines are a jsonl output's records, sorted: the records of several
// runs together, whatever the order the runs wrote them in.
func lines(s string) []string {
	l := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		l = nil
	}
	slices.Sort(l)
	return l
}

// TestScanShards: shards 1/3, 2/3 and 3/3 together are the unsharded
// scan exactly, no record twice and none missing; --shard auto reads a
// Slurm array's variables.
func TestScanShards(t *testing.T) {
	root, _ := archive(t)
	whole, errs, code := rstwhy(t, nil, "scan", "-j", "1", "--summary", "none", root)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var got []string
	var files int64
	for k := 1; k <= 3; k++ {
		sumFile := filepath.Join(t.TempDir(), "s.json")
		out, errs, code := rstwhy(t, nil, "scan", "--shard", fmt.Sprintf("%d/3", k), "--summary", "json", "--summary-out", sumFile, root)
		if code != exitOK {
			t.Fatalf("shard %d: exit %d: %s", k, code, errs)
		}
		var sum scan.Summary
		if err := json.Unmarshal(readTB(t, sumFile), &sum); err != nil {
			t.Fatal(err)
		}
		if sum.Files.Scanned+sum.Files.OtherShards != sum.Files.Found || sum.Files.Scanned == sum.Files.Found {
			t.Errorf("shard %d: files %+v: want some files, not all", k, sum.Files)
		}
		files += sum.Files.Scanned
		got = append(got, lines(out)...)
	}
	slices.Sort(got)
	if diff := cmp.Diff(lines(whole), got); diff != "" {
		t.Errorf("the shards' records are not the whole scan's (-whole +shards):\n%s", diff)
	}
	if files == 0 || len(got) == 0 {
		t.Fatalf("nothing scanned")
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "11")
	t.Setenv("SLURM_ARRAY_TASK_MIN", "10")
	t.Setenv("SLURM_ARRAY_TASK_COUNT", "3")
	auto, _, _ := rstwhy(t, nil, "scan", "--shard", "auto", "--summary", "none", root)
	two, _, _ := rstwhy(t, nil, "scan", "--shard", "2/3", "--summary", "none", root)
	if auto != two || auto == "" {
		t.Errorf("--shard auto with SLURM_ARRAY_TASK_ID 11 of 10..12 is not --shard 2/3:\n%s\n%s", auto, two)
	}
}

// splitCapture writes a pcap's frames up to and including frame at to
// one file and the rest to another, as a rotation cuts a capture.
func splitCapture(tb testing.TB, src, first, second string, at int) {
	tb.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(readTB(tb, src)))
	if err != nil {
		tb.Fatal(err)
	}
	var bufs [2]bytes.Buffer
	var ws [2]*pcapgo.Writer
	for i := range ws {
		ws[i] = pcapgo.NewWriterNanos(&bufs[i])
		ws[i].WriteFileHeader(65535, r.LinkType())
	}
	for n := 1; ; n++ {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		ws[min(1, (n-1)/at)].WritePacket(ci, data)
	}
	os.WriteFile(first, bufs[0].Bytes(), 0o644)
	os.WriteFile(second, bufs[1].Bytes(), 0o644)
}

// TestScanJoinRotated: a connection split across two rotated files gets
// with --join-rotated the cause it has in the whole capture, at the
// frame of its own file; alone, its second file does not show enough of
// it. The files are ordered by their first packet's time, not by name.
func TestScanJoinRotated(t *testing.T) {
	src := filepath.Join(pcaps, "accept_queue_close-idle-v4-eth-client.pcap")
	whole := records(t, func() string { o, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", src); return o }())
	const at = 12 // the handshake and the client's wait in the first file; the RST in the second
	if len(whole) != 1 || whole[0].Frame <= at {
		t.Fatalf("%s: %+v", src, whole)
	}
	dir := t.TempDir()
	// The second half's name sorts first.
	early, late := filepath.Join(dir, "eth0-20261125-0600.pcap"), filepath.Join(dir, "eth0-20261125-0555.pcap")
	splitCapture(t, src, early, late, at)
	alone := records(t, func() string { o, _, _ := rstwhy(t, nil, "scan", "--summary", "none", dir); return o }())
	out, errs, code := rstwhy(t, nil, "scan", "--summary", "none", "--join-rotated", dir)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	joined := records(t, out)
	want := record{Capture: late, Frame: whole[0].Frame - at, Cause: whole[0].Cause, Resetter: whole[0].Resetter}
	if len(joined) != 1 || joined[0] != want {
		t.Errorf("joined: %+v, want %+v", joined, want)
	}
	if len(alone) != 1 || alone[0].Cause == want.Cause {
		t.Errorf("alone: %+v: the second file alone was to miss the cause, or nothing is tested", alone)
	}
}

// TestScanJoinJobs: with --join-rotated too, the records do not depend
// on -j, and shards still add up to the whole.
func TestScanJoinJobs(t *testing.T) {
	root, _ := archive(t)
	one, errs, code := rstwhy(t, nil, "scan", "--join-rotated", "-j", "1", "--summary", "none", root)
	if code != exitOK || one == "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if four, _, _ := rstwhy(t, nil, "scan", "--join-rotated", "-j", "4", "--summary", "none", root); four != one {
		t.Errorf("-j 4 differs from -j 1:\n%s", cmp.Diff(one, four))
	}
	var shards []string
	for k := 1; k <= 3; k++ {
		out, _, _ := rstwhy(t, nil, "scan", "--join-rotated", "--shard", fmt.Sprintf("%d/3", k), "--summary", "none", root)
		shards = append(shards, lines(out)...)
	}
	slices.Sort(shards)
	if diff := cmp.Diff(lines(one), shards); diff != "" {
		t.Errorf("shards differ from the whole (-whole +shards):\n%s", diff)
	}
}

// TestSequencerBudget: with a budget, the records waiting over all later
// files stay within it (scan's small files finishing far ahead of a large
// one), and all come out in order once the first file is done.
func TestSequencerBudget(t *testing.T) {
	var out bytes.Buffer
	w, _ := report.NewWriter("jsonl", &out, report.Options{})
	const files, each, budget = 5, 300, 500
	seq := newSequencer(files, w, bufio.NewWriter(&out), false, func(error) {})
	seq.budget = budget
	var order []int
	seq.onDone = func(i int) { order = append(order, i) }
	var wg sync.WaitGroup
	for f := 1; f < files; f++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				seq.add(f, report.Record{Frame: int64(f*each + k), Evidence: []string{}})
			}
			seq.done(f)
		}()
	}
	for {
		seq.mu.Lock()
		waiting, blocked := seq.waiting, seq.waiting >= budget
		seq.mu.Unlock()
		if waiting > budget {
			t.Fatalf("%d records waiting, over the budget of %d", waiting, budget)
		}
		if blocked {
			break
		}
		time.Sleep(time.Millisecond)
	}
	seq.done(0)
	wg.Wait()
	seq.out.Flush()
	recs := records(t, out.String())
	if len(recs) != (files-1)*each {
		t.Fatalf("%d records, want %d", len(recs), (files-1)*each)
	}
	for i, r := range recs {
		if r.Frame != int64(each+i) {
			t.Fatalf("record %d is frame %d: out of order", i, r.Frame)
		}
	}
	if !slices.Equal(order, []int{0, 1, 2, 3, 4}) {
		t.Errorf("onDone order %v", order)
	}
}
