package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rstwhy/rstwhy/internal/truth"
)

var update = flag.Bool("update", false, "rewrite the caused_by of the truth files from their captures")

// TestAnnotate holds every truth file of a scenario with an annotate
// function (the cascades' caused_by) to what annotate finds in its
// capture now: the link is the scenario's, read from the capture, never
// rstwhy's. -update writes it, the rest of the file unchanged.
func TestAnnotate(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("..", serversDir, "*.truth.json"))
	if len(files) == 0 {
		t.Skip("no captures in " + serversDir)
	}
	checked := 0
	for _, tf := range files {
		b, err := os.ReadFile(tf)
		if err != nil {
			t.Fatal(err)
		}
		var f truth.File
		if err := json.Unmarshal(b, &f); err != nil {
			t.Fatal(err)
		}
		j, ok := findJob(f.Scenario + "-" + f.Variant)
		if !ok || j.s.annotate == nil {
			continue
		}
		t.Run(strings.TrimSuffix(filepath.Base(tf), ".truth.json"), func(t *testing.T) {
			checked++
			want := f
			want.Resets = append([]truth.Reset(nil), f.Resets...)
			for i := range want.Resets {
				want.Resets[i].CausedBy = nil
			}
			if err := j.s.annotate(j, filepath.Join(filepath.Dir(tf), f.Capture.File), &want); err != nil {
				t.Fatal(err)
			}
			if *update {
				out, err := json.MarshalIndent(&want, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(tf, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if d := cmp.Diff(want.Resets, f.Resets); d != "" {
				t.Errorf("caused_by differs from the capture's (-capture +truth file):\n%s", d)
			}
			// The file is what the lab writes: -update changes nothing else.
			out, _ := json.MarshalIndent(&f, "", "  ")
			if !bytes.Equal(append(out, '\n'), b) {
				t.Errorf("%s is not as the lab writes it", tf)
			}
		})
	}
	if checked == 0 {
		t.Error("no truth file of a scenario with annotate")
	}
}
