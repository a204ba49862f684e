package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rstwhy/rstwhy/internal/storm"
)

// The browser test's tools: Debian's chromium, node, and playwright-core
// from the npm registry at the version .ci/node/package.json pins, which
// .ci/run installs into .ci/node/node_modules (git ignores it):
//
//	apt-get install -y chromium nodejs npm
//	npm install --prefix .ci/node
const (
	chromiumPath = "/usr/bin/chromium"
	nodeModules  = "../../.ci/node/node_modules"
	// screenshotPath is the picture README shows, rewritten by -update.
	screenshotPath = "../../docs/html-report.png"
)

// browserTools returns node and its environment for htmlcheck.js. Without
// the tools the test is skipped, except under CI=true, where .ci/run has
// installed them and their absence is a failure.
func browserTools(t *testing.T) (node string, env []string) {
	t.Helper()
	missing := func(what string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s missing under CI: .ci/run installs it", what)
		}
		t.Skipf("%s missing: apt-get install -y chromium nodejs npm; npm install --prefix .ci/node", what)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing("chromium (" + chromiumPath + ")")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node")
	}
	mods, err := filepath.Abs(nodeModules)
	if err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "NODE_PATH="+mods+string(os.PathListSeparator)+os.Getenv("NODE_PATH"))
	check := exec.Command(node, "-e", "require.resolve('playwright-core')")
	check.Env = env
	if err := check.Run(); err != nil {
		missing("playwright-core (in .ci/node/node_modules or NODE_PATH)")
	}
	return node, env
}

// pageCheck is what htmlcheck.js is asked of one page.
type pageCheck struct {
	Page       string `json:"page"`
	RST        int64  `json:"rst,omitempty"`
	Sort       bool   `json:"sort,omitempty"`
	Screenshot string `json:"screenshot,omitempty"`
	FullPage   bool   `json:"fullPage,omitempty"`
}

// pageResult is what htmlcheck.js saw of a page.
type pageResult struct {
	Requests   []string `json:"requests"`
	Console    []string `json:"console"`
	PageErrors []string `json:"pageErrors"`
	LoadMS     float64  `json:"loadMs"`
	Elements   int      `json:"elements"`
	Rows       []record `json:"rows"`
	Ladder     *struct {
		RSTFrame   int64  `json:"rstFrame"`
		RSTText    string `json:"rstText"`
		RSTVisible bool   `json:"rstVisible"`
		Packets    int    `json:"packets"`
	} `json:"ladder"`
	SortedFrames []int64 `json:"sortedFrames"`
}

// openInBrowser runs htmlcheck.js on the pages in one headless Chromium.
func openInBrowser(t *testing.T, pages ...pageCheck) []pageResult {
	t.Helper()
	node, env := browserTools(t)
	arg, _ := json.Marshal(map[string]any{"chromium": chromiumPath, "pages": pages})
	cmd := exec.Command(node, "testdata/htmlcheck.js", string(arg))
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("htmlcheck.js: %v\n%s", err, stderr.String())
	}
	var out []pageResult
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out) != len(pages) {
		t.Fatalf("htmlcheck.js printed %q: %v", stdout.String(), err)
	}
	return out
}

// htmlReport runs analyze --format html -o into a temporary file and
// returns its path, with the JSONL records of the same captures.
func htmlReport(t *testing.T, captures ...string) (page string, want []record) {
	t.Helper()
	page = filepath.Join(t.TempDir(), "report.html")
	args := append([]string{"analyze", "-j", "1", "--format", "html", "-o", page}, captures...)
	if out, errs, code := rstwhy(t, nil, args...); code != exitOK || out != "" {
		t.Fatalf("analyze --format html -o: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	jsonl, errs, code := rstwhy(t, nil, append([]string{"analyze", "-j", "1", "--format", "jsonl"}, captures...)...)
	if code != exitOK {
		t.Fatalf("analyze --format jsonl: exit %d: %s", code, errs)
	}
	want = records(t, jsonl)
	if len(captures) == 1 {
		for i := range want {
			want[i].Capture = "" // one capture: the rows do not name it
		}
	}
	for i := range want {
		want[i].Resetter = "" // the rows carry frame, cause and capture
	}
	return page, want
}

// assertClean fails on any request the page attempted, any console
// message and any script error.
func assertClean(t *testing.T, name string, r pageResult) {
	t.Helper()
	if len(r.Requests) > 0 || len(r.Console) > 0 || len(r.PageErrors) > 0 {
		t.Errorf("%s: requests %q, console %q, errors %q; want none", name, r.Requests, r.Console, r.PageErrors)
	}
}

// TestHTMLBrowser opens HTML reports of lab captures in a real headless
// browser with the network refused: nothing is fetched and nothing
// complains, the table has one row a reset with its RST frame and cause,
// as the JSONL records of the same captures, the table sorts, and the
// ladder of a known reset draws its RST. A page that does fetch and log
// is checked too, so that the harness is known to see them.
func TestHTMLBrowser(t *testing.T) {
	const known = "unread_data_close-primeslost-v4-eth-server.pcap" // 7 resets; the first RST is frame 30
	captures := []string{pcaps + "/" + known, pcaps + "/middlebox_reset-est-v4-any-router.pcap",
		pcaps + "/keepalive_timeout-both-v4-eth-client-ng.pcapng"}
	one, wantOne := htmlReport(t, captures[0])
	many, wantMany := htmlReport(t, captures...)
	// The README's picture: the capture of its Markdown excerpt, so that
	// the two reports of one reset are side by side.
	pictured, _ := htmlReport(t, sample)

	bad := filepath.Join(t.TempDir(), "fetches.html")
	os.WriteFile(bad, []byte(`<!DOCTYPE html><img src="https://example.invalid/x.png"><script>console.error("boom")</script>`), 0o644)

	shot := filepath.Join(t.TempDir(), "report.png")
	if *update {
		shot, _ = filepath.Abs(screenshotPath)
		os.MkdirAll(filepath.Dir(shot), 0o755)
	}
	res := openInBrowser(t,
		pageCheck{Page: one, RST: 30, Sort: true},
		pageCheck{Page: many, RST: 30, Sort: true},
		pageCheck{Page: bad},
		pageCheck{Page: pictured, RST: 28, Screenshot: shot, FullPage: true})

	for i, tc := range []struct {
		name string
		want []record
	}{{"one capture", wantOne}, {"three captures", wantMany}} {
		r := res[i]
		assertClean(t, tc.name, r)
		if diff := cmp.Diff(tc.want, r.Rows); diff != "" {
			t.Errorf("%s: rows differ from the JSONL records (-want +got):\n%s", tc.name, diff)
		}
		var frames []int64
		for _, w := range tc.want {
			frames = append(frames, w.Frame)
		}
		slices.Sort(frames)
		slices.Reverse(frames)
		if !slices.Equal(r.SortedFrames, frames) {
			t.Errorf("%s: sorted twice by frame: %v, want %v", tc.name, r.SortedFrames, frames)
		}
		l := r.Ladder
		if l == nil || l.RSTFrame != 30 || !strings.Contains(l.RSTText, "[R.]") || !l.RSTVisible || l.Packets < 2 {
			t.Errorf("%s: ladder of the RST at frame 30: %+v; want its RST drawn, visible", tc.name, l)
		}
	}
	if r := res[2]; len(r.Requests) == 0 || !slices.Contains(r.Console, "error: boom") {
		t.Errorf("a page that fetches and logs: requests %q, console %q; the harness must see both", r.Requests, r.Console)
	}

	if r := res[3]; len(r.Rows) != 1 || r.Ladder == nil || r.Ladder.RSTFrame != 28 || !r.Ladder.RSTVisible {
		assertClean(t, "pictured", r)
		t.Errorf("the pictured page: rows %v, ladder %+v; want its one RST, frame 28, drawn", r.Rows, r.Ladder)
	}
	png := readTB(t, shot)
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10_000 {
		t.Errorf("screenshot %s: %d bytes, not a PNG of the page", shot, len(png))
	}
}

// perRowElements bounds the elements a reset's row adds to the page: a
// row of cells, a link and a code span, no more. What a page of many
// resets costs the browser is its size and its elements, both counted;
// a load time would also measure how busy the machine was.
const perRowElements = 15

// TestHTMLStorm: a capture of 5,000 resets gives a page under 5 MB, with
// all 5,000 rows and at most perRowElements elements a row.
func TestHTMLStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("short: a 5,000-reset capture in a browser")
	}
	var buf bytes.Buffer
	if err := storm.Write(&buf, 5000, false); err != nil {
		t.Fatal(err)
	}
	capture := filepath.Join(t.TempDir(), "storm.pcap")
	if err := os.WriteFile(capture, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	page, want := htmlReport(t, capture)
	fi, err := os.Stat(page)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() >= 5<<20 {
		t.Errorf("page of 5,000 resets: %d bytes, want under 5 MB", fi.Size())
	}
	r := openInBrowser(t, pageCheck{Page: page})[0]
	assertClean(t, "storm", r)
	// Not a time (a loaded machine would fail it): the elements the page
	// built, which is what loading it costs. Each reset's row is a few
	// cells; its ladder and evidence are built when the row is opened.
	if r.Elements <= 0 || r.Elements > perRowElements*5000+1000 {
		t.Errorf("page of 5,000 resets holds %d elements once loaded, want at most %d", r.Elements, perRowElements*5000+1000)
	}
	if len(want) != 5000 || !cmp.Equal(want, r.Rows) {
		t.Errorf("rows: %d, want the %d records of the JSONL (5,000)", len(r.Rows), len(want))
	}
	t.Logf("5,000 resets: %d bytes, %d elements, loaded in %.0f ms", fi.Size(), r.Elements, r.LoadMS)
}

// TestOutputFlag: -o writes to the file what stdout would have had, and
// nothing to stdout; a file that cannot be made is a write error before
// anything is read; a usage error makes no file; -o - is stdout.
func TestOutputFlag(t *testing.T) {
	want, _, _ := rstwhy(t, nil, "analyze", "-f", "jsonl", sample)
	dir := t.TempDir()
	name := filepath.Join(dir, "out.jsonl")
	out, errs, code := rstwhy(t, nil, "analyze", sample, "-f", "jsonl", "-o", name)
	if code != exitOK || out != "" || errs != "" || string(readTB(t, name)) != want {
		t.Errorf("-o: exit %d, stdout %q, stderr %q, file %q; want 0, nothing, and the records in the file", code, out, errs, readTB(t, name))
	}
	if out, _, code := rstwhy(t, nil, "analyze", "-f", "jsonl", "--output", "-", sample); code != exitOK || out != want {
		t.Errorf("--output -: exit %d, stdout %q; want the records", code, out)
	}
	bad := filepath.Join(dir, "no-such-dir", "report.html")
	out, errs, code = rstwhy(t, nil, "analyze", "-f", "html", "-o", bad, sample)
	if code != exitWrite || out != "" || !strings.HasPrefix(errs, "rstwhy: cannot write the output: ") || !strings.Contains(errs, "no-such-dir") {
		t.Errorf("-o in a missing directory: exit %d, stdout %q, stderr %q; want %d naming it", code, out, errs, exitWrite)
	}
	typo := filepath.Join(dir, "typo.html")
	if _, _, code := rstwhy(t, nil, "analyze", "-f", "htlm", "-o", typo, sample); code != exitUsage {
		t.Errorf("-f htlm: exit %d, want %d", code, exitUsage)
	}
	if _, err := os.Stat(typo); err == nil {
		t.Errorf("-f htlm -o %s: the file was made", typo)
	}
}
