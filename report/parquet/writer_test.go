package parquet

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"

	"github.com/rstwhy/rstwhy/report"
)

var day0 = time.Date(2024, 5, 1, 23, 59, 0, 0, time.UTC)

// rec is a record of day day0+day, frame frame.
func rec(day, frame int) report.Record {
	t := day0.AddDate(0, 0, day).Add(time.Duration(frame) * time.Millisecond)
	return report.Record{Capture: "x.pcap", Frame: int64(frame), Time: t.Format(report.TimeFormat),
		Cause: "connection_refused", Evidence: []string{}}
}

// tree lists dir's files, relative, in order.
func tree(tb testing.TB, dir string) []string {
	tb.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			names = append(names, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// frames reads the frames of a file, and its row groups.
func frames(tb testing.TB, path string) (got []int64, groups int) {
	tb.Helper()
	rows, err := pq.ReadFile[row](path)
	if err != nil {
		tb.Fatal(err)
	}
	for _, r := range rows {
		got = append(got, r.Frame)
	}
	f, _ := os.Open(path)
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := pq.OpenFile(f, fi.Size())
	if err != nil {
		tb.Fatal(err)
	}
	return got, len(pf.RowGroups())
}

func write(tb testing.TB, w *Writer, recs ...report.Record) {
	tb.Helper()
	for _, r := range recs {
		if err := w.Record(r); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestDatesOpen: records of more dates than are open at once. The least
// recently written date is closed, and its records after that go to a
// second file of the partition; nothing is visible under a .parquet name
// before Close, nothing is lost, and row groups are cut at their size.
func TestDatesOpen(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	w.maxOpen, w.rowGroupRows = 2, 100
	// Day 0 keeps being written, so day 1 is the one closed by day 2.
	frame := 0
	next := func(day, n int) {
		for range n {
			frame++
			write(t, w, rec(day, frame))
		}
	}
	next(0, 250) // 1..250: three row groups
	next(1, 10)  // 251..260
	next(0, 1)   // 261
	next(2, 5)   // 262..266: closes day 1
	next(1, 3)   // 267..269: day 1 again, a second file; closes day 0
	next(0, 2)   // 270..271: day 0 again
	for _, name := range tree(t, dir) {
		if strings.HasSuffix(name, ".parquet") {
			t.Errorf("%s visible before Close", name)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"date=2024-05-01/part-2-of-3.2.parquet",
		"date=2024-05-01/part-2-of-3.parquet",
		"date=2024-05-02/part-2-of-3.2.parquet",
		"date=2024-05-02/part-2-of-3.parquet",
		"date=2024-05-03/part-2-of-3.parquet",
	}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Fatalf("files (-want +got):\n%s", diff)
	}
	seq := func(from, to int64) []int64 {
		var s []int64
		for i := from; i <= to; i++ {
			s = append(s, i)
		}
		return s
	}
	for _, c := range []struct {
		file   string
		frames []int64
		groups int
	}{
		{"date=2024-05-01/part-2-of-3.parquet", append(seq(1, 250), 261), 3},
		{"date=2024-05-02/part-2-of-3.parquet", seq(251, 260), 1},
		{"date=2024-05-03/part-2-of-3.parquet", seq(262, 266), 1},
		{"date=2024-05-02/part-2-of-3.2.parquet", seq(267, 269), 1},
		{"date=2024-05-01/part-2-of-3.2.parquet", seq(270, 271), 1},
	} {
		got, groups := frames(t, filepath.Join(dir, c.file))
		if diff := cmp.Diff(c.frames, got); diff != "" {
			t.Errorf("%s: frames (-want +got):\n%s", c.file, diff)
		}
		if groups != c.groups {
			t.Errorf("%s: %d row groups, want %d", c.file, groups, c.groups)
		}
	}
}

// TestRerun: a shard run again replaces its own files, those of dates it
// no longer has included, and leaves every other shard's and every other
// file alone.
func TestRerun(t *testing.T) {
	dir := t.TempDir()
	run := func(shard, shards int, recs ...report.Record) {
		w, err := Create(dir, shard, shards)
		if err != nil {
			t.Fatal(err)
		}
		w.maxOpen = 1 // day 0, day 1, day 0: two files for day 0
		write(t, w, recs...)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	run(1, 4, rec(0, 1), rec(1, 2), rec(0, 3))
	run(2, 4, rec(0, 1))
	others := []string{
		"date=2024-05-01/part-1-of-40.parquet", // shard 1 of 40, not of 4
		"date=2024-05-01/part-1-of-4.x.parquet",
		"date=2024-05-01/notes.txt",
	}
	for _, name := range others {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	// A crashed run left a temporary file.
	os.WriteFile(filepath.Join(dir, "date=2024-05-02", ".part-1-of-4.3.parquet.tmp"), nil, 0o666)
	run(1, 4, rec(1, 7))
	want := []string{
		"date=2024-05-01/notes.txt",
		"date=2024-05-01/part-1-of-4.x.parquet",
		"date=2024-05-01/part-1-of-40.parquet",
		"date=2024-05-01/part-2-of-4.parquet",
		"date=2024-05-02/part-1-of-4.parquet",
	}
	if diff := cmp.Diff(want, tree(t, dir)); diff != "" {
		t.Fatalf("files after the re-run (-want +got):\n%s", diff)
	}
	if got, _ := frames(t, filepath.Join(dir, "date=2024-05-02/part-1-of-4.parquet")); !slices.Equal(got, []int64{7}) {
		t.Errorf("the re-run's file has frames %v, want [7]", got)
	}
}

func TestCreateBad(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o666)
	for _, c := range []struct {
		name          string
		dir           string
		shard, shards int
		want          string
	}{
		{"shard 0", dir, 0, 1, "shard 0 of 1"},
		{"shard past N", dir, 3, 2, "shard 3 of 2"},
		{"no shards", dir, 1, 0, "shard 1 of 0"},
		{"dir is a file", filepath.Join(file, "out"), 1, 1, "not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := Create(c.dir, c.shard, c.shards)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Create(%q, %d, %d) = %v, %v; want an error with %q", c.dir, c.shard, c.shards, w, err, c.want)
			}
		})
	}
}

// TestRecordBad: a record whose time cannot be read is left out, the
// others are written; a partition that cannot be made fails every later
// call, and nothing appears.
func TestRecordBad(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	bad := rec(0, 2)
	bad.Time = "yesterday"
	write(t, w, rec(0, 1))
	if err := w.Record(bad); err == nil || !strings.Contains(err.Error(), `x.pcap: frame 2: time "yesterday"`) {
		t.Errorf("bad time: %v", err)
	}
	write(t, w, rec(0, 3))
	// A file where the next date's directory would be.
	os.WriteFile(filepath.Join(dir, "date=2024-05-02"), nil, 0o666)
	err = w.Record(rec(1, 4))
	if err == nil {
		t.Fatal("no error for a partition that cannot be made")
	}
	if err2 := w.Record(rec(0, 5)); !errors.Is(err2, err) {
		t.Errorf("after a write error: %v, want it again (%v)", err2, err)
	}
	if err2 := w.Close(); !errors.Is(err2, err) {
		t.Errorf("Close after a write error: %v, want %v", err2, err)
	}
	for _, name := range tree(t, dir) {
		if strings.HasSuffix(name, ".parquet") {
			t.Errorf("%s visible after a failed run", name)
		}
	}

	w, _ = Create(t.TempDir(), 1, 1)
	write(t, w, rec(0, 1))
	if err := w.Record(bad); err == nil {
		t.Error("bad time: no error")
	}
	write(t, w, rec(0, 3))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, _ := frames(t, filepath.Join(w.dir, "date=2024-05-01/part-1-of-1.parquet")); !slices.Equal(got, []int64{1, 3}) {
		t.Errorf("frames %v, want [1 3]: the bad record left out, no other", got)
	}
	if err := w.Record(rec(0, 4)); err == nil {
		t.Error("Record after Close: no error")
	}
}

// TestEmpty: no record, no file, and Close is fine.
func TestEmpty(t *testing.T) {
	dir := t.TempDir()
	w, err := Create(dir, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := tree(t, dir); len(got) != 0 {
		t.Errorf("files %q for no record", got)
	}
}
