package heuristics_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/internal/truth"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// signsOf runs heuristics.ForgerySigns on every RST of a capture.
func signsOf(tb testing.TB, path string) map[int64]map[string]heuristics.SignFinding {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	got := map[int64]map[string]heuristics.SignFinding{}
	if _, err := pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
		got[r.Packet.Frame] = heuristics.ForgerySigns(r)
	}); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return got
}

// TestForgerySignsPrecision: the signs read from the claimed sender's ACKs,
// timestamp clock and IP ID counter never fire on a reset an endpoint sent
// (the kernel's, by the lab's truth files; the public key's rows that do
// not accept middlebox_reset), and each fires on the lab's forgeries made
// for it.
func TestForgerySignsPrecision(t *testing.T) {
	var truths []string
	for _, dir := range []string{corpus, serversCorpus} {
		fs, _ := filepath.Glob(filepath.Join(dir, "*.truth.json"))
		truths = append(truths, fs...)
	}
	if len(truths) == 0 {
		t.Skip("no lab captures")
	}
	endpoint, forged := 0, 0
	fired := map[string][]string{} // sign -> forged frames it fired on
	for _, tf := range truths {
		want, err := truth.Load(tf)
		if err != nil {
			t.Fatal(err)
		}
		name := want.Capture.File
		got := signsOf(t, filepath.Join(filepath.Dir(tf), name))
		for _, w := range want.Resets {
			s := got[w.Frame]
			if w.Resetter != truth.Middlebox {
				endpoint++
				for sign, f := range s {
					t.Errorf("%s frame %d: %s fired on the %s's own reset (%s): %s", name, w.Frame, sign, w.Resetter, deref(w.KernelReason), strings.Join(f.Evidence, "; "))
				}
				continue
			}
			forged++
			for sign := range s {
				fired[sign] = append(fired[sign], name+":"+itoa(w.Frame))
			}
		}
	}
	keyed := 0
	if _, err := os.Stat(testcap.CorpusDir()); err == nil {
		for _, k := range readKey(t, publicKeyFile) {
			if slices.Contains(k.causes, heuristics.MiddleboxReset) {
				continue
			}
			got := signsOf(t, testcap.Corpus(k.capture))
			for frame, s := range got {
				if !k.covers(frame) {
					continue
				}
				keyed++
				for sign, f := range s {
					t.Errorf("%s frame %d: %s fired on a reset the key gives the %s (key row %d): %s", k.capture, frame, sign, k.resetter, k.line, strings.Join(f.Evidence, "; "))
				}
			}
		}
	}
	t.Logf("endpoint resets checked: %d in the lab's truth, %d in the public key; forged: %d", endpoint, keyed, forged)
	signs := make([]string, 0, len(fired))
	for s := range fired {
		signs = append(signs, s)
	}
	sort.Strings(signs)
	for _, s := range signs {
		t.Logf("%s fired on %d forged resets: %s", s, len(fired[s]), strings.Join(fired[s], " "))
	}
	// Each sign on the variant made for it.
	for sign, variant := range map[string]string{"ack_burst": "forge_acks-", "ts_clock": "forge_clock-", "ipid_off": "forge_ipid-"} {
		hit := false
		for _, f := range fired[sign] {
			hit = hit || strings.HasPrefix(f, variant)
		}
		if !hit {
			t.Errorf("%s fired on no %s* capture", sign, variant)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
