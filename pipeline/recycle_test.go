package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/track"
)

// TestRecycleSameAnswers: a tracker that reuses Resets (Options.Recycle)
// must hand every judge the same reset as one that does not, the first
// reset a follow-up names included: reusing one that a later reset still
// refers to would show here as a follow-up whose First changed.
func TestRecycleSameAnswers(t *testing.T) {
	files := testcap.All()
	if len(files) == 0 {
		t.Skip("no captures")
	}
	judge := func(r *track.Reset) string {
		pk := r.Packet
		up := ""
		if pk.Upstream != nil {
			up = fmt.Sprintf("%+v", *pk.Upstream) // by value: the pointer differs from run to run
		}
		pk.Upstream = nil
		s := fmt.Sprintf("%+v|%s|%d|%+v|%+v|%x|%d|%+v", pk, up, r.Sender, *r.Conn, r.Later, r.Packet.Payload, r.CopyOf, r.After) + fmt.Sprintf("|%x", r.Packet.Trailer)
		if f := r.First; f != nil {
			fp := f.Packet
			fp.Upstream = nil
			s += fmt.Sprintf("|first %+v|%+v|%+v|%+v", fp, *f.Conn, f.Later, f.After)
		}
		return s
	}
	run := func(data []byte, opt Options) []string {
		var out []string
		if _, err := RunJudged(context.Background(), bytes.NewReader(data), opt, judge, func(s string) { out = append(out, s) }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	followups := 0
	t.Logf("%d captures", len(files))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{1, 2} {
			want := run(data, Options{Workers: workers})
			got := run(data, Options{Workers: workers, Recycle: true})
			if len(got) != len(want) {
				t.Fatalf("%s, %d workers: %d resets recycled, %d not", filepath.Base(name), workers, len(got), len(want))
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s, %d workers: reset %d differs when resets are reused:\n got %s\nwant %s", filepath.Base(name), workers, i, got[i], want[i])
				}
				if workers == 1 && bytes.Contains([]byte(want[i]), []byte("|first ")) {
					followups++
				}
			}
		}
	}
	if followups < 30 {
		t.Errorf("only %d follow-ups in the captures: the test does not reach First", followups)
	}
	t.Logf("%d follow-ups compared", followups)
}
