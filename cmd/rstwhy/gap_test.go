package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/internal/testcap"
)

// TestCaptureGapReported: a capture that missed packets says so wherever
// a reader looks: a warning on stderr, the JSON document's captures entry,
// and the Markdown and HTML reports. zeek_ldap_gap-data-missing.pcapng
// lost 1342 bytes of the server's (frame 9 acknowledges them) and has no
// interface statistics; a lab capture, which misses nothing, says
// nothing of it.
func TestCaptureGapReported(t *testing.T) {
	gap := testcap.Corpus("zeek_ldap_gap-data-missing.pcapng")
	if _, err := os.Stat(gap); err != nil {
		t.Skip("public corpus not found")
	}
	const said = "1 segment acknowledges data the capture never showed"
	out, errs, code := rstwhy(t, nil, "analyze", "-f", "json", gap)
	if code != exitOK || !strings.Contains(errs, said) {
		t.Errorf("exit %d, stderr %q: want the gap said", code, errs)
	}
	var doc struct {
		Captures []struct {
			Unseen  *int64 `json:"segments_acking_unseen"`
			Dropped *int64 `json:"capture_dropped"`
		} `json:"captures"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Captures) != 1 || doc.Captures[0].Unseen == nil || *doc.Captures[0].Unseen != 1 {
		t.Errorf("JSON captures %+v (%v): want segments_acking_unseen 1", doc.Captures, err)
	} else if d := doc.Captures[0].Dropped; d != nil {
		t.Errorf("capture_dropped %d: the file has no interface statistics", *d)
	}
	// A file whose interface statistics block (dumpcap's, as it stopped)
	// says it dropped nothing: capture_dropped 0, and no warning.
	out, errs, _ = rstwhy(t, nil, "analyze", "-f", "json", testcap.Corpus("zeek_ldap_issue-32.pcapng"))
	if !strings.Contains(out, `"capture_dropped": 0`) || strings.Contains(errs, "dropped") {
		t.Errorf("zeek_ldap_issue-32.pcapng: want capture_dropped 0 and no warning; stderr %q", errs)
	}
	for _, format := range []string{"markdown", "html"} {
		out, _, code := rstwhy(t, nil, "analyze", "-f", format, gap)
		if code != exitOK || !strings.Contains(out, said) {
			t.Errorf("%s: exit %d, the gap not said", format, code)
		}
	}
	out, errs, _ = rstwhy(t, nil, "analyze", "-f", "markdown", sample)
	if strings.Contains(out+errs, "never showed") {
		t.Errorf("a lab capture, which misses nothing, names a gap:\n%s%s", errs, out)
	}
}
