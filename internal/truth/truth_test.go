package truth

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// corpora are the lab's capture folders: testdata/pcaps, which rstwhy must
// judge right, and testdata/pcaps-servers (real server software), held by a
// ratchet. Their truth files must hold against their captures alike.
var corpora = []string{"../../testdata/pcaps", "../../testdata/pcaps-servers"}

// wire is what a truth entry and a capture frame must agree on.
type wire struct {
	Frame    int64
	Src, Dst string
	Sport    uint16
	Dport    uint16
	Seq, Ack uint32
	Flags    string
	Time     string
}

// TestCorpus holds every truth file against its capture: the same RST frames,
// no more, no fewer, each with a known cause.
func TestCorpus(t *testing.T) {
	var names []string
	for _, dir := range corpora {
		n, err := filepath.Glob(filepath.Join(dir, "*.truth.json"))
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, n...)
	}
	if len(names) == 0 {
		t.Skip("no truth files under testdata/pcaps or testdata/pcaps-servers")
	}
	for _, name := range names {
		t.Run(strings.TrimSuffix(filepath.Base(name), ".truth.json"), func(t *testing.T) {
			f, err := Load(name)
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, filepath.Dir(name), f)
		})
	}
}

func checkFile(tb testing.TB, dir string, f *File) {
	tb.Helper()
	frames, err := Resets(filepath.Join(dir, f.Capture.File))
	if err != nil {
		tb.Fatal(err)
	}
	var got, want []wire
	for _, fr := range frames {
		got = append(got, wire{fr.Frame, fr.Src, fr.Dst, fr.Sport, fr.Dport, fr.Seq, fr.Ack, fr.Flags,
			fr.Time.Format("2006-01-02T15:04:05.000000000Z07:00")})
	}
	byFrame := map[int64]Reset{}
	for _, r := range f.Resets {
		want = append(want, wire{r.Frame, r.Src, r.Dst, r.Sport, r.Dport, r.Seq, r.Ack, r.Flags, r.Time})
		byFrame[r.Frame] = r
	}
	if diff := cmp.Diff(want, got); diff != "" {
		tb.Errorf("RST frames differ (-truth +capture):\n%s", diff)
	}
	for _, r := range f.Resets {
		if r.CopyOf != 0 {
			first, ok := byFrame[r.CopyOf]
			if !ok || first.Seq != r.Seq || first.Src != r.Src || r.CopyOf >= r.Frame {
				tb.Errorf("frame %d: copy_of %d is not an earlier copy", r.Frame, r.CopyOf)
			}
		}
		if r.KernelReason == nil && r.Resetter != Middlebox && r.Cause != "unknown" {
			tb.Errorf("frame %d: no kernel event, yet resetter %q", r.Frame, r.Resetter)
		}
	}
}

// TestLoadRejects checks that a schema break is an error, not a silent zero.
func TestLoadRejects(t *testing.T) {
	tests := []struct {
		name, why string
		f         File
	}{
		{"no-variant", "every file names its variant", File{Scenario: "s", Capture: Capture{File: "x.pcap"}}},
		{"bad-cause", "causes are stable IDs", File{Scenario: "s", Variant: "v", Capture: Capture{File: "x.pcap"},
			Resets: []Reset{{Frame: 1, Resetter: Client, Cause: "because"}}}},
		{"bad-resetter", "client, server or middlebox", File{Scenario: "s", Variant: "v", Capture: Capture{File: "x.pcap"},
			Resets: []Reset{{Frame: 1, Resetter: "router", Cause: "no_socket"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f.check(); err == nil {
				t.Errorf("check passed; want an error: %s", tt.why)
			}
		})
	}
}
