package appctx_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rstwhy/rstwhy/appctx"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/track"
)

// publicCorpus holds captures from other projects' test suites (see
// heuristics/public_test.go); tests of it skip where it is absent.
const publicCorpus = "../../shared/corpus/public"

// judged is one reset and the Context the observer had for it.
type judged struct {
	frame int64
	ctx   appctx.Context
	ok    bool
}

// contexts runs a capture through the pipeline with an Observer on each
// worker, as the command does, and returns the Context of every reset.
func contexts(tb testing.TB, path string, workers int, grep string) map[int64]judged {
	tb.Helper()
	return contextsKeeping(tb, path, workers, grep, 0)
}

// contextsKeeping is contexts with an Observer keeping n bytes a
// direction (0: DefaultBytes).
func contextsKeeping(tb testing.TB, path string, workers int, grep string, n int) map[int64]judged {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[int64]judged{}
	newJudge := func() (track.Observer, func(*track.Reset) judged) {
		o := &appctx.Observer{Grep: []byte(grep), Bytes: n}
		return o, func(r *track.Reset) judged {
			a, ok := o.Take(r.Packet.Frame)
			return judged{r.Packet.Frame, a, ok}
		}
	}
	_, err = pipeline.RunObserved(context.Background(), f, pipeline.Options{Workers: workers}, newJudge, func(j judged) {
		out[j.frame] = j
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// The values below are what tshark shows of the same captures: the
// request's bytes (tcp.payload of its first segment), the status code and
// phrase (http.response.code, http.response.phrase), the server name
// (tls.handshake.extensions_server_name), the SSH banners (ssh.protocol),
// and the client's bytes when the answer began (the response's
// relative tcp.ack, less one).
var captureTests = []struct {
	name, pcap string
	frame      int64
	want       appctx.Context
	why        string
}{
	{"lab 413", "../testdata/pcaps/unread_data_close-http413-v4-eth-server.pcap", 37, appctx.Context{
		Protocol: "http", Kept: [2]int{251, 72}, FromStart: [2]bool{true, true},
		Request: "POST /upload HTTP/1.1", Requests: 1, Host: "lab", RequestLength: 1048576, RequestHead: 61,
		Response: "HTTP/1.1 413 Content Too Large", Status: 413, ResponseLength: 0, AnsweredAfter: 127605,
	}, "the server answered 413 after 127605 bytes (frame 35 acks 127606) of a 1 MiB upload; snap length 256: the head and the 190 bytes captured of the body's first segment are kept, nothing after the cut"},
	{"haproxy 503", "../testdata/pcaps-servers/haproxy-dead-v4-any-server.pcap", 45, appctx.Context{
		Protocol: "http", Kept: [2]int{128, 128}, FromStart: [2]bool{true, true},
		Request: "POST /dead HTTP/1.1", Requests: 1, Host: "10.200.1.1:5000", RequestLength: -1, RequestHead: -1,
		Response: "HTTP/1.1 503 Service Unavailable", Status: 503, ResponseLength: 107, AnsweredAfter: 142485,
	}, "snap length 128: the first segment's 128 bytes are kept, the Content-Length past them is not"},
	{"keep-alive reuse", "../testdata/pcaps-servers/reuse-gohttp-after-v4-eth-client.pcap", 21, appctx.Context{
		Protocol: "http", Kept: [2]int{58, 119}, FromStart: [2]bool{true, true},
		Request: "GET / HTTP/1.1", Requests: 2, Host: "lab", RequestLength: -1, RequestHead: 29,
		Response: "HTTP/1.1 200 OK", Status: 200, ResponseLength: 3, AnsweredAfter: 29,
		LastRequest: "GET / HTTP/1.1", LastRequestFrame: 20, LastRequestAt: 29,
	}, "Go's net/http closed the kept-alive connection idle (frame 18), the client's second GET (frame 20, 29 bytes, as the first at frame 14) met the closed socket: the reset cut the second request, unanswered; both are in the 2048 bytes kept"},
	{"refused, by port", "../testdata/pcaps-servers/haproxy-dead-v4-any-server.pcap", 17, appctx.Context{
		RequestLength: -1, RequestHead: -1, ResponseLength: -1, AnsweredAfter: -1,
	}, "a SYN refused carries no bytes, and 5001 is no well-known port"},
}

// TestLatestRequest: on a kept-alive connection the Context names the
// latest request, whether the later requests come while the first bytes
// are still being kept (the default 2048: here a snap length of 200 cut
// the first request's 3039 bytes, so they never fill) or after they were
// kept and parsed (64 bytes a direction: both sides fill with the first
// exchange, and the later segments are only followed).
func TestLatestRequest(t *testing.T) {
	const pcap = "../testdata/pcaps-servers/reuse-gohttp-many-after-v4-eth-server.pcap"
	for _, n := range []int{0, 64} {
		got, ok := contextsKeeping(t, pcap, 1, "", n)[26]
		if !ok || !got.ok {
			t.Fatalf("bytes %d: frame 26: no reset with a Context", n)
		}
		c := got.ctx
		// tshark: GET /a (frame 14), /b (18), /c (20), each answered
		// 200, then the server's FIN (23) and GET /d (25), 3039 + 30 +
		// 30 bytes after the client's first, met by the RST (26).
		if c.Request != "GET /a HTTP/1.1" || c.Requests != 4 || c.LastRequest != "GET /d HTTP/1.1" ||
			c.LastRequestFrame != 25 || c.LastRequestAt != 3099 || c.LastResponse != "" || c.LastResponseFrame != 0 {
			t.Errorf("bytes %d: request %q, %d requests, latest %q at frame %d after %d bytes, answered %q at %d; want GET /a, 4, GET /d at 25 after 3099, unanswered",
				n, c.Request, c.Requests, c.LastRequest, c.LastRequestFrame, c.LastRequestAt, c.LastResponse, c.LastResponseFrame)
		}
	}
}

// TestGrepLater: --grep finds a marker in a later request of a kept-alive
// connection (GET /d, frame 25), not only in its first bytes, whether or
// not those were kept and parsed before it came; a marker nowhere in the
// capture matches nothing.
func TestGrepLater(t *testing.T) {
	const pcap = "../testdata/pcaps-servers/reuse-gohttp-many-after-v4-eth-server.pcap"
	for _, n := range []int{0, 64} {
		for grep, want := range map[string]bool{"GET /d ": true, "GET /zz": false} {
			got, ok := contextsKeeping(t, pcap, 1, grep, n)[26]
			if !ok || !got.ok || got.ctx.Match != want {
				t.Errorf("bytes %d, grep %q: frame 26 match %v (context %v), want %v", n, grep, got.ctx.Match, got.ok, want)
			}
		}
	}
}

func TestCaptures(t *testing.T) {
	for _, tc := range captureTests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := contexts(t, tc.pcap, 1, "")[tc.frame]
			if !ok || !got.ok {
				t.Fatalf("frame %d: no reset with a Context (%s)", tc.frame, tc.why)
			}
			if diff := cmp.Diff(tc.want, got.ctx, cmpopts.IgnoreFields(appctx.Context{}, "Hole")); diff != "" {
				t.Errorf("frame %d (-want +got):\n%s\n%s", tc.frame, diff, tc.why)
			}
		})
	}
}

// TestWorkers: with several workers each has its own observer, and every
// reset gets the same Context as with one.
func TestWorkers(t *testing.T) {
	for _, pcap := range []string{
		"../testdata/pcaps/unread_data_close-http413-v4-eth-server.pcap",
		"../testdata/pcaps-servers/haproxy-dead-v4-any-server.pcap",
	} {
		one, four := contexts(t, pcap, 1, ""), contexts(t, pcap, 4, "")
		if diff := cmp.Diff(one, four, cmp.AllowUnexported(judged{})); diff != "" {
			t.Errorf("%s: 1 worker vs 4 (-1 +4):\n%s", filepath.Base(pcap), diff)
		}
	}
}

// TestGrep: Match is set on the connection whose first bytes hold the
// text, on no other.
func TestGrep(t *testing.T) {
	got := contexts(t, "../testdata/pcaps-servers/haproxy-dead-v4-any-server.pcap", 1, "/dead")
	want := map[int64]bool{17: false, 41: false, 45: true}
	for frame, m := range want {
		if got[frame].ctx.Match != m {
			t.Errorf("frame %d: Match %v, want %v", frame, got[frame].ctx.Match, m)
		}
	}
	got = contexts(t, "../testdata/pcaps-servers/haproxy-dead-v4-any-server.pcap", 1, "Service Unavailable")
	if !got[45].ctx.Match {
		t.Error("frame 45: the server's 503 phrase not matched: both directions are searched")
	}
}

// TestPublic checks captures of other projects, values as tshark shows
// them.
func TestPublic(t *testing.T) {
	if _, err := os.Stat(publicCorpus); err != nil {
		t.Skip("no public corpus in " + publicCorpus)
	}
	for _, tc := range []struct {
		name, pcap string
		frame      int64
		check      func(appctx.Context) bool
		why        string
	}{
		{"tls sni", "sv_bug-2646-02.pcap", 27, func(c appctx.Context) bool {
			return c.Protocol == "tls" && c.SNI == "raw.githubusercontent.com" && c.TLS[0] == "application_data"
		}, "tshark: frame 4's ClientHello names raw.githubusercontent.com"},
		{"ssh banners", "zeek_ssh_ssh.pcap", 264, func(c appctx.Context) bool {
			return c.Protocol == "ssh" && c.Banner == [2]string{"SSH-2.0-OpenSSH_6.2", "SSH-2.0-paramiko_1.15.2"}
		}, "tshark: ssh.protocol of the connection's first two data frames"},
		{"http 503", "pcpp_one_http_stream_rst.pcap", 10, func(c appctx.Context) bool {
			return c.Request == "GET /engine/download.php?id=97853 HTTP/1.1" && c.Host == "nnmuz.com" &&
				c.Status == 503 && c.ResponseLength == 398 && c.RequestHead == 1036
		}, "tshark: frame 4's request for nnmuz.com, frame 6's 503 with Content-Length 398"},
		{"starttls", "zeek_tls_imap-starttls.pcap", 32, func(c appctx.Context) bool {
			return c.Protocol == "tls" && c.TLS[0] == "alert (encrypted)"
		}, "IMAP upgraded to TLS; each side's last record is an encrypted alert (close_notify under TLS 1.2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := contexts(t, filepath.Join(publicCorpus, tc.pcap), 1, "")[tc.frame]
			if !got.ok || !tc.check(got.ctx) {
				t.Errorf("%s frame %d: %+v\nwant: %s", tc.pcap, tc.frame, got.ctx, tc.why)
			}
		})
	}
}

// TestEveryReset runs every capture of the lab, the server captures and
// (where present) the public corpus with every direction kept (Grep set)
// and two workers: each reset must get its Context, taken in frame order
// from its worker's observer, and nothing may panic on what real
// captures hold (holes, retransmissions, snap lengths, tunnels).
func TestEveryReset(t *testing.T) {
	var files []string
	for _, dir := range []string{"../testdata/pcaps", "../testdata/pcaps-servers", publicCorpus} {
		for _, ext := range []string{"*.pcap", "*.pcapng"} {
			m, _ := filepath.Glob(filepath.Join(dir, ext))
			files = append(files, m...)
		}
	}
	if len(files) < 100 {
		t.Fatalf("%d captures: the lab's are missing", len(files))
	}
	resets := 0
	for _, name := range files {
		for frame, j := range contexts(t, name, 2, "GET ") {
			resets++
			if !j.ok {
				t.Errorf("%s: frame %d: no Context", filepath.Base(name), frame)
			}
		}
	}
	t.Logf("%d captures, %d resets", len(files), resets)
}
