package capture

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/rstwhy/rstwhy/internal/testcap"
)

// TestCorpusCut cuts real captures at many offsets: the records before
// the cut come back as in the whole file, then io.EOF or a DamageError
// that names the next frame and an offset between the last good record
// and the cut.
func TestCorpusCut(t *testing.T) {
	for _, name := range []string{"zeek_tls_xmpp-starttls.pcap", "ppa_nowebaccess2.pcapng", "zeek_ldap_gap-data-missing.pcapng", "pcpp_pcapng-example.pcapng"} {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(testcap.Corpus(name))
			if err != nil {
				t.Skip(err)
			}
			whole, _, err := readRaws(data)
			if err != io.EOF {
				t.Fatal(err)
			}
			ends := make([]int64, len(whole)) // where each record ends
			r, err := NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			for i := range whole {
				if _, err := r.Next(); err != nil {
					t.Fatal(err)
				}
				ends[i] = r.Offset()
			}
			step := max(1, len(data)/200)
			for cut := 0; cut < len(data); cut += step {
				got, _, err := readRaws(data[:cut])
				if errors.Is(err, ErrNotCapture) {
					if int64(cut) > ends[0] {
						t.Fatalf("cut %d: %v after a whole record", cut, err)
					}
					continue
				}
				if diff := diffRaws(whole[:len(got)], got); diff != "" {
					t.Fatalf("cut %d: records (-want +got):\n%s", cut, diff)
				}
				good, next := int64(0), int64(1)
				if len(got) > 0 {
					good, next = ends[len(got)-1], got[len(got)-1].Frame+1
				}
				var de *DamageError
				switch {
				case err == io.EOF:
				case errors.As(err, &de):
					if de.Frame != next || de.Offset < good || de.Offset >= int64(cut) {
						t.Fatalf("cut %d after %d records ending at %d: %v", cut, len(got), good, err)
					}
				default:
					t.Fatalf("cut %d: %v", cut, err)
				}
			}
		})
	}
}
