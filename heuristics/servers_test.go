package heuristics_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/internal/truth"
)

// serversCorpus holds captures of real server software (Go net/http,
// Python http.server, nginx, HAProxy) and of the lab's later scenarios.
// rstwhy is not yet right on all of them, so they are held by a ratchet
// rather than by TestAccuracy.
const serversCorpus = "../testdata/pcaps-servers"

// knownWrong is one line of KNOWN_WRONG.tsv: a RST rstwhy is known to get
// wrong, and the answer it gave when the line was written.
type knownWrong struct {
	capture string
	frame   int64
	want    string // the truth file's cause
	got     string // rstwhy's cause, or "resetter:<side>" for a wrong resetter
}

func (k knownWrong) String() string {
	return fmt.Sprintf("%s\t%d\t%s\t%s", k.capture, k.frame, k.want, k.got)
}

// readKnownWrong reads capture, frame, want, got, tab-separated; '#' starts
// a comment line.
func readKnownWrong(tb testing.TB, path string) map[[2]string]knownWrong {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[[2]string]knownWrong{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fl := strings.Split(line, "\t")
		if len(fl) != 4 {
			tb.Fatalf("%s:%d: want 4 tab-separated fields, got %d", path, n, len(fl))
		}
		frame, err := strconv.ParseInt(fl[1], 10, 64)
		if err != nil {
			tb.Fatalf("%s:%d: frame: %v", path, n, err)
		}
		k := knownWrong{fl[0], frame, fl[2], fl[3]}
		key := [2]string{k.capture, fl[1]}
		if _, dup := out[key]; dup {
			tb.Fatalf("%s:%d: %s frame %d listed twice", path, n, k.capture, frame)
		}
		out[key] = k
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestServers is a ratchet over testdata/pcaps-servers: every RST rstwhy
// gets wrong (cause or resetter) must be listed in KNOWN_WRONG.tsv with the
// answer it gives now, and every listed one must still be wrong in that
// way. A fix makes the test fail until its line is removed, so the list
// only shrinks; a regression fails until someone decides to list it.
func TestServers(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(serversCorpus, "*.truth.json"))
	if len(files) == 0 {
		t.Skip("no captures in " + serversCorpus)
	}
	listed := readKnownWrong(t, filepath.Join(serversCorpus, "KNOWN_WRONG.tsv"))
	seen := map[[2]string]bool{}
	confusion := map[[2]string]int{}
	var right, total int
	var unlisted []knownWrong
	for _, tf := range files {
		want, err := truth.Load(tf)
		if err != nil {
			t.Fatal(err)
		}
		name := want.Capture.File
		t.Run(strings.TrimSuffix(name, filepath.Ext(name)), func(t *testing.T) {
			got := analyzeFile(t, filepath.Join(serversCorpus, name))
			for _, w := range want.Resets {
				total++
				key := [2]string{name, strconv.FormatInt(w.Frame, 10)}
				seen[key] = true
				answer, given := "(missing)", "(missing)"
				if g, ok := got[w.Frame]; ok {
					delete(got, w.Frame)
					answer, given = string(g.v.Cause), string(g.v.Cause)
					if given == w.Cause && w.Resetter != truth.Middlebox && string(g.v.Resetter) != w.Resetter {
						answer = "resetter:" + string(g.v.Resetter)
					}
				}
				confusion[[2]string{w.Cause, given}]++
				k, isListed := listed[key]
				switch {
				case answer == w.Cause && isListed:
					t.Errorf("frame %d: rstwhy now says %s, as the truth does: remove the line from KNOWN_WRONG.tsv", w.Frame, answer)
				case answer == w.Cause:
					right++
				case !isListed:
					kw := knownWrong{name, w.Frame, w.Cause, answer}
					unlisted = append(unlisted, kw)
					t.Errorf("frame %d: %s, want %s (kernel %s; %s): not in KNOWN_WRONG.tsv", w.Frame, answer, w.Cause, deref(w.KernelReason), w.Note)
				case k.want != w.Cause || k.got != answer:
					t.Errorf("frame %d: KNOWN_WRONG.tsv says want %s got %s; now want %s got %s", w.Frame, k.want, k.got, w.Cause, answer)
				}
			}
			// A RST reported where the truth has none is wrong too:
			// listed with want "(none)".
			for frame, g := range got {
				key := [2]string{name, strconv.FormatInt(frame, 10)}
				seen[key] = true
				if k, isListed := listed[key]; !isListed || k.want != "(none)" || k.got != string(g.v.Cause) {
					unlisted = append(unlisted, knownWrong{name, frame, "(none)", string(g.v.Cause)})
					t.Errorf("frame %d: reported as %s, but the truth file lists no RST there", frame, g.v.Cause)
				}
			}
		})
	}
	var stale []string
	for key := range listed {
		if !seen[key] {
			stale = append(stale, key[0]+" frame "+key[1])
		}
	}
	sort.Strings(stale)
	for _, s := range stale {
		t.Errorf("KNOWN_WRONG.tsv lists %s, which no truth file holds", s)
	}
	if len(unlisted) > 0 {
		var b strings.Builder
		for _, k := range unlisted {
			b.WriteString(k.String() + "\n")
		}
		t.Logf("wrong answers not in KNOWN_WRONG.tsv:\n%s", b.String())
	}
	t.Logf("confusion matrix (rows: cause expected, columns: cause given)\n%s", matrix(confusion))
	if total > 0 {
		t.Logf("right on %d of %d resets (%.0f%%)", right, total, 100*float64(right)/float64(total))
	}
}
