package heuristics

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// TestMatchQuiet holds every rule to the contract Explain relies on when
// it picks the winner without evidence: asked without explain, a rule
// formats nothing and answers the same confidence and kernel as with it.
// A rule that fits must say why. Every rule is asked about every reset
// of the lab and public captures, losers included.
func TestMatchQuiet(t *testing.T) {
	var files []string
	for _, dir := range []string{"../testdata/pcaps", "../../shared/corpus/public"} {
		for _, ext := range []string{"*.pcap", "*.pcapng"} {
			m, _ := filepath.Glob(filepath.Join(dir, ext))
			files = append(files, m...)
		}
	}
	if len(files) == 0 {
		t.Skip("no captures")
	}
	slices.Sort(files)
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
			v := newView(r)
			for _, rule := range rules() {
				quiet, full := rule.Match(v, false), rule.Match(v, true)
				where := fmt.Sprintf("%s: frame %d: %s", filepath.Base(path), r.Packet.Frame, rule.Cause)
				if quiet.Evidence != nil {
					t.Errorf("%s: evidence without explain: %q", where, quiet.Evidence)
				}
				if quiet.Confidence != full.Confidence || quiet.Kernel != full.Kernel {
					t.Errorf("%s: without explain %v %q, with it %v %q", where, quiet.Confidence, quiet.Kernel, full.Confidence, full.Kernel)
				}
				if full.Confidence > 0 && len(full.Evidence) == 0 {
					t.Errorf("%s: confidence %v and no evidence", where, full.Confidence)
				}
			}
		})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
}
