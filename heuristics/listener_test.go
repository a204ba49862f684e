package heuristics_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/internal/truth"
)

// TestListenerReason holds the kernel reason of a reset from a port still
// listening to the tracepoint's. A segment for no connection that reaches
// a listener is reset with TCP_FLAGS, one that finds no socket at all
// with NO_SOCKET; rstwhy says TCP_FLAGS only where the port's SYN-ACK to
// another peer came after the connection's handshake (the reuse-busy
// and no_socket-busy captures: a second client's). Over every lab
// capture, a TCP_FLAGS it gives must be the kernel's, and the busy
// captures' server resets must get it: the reuse race's follow-ups, and
// the no_socket resets of a server whose connection timed out while it
// kept listening.
func TestListenerReason(t *testing.T) {
	var files []string
	for _, dir := range []string{corpus, "../testdata/pcaps-servers"} {
		m, _ := filepath.Glob(filepath.Join(dir, "*.truth.json"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("no lab captures")
	}
	said, busy := 0, 0
	for _, tf := range files {
		want, err := truth.Load(tf)
		if err != nil {
			t.Fatal(err)
		}
		got := analyzeFile(t, filepath.Join(filepath.Dir(tf), want.Capture.File))
		for _, w := range want.Resets {
			g, ok := got[w.Frame]
			if !ok || w.KernelReason == nil {
				continue
			}
			if g.v.KernelReason == "TCP_FLAGS" {
				said++
				if *w.KernelReason != "TCP_FLAGS" {
					t.Errorf("%s frame %d: TCP_FLAGS, the kernel said %s", want.Capture.File, w.Frame, *w.KernelReason)
				}
			}
			if strings.Contains(want.Capture.File, "-busy-") && *w.KernelReason == "TCP_FLAGS" && w.Resetter == "server" {
				busy++
				if g.v.KernelReason != "TCP_FLAGS" {
					t.Errorf("%s frame %d: %q, the kernel said TCP_FLAGS with the listener accepting", want.Capture.File, w.Frame, g.v.KernelReason)
				}
			}
		}
	}
	if busy < 4 {
		t.Errorf("%d busy-server resets found in the lab truth, want 4 (reuse-*-busy-*, no_socket-busy-*)", busy)
	}
	t.Logf("TCP_FLAGS given on %d resets; %d busy-server resets", said, busy)
}
