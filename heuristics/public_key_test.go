package heuristics_test

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

// publicKeyFile is the answer key for the public corpus's resets, written
// from the packets before rstwhy's answers were read (how, and where the
// key changed afterwards: testdata/public_key.md).
const publicKeyFile = "testdata/public_key.tsv"

// publicKeyRatchet holds rstwhy to what it does on the key today: a rule
// change may not lose an accepted answer, nor add an overconfident one.
// It is a ratchet, not the goal: when the counts improve, the test says so
// and these numbers should be tightened to the new ones in the same commit.
var publicKeyRatchet = struct{ minAccepted, maxOverconfident int }{
	minAccepted:      1459,
	maxOverconfident: 0,
}

// keyRow is one row of the key: the answer for one RST frame, or for a
// set of frames of one capture that share it.
type keyRow struct {
	line     int // in the key file, for messages
	capture  string
	frames   []keySpan
	src      string // addr:port, [v6]:port; with '*', a path.Match pattern
	resetter string // client or server
	followup string // yes, no, any
	causes   []heuristics.Cause
	maxConf  float64
	why      string
}

// keySpan is a frame, or a range of frames (every RST frame in it).
type keySpan struct{ lo, hi int64 }

func (k *keyRow) covers(frame int64) bool {
	for _, s := range k.frames {
		if s.lo <= frame && frame <= s.hi {
			return true
		}
	}
	return false
}

func (k *keyRow) srcMatches(src string) bool {
	if !strings.Contains(k.src, "*") {
		return k.src == src
	}
	ok, err := path.Match(k.src, src)
	return ok && err == nil
}

// readKey reads and checks the key: every field must parse, every cause
// must be one rstwhy knows.
func readKey(tb testing.TB, name string) []keyRow {
	tb.Helper()
	known := map[heuristics.Cause]bool{}
	for _, c := range heuristics.Causes() {
		known[c] = true
	}
	var rows []keyRow
	for i, r := range readPubTSV(tb, name) {
		k := keyRow{line: i + 1, capture: r["capture"], src: r["src"], resetter: r["resetter"],
			followup: r["followup"], why: r["why"]}
		bad := func(format string, args ...any) {
			tb.Helper()
			tb.Fatalf("%s: row %d (%s): %s", name, k.line, k.capture, fmt.Sprintf(format, args...))
		}
		if k.capture == "" || k.src == "" || k.why == "" {
			bad("capture, src and why must be filled in")
		}
		for _, f := range strings.Split(r["frames"], ",") {
			lo, hi, isRange := strings.Cut(f, "-")
			if !isRange {
				hi = lo
			}
			a, err1 := strconv.ParseInt(lo, 10, 64)
			b, err2 := strconv.ParseInt(hi, 10, 64)
			if err1 != nil || err2 != nil || a < 1 || b < a {
				bad("frames %q: want N, N-M or a comma list of them", r["frames"])
			}
			k.frames = append(k.frames, keySpan{a, b})
		}
		if k.resetter != "client" && k.resetter != "server" {
			bad("resetter %q: want client or server", k.resetter)
		}
		if k.followup != "yes" && k.followup != "no" && k.followup != "any" {
			bad("followup %q: want yes, no or any", k.followup)
		}
		for _, c := range strings.Split(r["causes"], ",") {
			if !known[heuristics.Cause(c)] {
				bad("cause %q is not one of heuristics.Causes()", c)
			}
			k.causes = append(k.causes, heuristics.Cause(c))
		}
		conf, err := strconv.ParseFloat(r["max_conf"], 64)
		if err != nil || conf <= 0 || conf > 1 {
			bad("max_conf %q: want a number in (0, 1]", r["max_conf"])
		}
		k.maxConf = conf
		rows = append(rows, k)
	}
	if len(rows) == 0 {
		tb.Fatalf("%s: no rows", name)
	}
	return rows
}

// keyOutcome is how rstwhy's answer for one reset compares with the key.
type keyOutcome int

const (
	keyAccepted      keyOutcome = iota // a cause the key accepts, right resetter and follow-up, confidence within the key's
	keyOverconfident                   // accepted, but stated with more confidence than the evidence allows
	keyWrong                           // a cause the key does not accept, the wrong resetter or follow-up, or no record
)

func (o keyOutcome) String() string {
	return [...]string{"accepted", "overconfident", "wrong"}[o]
}

// confSlack absorbs rounding in confidences written with two decimals.
const confSlack = 1e-9

// judgeKey compares one answer with its key row.
func judgeKey(k *keyRow, g judged, ok bool) (keyOutcome, string) {
	if !ok {
		return keyWrong, "no record"
	}
	v := g.v
	var why []string
	if !slices.Contains(k.causes, v.Cause) {
		why = append(why, "cause not accepted")
	}
	if string(v.Resetter) != k.resetter {
		why = append(why, "resetter "+string(v.Resetter))
	}
	if k.followup != "any" && v.Followup != (k.followup == "yes") {
		why = append(why, fmt.Sprintf("followup %v", v.Followup))
	}
	if len(why) > 0 {
		return keyWrong, strings.Join(why, ", ")
	}
	if v.Confidence > k.maxConf+confSlack {
		return keyOverconfident, fmt.Sprintf("confidence %.2f above %.2f", v.Confidence, k.maxConf)
	}
	return keyAccepted, ""
}

// calBuckets are the stated-confidence buckets of the calibration table:
// a bucket holds confidences above the previous bound up to its own.
var calBuckets = []struct {
	name string
	hi   float64
}{{"<=0.5", 0.5}, {"0.5-0.7", 0.7}, {"0.7-0.9", 0.9 - confSlack}, {">=0.9", 1}}

func calBucket(conf float64) int {
	for i, b := range calBuckets {
		if conf <= b.hi+confSlack {
			return i
		}
	}
	return len(calBuckets) - 1
}

// keyTally counts outcomes, and per confidence bucket the verdicts and
// those whose cause, resetter and follow-up the key accepts.
type keyTally struct {
	n       [3]int
	bucket  [4]int
	right   [4]int
	missing int
}

func (t *keyTally) add(o keyOutcome, g judged, ok bool) {
	t.n[o]++
	if !ok {
		t.missing++
		return
	}
	b := calBucket(g.v.Confidence)
	t.bucket[b]++
	if o != keyWrong {
		t.right[b]++
	}
}

func (t *keyTally) total() int { return t.n[0] + t.n[1] + t.n[2] }

func (t *keyTally) summary(unit string) string {
	n := t.total()
	pct := func(a, b int) float64 {
		if b == 0 {
			return 0
		}
		return 100 * float64(a) / float64(b)
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%d %s: %d accepted (%.1f%%), %d overconfident (%.1f%%), %d wrong (%.1f%%, %d with no record)\n",
		n, unit, t.n[keyAccepted], pct(t.n[keyAccepted], n), t.n[keyOverconfident], pct(t.n[keyOverconfident], n),
		t.n[keyWrong], pct(t.n[keyWrong], n), t.missing)
	fmt.Fprintf(&s, "  %-10s %8s %9s\n", "stated", "verdicts", "accepted")
	for i, b := range calBuckets {
		fmt.Fprintf(&s, "  %-10s %8d %8.1f%%\n", b.name, t.bucket[i], pct(t.right[i], t.bucket[i]))
	}
	return s.String()
}

// TestPublicKey compares rstwhy's answer for every RST of the keyed
// public captures with the key: accepted, overconfident (a right cause
// stated with more confidence than the evidence allows) or wrong. It
// checks that the key covers every RST tshark finds in those captures,
// prints the totals and a calibration table (stated confidence against
// the share of answers the key accepts), and holds the totals to
// publicKeyRatchet. Totals are given twice: over all resets, and over
// key rows (a row that keys a pattern of many resets counts once, at its
// worst outcome) so that one capture's hundreds of alike resets do not
// drown the rest.
func TestPublicKey(t *testing.T) {
	if _, err := os.Stat(testcap.CorpusDir()); err != nil {
		t.Skipf("public corpus not found at %s", testcap.CorpusDir())
	}
	key := readKey(t, publicKeyFile)
	byCapture := map[string][]*keyRow{}
	var captures []string
	for i := range key {
		k := &key[i]
		if byCapture[k.capture] == nil {
			captures = append(captures, k.capture)
		}
		byCapture[k.capture] = append(byCapture[k.capture], k)
	}
	var all, rows keyTally
	ran := 0
	for _, capture := range captures {
		t.Run(capture, func(t *testing.T) {
			p := testcap.Corpus(capture)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("key row %d names %s, which is not in the corpus", byCapture[capture][0].line, capture)
			}
			ran++
			krows := byCapture[capture]
			// Every RST tshark sees must be keyed once, by a row whose
			// source matches; every row must key some RST.
			owner := map[int64]*keyRow{}
			used := map[*keyRow][]int64{}
			for _, w := range readTshark(t, p+".tshark.tsv") {
				var hit []*keyRow
				for _, k := range krows {
					if k.covers(w.frame) {
						hit = append(hit, k)
					}
				}
				switch {
				case len(hit) == 0:
					t.Errorf("frame %d (RST %s > %s): not in the key", w.frame, w.src, w.dst)
					continue
				case len(hit) > 1:
					t.Errorf("frame %d: keyed by rows %d and %d", w.frame, hit[0].line, hit[1].line)
				}
				k := hit[0]
				if !k.srcMatches(w.src) {
					t.Errorf("frame %d: sent by %s, key row %d says %s", w.frame, w.src, k.line, k.src)
				}
				owner[w.frame] = k
				used[k] = append(used[k], w.frame)
			}
			for _, k := range krows {
				if len(used[k]) == 0 {
					t.Errorf("key row %d keys no RST frame of this capture", k.line)
				}
				for _, s := range k.frames {
					if s.lo == s.hi && owner[s.lo] != k {
						t.Errorf("key row %d: frame %d is not a RST", k.line, s.lo)
					}
				}
			}
			got := analyzeFile(t, p)
			for _, k := range krows {
				worst := keyAccepted
				var worstG judged
				var worstOK bool
				groups := map[string][]int64{}
				var order []string
				for _, f := range used[k] {
					g, ok := got[f]
					o, why := judgeKey(k, g, ok)
					all.add(o, g, ok)
					if o >= worst {
						worst, worstG, worstOK = o, g, ok
					}
					desc := o.String()
					if ok {
						desc += fmt.Sprintf(": %s %.2f %s", g.v.Cause, g.v.Confidence, g.v.Resetter)
						if g.v.Followup {
							desc += " follow-up"
						}
					}
					if why != "" {
						desc += " (" + why + ")"
					}
					if groups[desc] == nil {
						order = append(order, desc)
					}
					groups[desc] = append(groups[desc], f)
				}
				rows.add(worst, worstG, worstOK)
				for _, desc := range order {
					t.Logf("%s %s; key %s %s followup=%s, at most %.2f: %s",
						capture, keyFrames(groups[desc]), strings.Join(causeStrings(k.causes), "|"), k.resetter, k.followup, k.maxConf, desc)
				}
			}
		})
	}
	t.Logf("public key, by reset: %s", all.summary("resets"))
	t.Logf("public key, by key row (a pattern row counts once, at its worst): %s", rows.summary("key rows"))
	if ran < len(captures) {
		return // a -run filter: partial totals say nothing about the ratchet
	}
	r := publicKeyRatchet
	if a := all.n[keyAccepted]; a < r.minAccepted {
		t.Errorf("accepted fell to %d, below the ratchet's %d: a rule change lost answers the key accepts", a, r.minAccepted)
	} else if a > r.minAccepted {
		t.Logf("accepted rose to %d: raise publicKeyRatchet.minAccepted from %d", a, r.minAccepted)
	}
	if o := all.n[keyOverconfident]; o > r.maxOverconfident {
		t.Errorf("overconfident rose to %d, above the ratchet's %d: a rule states more confidence than its evidence allows", o, r.maxOverconfident)
	} else if o < r.maxOverconfident {
		t.Logf("overconfident fell to %d: lower publicKeyRatchet.maxOverconfident from %d", o, r.maxOverconfident)
	}
}

// keyFrames names frames compactly: "frame 7", "frames 9, 11, 13",
// "frames 2-1333 (1332)".
func keyFrames(fs []int64) string {
	if len(fs) == 1 {
		return fmt.Sprintf("frame %d", fs[0])
	}
	if len(fs) > 6 && fs[len(fs)-1]-fs[0] == int64(len(fs)-1) {
		return fmt.Sprintf("frames %d-%d (%d)", fs[0], fs[len(fs)-1], len(fs))
	}
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = strconv.FormatInt(f, 10)
	}
	return "frames " + strings.Join(s, ", ")
}

func causeStrings(cs []heuristics.Cause) []string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = string(c)
	}
	return s
}

// TestPublicKeyFile checks the key's own shape without the corpus: it
// must parse, and no two rows of a capture may claim the same frame.
func TestPublicKeyFile(t *testing.T) {
	key := readKey(t, publicKeyFile)
	seen := map[string]int{}
	for _, k := range key {
		for _, s := range k.frames {
			if s.hi-s.lo > 100000 {
				t.Errorf("row %d: range %d-%d is implausibly wide", k.line, s.lo, s.hi)
				continue
			}
			for f := s.lo; f <= s.hi; f++ {
				id := k.capture + "#" + strconv.FormatInt(f, 10)
				if prev, dup := seen[id]; dup {
					t.Errorf("%s frame %d: rows %d and %d", k.capture, f, prev, k.line)
				}
				seen[id] = k.line
			}
		}
	}
}
