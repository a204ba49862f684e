package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	pq "github.com/parquet-go/parquet-go"
)

// TestParquet: --format parquet -o DIR writes the records that jsonl
// prints, into the Hive layout, and nothing on stdout.
func TestParquet(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pcaps, "*.pcap*"))
	dir := filepath.Join(t.TempDir(), "out")
	out, errs, code := rstwhy(t, nil, append([]string{"analyze", "-f", "parquet", "-o", dir, "-j", "1"}, files...)...)
	if code != exitOK || out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and nothing on stdout", code, out, errs)
	}
	jsonl, _, _ := rstwhy(t, nil, append([]string{"analyze", "-f", "jsonl", "-j", "1"}, files...)...)
	want := records(t, jsonl)

	parts, _ := filepath.Glob(filepath.Join(dir, "*", "*"))
	layout := regexp.MustCompile(`^date=\d{4}-\d\d-\d\d/part-1-of-1(\.\d+)?\.parquet$`)
	var got []record
	for _, p := range parts {
		rel, _ := filepath.Rel(dir, p)
		if !layout.MatchString(filepath.ToSlash(rel)) {
			t.Errorf("%s: not DIR/date=YYYY-MM-DD/part-1-of-1.parquet", rel)
			continue
		}
		rows, err := pq.ReadFile[parquetRecord](p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		for _, r := range rows {
			got = append(got, record(r))
		}
	}
	// Files are by date: the records of the captures, in their order, are
	// the same set.
	order := func(rs []record) map[record]int {
		m := map[record]int{}
		for _, r := range rs {
			m[r]++
		}
		return m
	}
	if len(want) == 0 {
		t.Fatal("no records from the lab's captures")
	}
	if diff := cmp.Diff(order(want), order(got)); diff != "" {
		t.Errorf("records in Parquet (-jsonl +parquet):\n%s", diff)
	}
}

// parquetRecord is record, read from the Parquet columns of its names.
type parquetRecord struct {
	Capture  string `parquet:"capture"`
	Frame    int64  `parquet:"frame"`
	Cause    string `parquet:"cause"`
	Resetter string `parquet:"resetter"`
}

// TestOutputFile: -o FILE holds what stdout would, for every format that
// writes to stdout, and stdout stays empty.
func TestOutputFile(t *testing.T) {
	for _, format := range []string{"table", "json", "jsonl"} {
		t.Run(format, func(t *testing.T) {
			want, _, _ := rstwhy(t, nil, "analyze", "-f", format, "-j", "1", sample)
			name := filepath.Join(t.TempDir(), "out."+format)
			out, errs, code := rstwhy(t, nil, "analyze", "-f", format, "-j", "1", "-o", name, sample)
			if code != exitOK || out != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
			}
			if got := string(readTB(t, name)); got != want {
				t.Errorf("-o %s differs from stdout (-stdout +file):\n%s", name, cmp.Diff(want, got))
			}
		})
	}
}

// TestOutputBad: parquet needs a directory; an output that cannot be
// made is exit 3 and one line; a bad format leaves no file.
func TestOutputBad(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	os.WriteFile(file, nil, 0o644)
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"parquet without -o", []string{"-f", "parquet"}, exitUsage, "give their directory with -o"},
		{"parquet into a file", []string{"-f", "parquet", "-o", file}, exitWrite, "rstwhy: cannot write the output: "},
		{"jsonl into no directory", []string{"-f", "jsonl", "-o", filepath.Join(tmp, "no", "x")}, exitWrite, "rstwhy: cannot write the output: "},
		{"bad format with -o", []string{"-f", "xml", "-o", filepath.Join(tmp, "x.xml")}, exitUsage, `unknown format "xml"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, errs, code := rstwhy(t, nil, append(append([]string{"analyze"}, c.args...), sample)...)
			if code != c.code || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d and one line with %q", code, out, errs, c.code, c.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(tmp, "x.xml")); err == nil {
		t.Error("a bad format left its -o file")
	}
}
