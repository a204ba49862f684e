package heuristics_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/internal/testcap"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// vendorKnown are the RSTs of the lab's and the public corpus's captures
// that name a device, each checked by hand in the packets. Any other RST
// naming one is a false positive; one of these naming none (or another)
// is a miss.
var vendorKnown = map[string]string{
	// The payload reads "BIG-IP: [0x11c5672:3045] {peer} TCP RST from
	// remote system" (TTL 243: an initial 255).
	"tcpdump_tcp_rst_data.pcap:1": "F5 BIG-IP",
	// The server's SYN-ACK has window 8190 and TTL 247 (an initial 255),
	// as a NetScaler's do; after 908 s of silence the client's GET draws
	// a bare RST with window 8201: the NetScaler had let the idle
	// connection go.
	"arkime_long-session.pcap:5": "Citrix NetScaler 8201",
	// The server's SYN-ACK has window 8190 and TTL 232 (initial 255);
	// the client's ACK+FIN reusing its ISN draws a bare RST, window 8201.
	"zeek_tcp_fin_retransmission.pcap:5": "Citrix NetScaler 8201",
	// The client (an LDAP client: a NetScaler authenticating users) has
	// SYN window 8190 and TTL 251 (initial 255); after 181 s idle (the
	// NetScaler's default idle timeout is 180 s) it resets, window 9300.
	"zeek_ldap_simpleauth.pcap:12": "Citrix NetScaler 9300",
}

// TestVendorOnlyWhereTrue: every capture of the lab (testdata/pcaps,
// testdata/pcaps-servers) and of the public corpus names a device on
// exactly the RSTs vendorKnown lists.
func TestVendorOnlyWhereTrue(t *testing.T) {
	files := testcap.All()
	servers, _ := filepath.Glob(filepath.Join(testcap.LabDir()+"-servers", "*.pcap*"))
	files = append(files, servers...)
	if len(files) == 0 {
		t.Skip("no captures")
	}
	seen := map[string]bool{}
	got := map[string]string{}
	for _, path := range files {
		if strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".tsv") {
			continue
		}
		name := filepath.Base(path)
		seen[name] = true
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
			v := heuristics.Explain(r)
			if d := v.Vendor; d.Device != "" {
				s := d.Device
				if d.Code != 0 {
					s += fmt.Sprint(" ", d.Code)
				}
				got[fmt.Sprintf("%s:%d", name, r.Packet.Frame)] = s
			}
		})
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range vendorKnown {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	checked := 0
	for _, k := range keys {
		capture := k[:strings.LastIndexByte(k, ':')]
		if !seen[capture] {
			continue // a corpus capture absent here
		}
		checked++
		if got[k] != vendorKnown[k] {
			t.Errorf("%s: names %q, want %q", k, got[k], vendorKnown[k])
		}
	}
	t.Logf("%d captures, %d RSTs naming a device checked", len(seen), checked)
}
