package heuristics_test

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/report"
	"github.com/rstwhy/rstwhy/track"
)

// publicCorpus holds captures from other projects' test suites, each with
// the answers of tshark and of the tool whose suite it came from. CI
// clones shared/ beside the repository.
const publicCorpus = "../../shared/corpus/public"

// Reference names, also the columns of the summary table.
const (
	refRead       = "read"
	refTshark     = "tshark"
	refTcpdump    = "tcpdump"
	refZeek       = "zeek"
	refZeekClient = "zeek-client"
	refSuricata   = "suricata"
	refArkime     = "arkime"
	refArkimeCli  = "arkime-client"
)

// publicExceptions are the checks that may fail for a known reason: the
// reference tool's own state machine, a capture that starts mid-stream,
// a record the reference splits. conn is the connection as pubConn.String
// prints it, or "" for a check on the whole capture or on a Zeek record
// without id columns. Each row must still be needed: a row whose check
// passes, or that no check reaches, is an error, so the table stays true.
var publicExceptions = []struct{ capture, conn, check, why string }{
	{"zeek_tunnels_Teredo.pcap", "192.168.2.16:1576 75.126.130.163:80", refSuricata,
		"the capture starts mid-connection (first packet a FIN, frame 2) and Suricata tracks no TCP state without a SYN " +
			"(stream.midstream off): its flag fields stay 00 (tcp_flags 00, state new) although both sides send RSTs, frames 18 and 51"},
	{"zeek_tunnels_Teredo.pcap", "192.168.2.16:1577 75.126.203.78:80", refSuricata,
		"the capture starts mid-connection (first packet a FIN, frame 4) and Suricata tracks no TCP state without a SYN " +
			"(stream.midstream off): its flag fields stay 00 (tcp_flags 00, state new) although 75.126.203.78 sends a RST, frame 50"},
	{"zeek_modbus_modbus-and-non-modbus-p502.pcap", "192.168.10.111:502 198.74.56.135:60293", refZeek,
		"Zeek starts a new connection (history Dr) for the scanner's data 16 s after the four-tuple was reset (frame 64); " +
			"the server's RST (frame 66) answers that data, which its reset socket could no longer take: a follow-up of frame 64, " +
			"as the public answer key has it, and the only RST of Zeek's connection"},
}

// pubRec is one of rstwhy's records with its endpoints spelled like the
// references'.
type pubRec struct {
	report.Record
	src, dst string
}

func (r *pubRec) conn() pubConn { return pubConnOf(r.src, r.dst) }

func analyzePublic(tb testing.TB, path string) ([]pubRec, pipeline.Result, error) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var recs []pubRec
	var bad error
	res, err := pipeline.Run(context.Background(), f, pipeline.Options{}, func(r *track.Reset) {
		rec := report.NewRecord(filepath.Base(path), r, heuristics.Explain(r))
		src, err1 := pubEndpoint(rec.Src, fmt.Sprint(rec.Sport))
		dst, err2 := pubEndpoint(rec.Dst, fmt.Sprint(rec.Dport))
		if (err1 != nil || err2 != nil) && bad == nil {
			bad = fmt.Errorf("frame %d: record endpoints %q %q: %v %v", rec.Frame, rec.Src, rec.Dst, err1, err2)
		}
		recs = append(recs, pubRec{rec, src, dst})
	})
	if bad != nil {
		tb.Error(bad)
	}
	return recs, res, err
}

// pubTally counts one reference's checks on one capture.
type pubTally struct{ agree, total, excused int }

func (t pubTally) String() string {
	if t.total == 0 {
		return "-"
	}
	s := fmt.Sprintf("%d/%d", t.agree, t.total)
	if t.excused > 0 {
		s += fmt.Sprintf(" (%d excused)", t.excused)
	}
	return s
}

// publicCheck runs the checks of one capture and counts them.
type publicCheck struct {
	t       *testing.T
	capture string
	tallies map[string]*pubTally
	used    map[int]bool // rows of publicExceptions that excused a failure
}

// check records one comparison: a failure is an error unless
// publicExceptions names it.
func (c *publicCheck) check(ref string, cn pubConn, ok bool, format string, args ...any) {
	c.t.Helper()
	tl := c.tallies[ref]
	if tl == nil {
		tl = &pubTally{}
		c.tallies[ref] = tl
	}
	tl.total++
	name := ""
	if cn != (pubConn{}) {
		name = cn.String()
	}
	for i, e := range publicExceptions {
		if e.capture == c.capture && e.conn == name && e.check == ref {
			if ok {
				// A passing check of the same name (a four-tuple Zeek
				// saw as two connections) is fine; an exception that
				// excuses no failure at all is reported at the end.
				tl.agree++
			} else {
				tl.excused++
				c.used[i] = true
				c.t.Logf("%s %s: known disagreement: %s: %s", ref, name, e.why, fmt.Sprintf(format, args...))
			}
			return
		}
	}
	if ok {
		tl.agree++
		return
	}
	c.t.Errorf("%s %s: %s", ref, name, fmt.Sprintf(format, args...))
}

// TestPublic holds rstwhy to captures nobody here made. For each one:
// it must be read whole; every RST frame tshark finds must get a record
// with the same frame number and endpoints, and no other frame may; and
// who reset must agree with Zeek, Suricata, Arkime and tcpdump where the
// capture's test suite gives their answers.
func TestPublic(t *testing.T) {
	tsvs, _ := filepath.Glob(filepath.Join(publicCorpus, "*.tshark.tsv"))
	if len(tsvs) == 0 {
		t.Skip("no public corpus in " + publicCorpus)
	}
	refs := []string{refRead, refTshark, refTcpdump, refZeek, refZeekClient, refSuricata, refArkime, refArkimeCli}
	var summary [][]string
	used := map[int]bool{}
	ran := map[string]bool{}
	for _, tsv := range tsvs {
		capture := strings.TrimSuffix(filepath.Base(tsv), ".tshark.tsv")
		t.Run(capture, func(t *testing.T) {
			ran[capture] = true
			c := &publicCheck{t: t, capture: capture, tallies: map[string]*pubTally{}, used: used}
			path := filepath.Join(publicCorpus, capture)
			want := readTshark(t, tsv)
			recs, res, err := analyzePublic(t, path)
			if err == nil {
				err = res.Damage
			}
			c.check(refRead, pubConn{}, err == nil, "%v", err)
			c.tshark(want, recs)
			if p := path + ".tcpdump.out"; pubExists(p) {
				c.tcpdump(readTcpdump(t, p), recs)
			}
			if p := path + ".zeek-conn.log"; pubExists(p) {
				c.zeek(readZeekConn(t, p), recs)
			}
			if p := path + ".zeek-other.txt"; pubExists(p) {
				c.zeek(readZeekOther(t, p), recs)
			}
			if p := path + ".suricata-flow.yaml"; pubExists(p) {
				c.suricata(readSuricata(t, p), recs)
			}
			if p := path + ".arkime-sessions.json"; pubExists(p) {
				c.arkime(readArkime(t, p), recs)
			}
			row := []string{capture, fmt.Sprint(len(want)), fmt.Sprint(len(recs))}
			for _, r := range refs {
				tl := c.tallies[r]
				if tl == nil {
					tl = &pubTally{}
				}
				row = append(row, tl.String())
			}
			summary = append(summary, row)
		})
	}
	for i, e := range publicExceptions {
		if ran[e.capture] && !used[i] {
			t.Errorf("exception %s %s %s matched no check: drop it (%s)", e.capture, e.conn, e.check, e.why)
		}
	}
	t.Logf("public corpus: agreeing checks / checks per reference\n%s",
		pubTable(append([]string{"capture", "rsts", "records"}, refs...), summary))
}

func pubExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// tshark: one record per RST frame, same frame and endpoints, no others.
func (c *publicCheck) tshark(want []tsharkRST, recs []pubRec) {
	c.t.Helper()
	got := map[int64]*pubRec{}
	for i := range recs {
		r := &recs[i]
		if got[r.Frame] != nil {
			c.check(refTshark, r.conn(), false, "frame %d: two records", r.Frame)
		}
		got[r.Frame] = r
	}
	for _, w := range want {
		cn := pubConnOf(w.src, w.dst)
		g := got[w.frame]
		switch {
		case g == nil:
			c.check(refTshark, cn, false, "frame %d: RST %s > %s not reported", w.frame, w.src, w.dst)
		default:
			c.check(refTshark, cn, g.src == w.src && g.dst == w.dst,
				"frame %d: record %s > %s, tshark %s > %s", w.frame, g.src, g.dst, w.src, w.dst)
			delete(got, w.frame)
		}
	}
	for _, f := range slices.Sorted(maps.Keys(got)) {
		g := got[f]
		c.check(refTshark, g.conn(), false, "frame %d: record %s > %s, but tshark finds no RST there", f, g.src, g.dst)
	}
}

// tcpdump: the frames printed with R in their flags are the records'.
func (c *publicCheck) tcpdump(want []int64, recs []pubRec) {
	c.t.Helper()
	var got []int64
	for _, r := range recs {
		got = append(got, r.Frame)
	}
	c.check(refTcpdump, pubConn{}, slices.Equal(want, got), "RST frames %v, records %v", want, got)
}

func pubByConn(recs []pubRec) (map[pubConn][]*pubRec, []pubConn) {
	m := map[pubConn][]*pubRec{}
	var order []pubConn
	for i := range recs {
		cn := recs[i].conn()
		if m[cn] == nil {
			order = append(order, cn)
		}
		m[cn] = append(m[cn], &recs[i])
	}
	return m, order
}

// zeekProblem says how rstwhy's records of one connection disagree with a
// Zeek record, or "" when they agree. Zeek's originator is orig when the
// record names it; otherwise only the roles are compared.
//
// Each side that Zeek says reset must have sent a RST that rstwhy
// attributes to that side's role (client = originator). At least one of
// them must be a first reset, not a follow-up: when both sides reset, the
// later one is a follow-up by design. When the record is the only one of
// its 4-tuple (whole), every RST from a side must carry that side's role.
func zeekProblem(z zeekConn, recs []*pubRec, whole bool) string {
	var problems []string
	first := false
	for _, side := range []struct {
		rst       bool
		role, who string
		addr      string
	}{{z.origRST, "client", "originator", z.orig}, {z.respRST, "server", "responder", z.resp}} {
		if !side.rst {
			continue
		}
		var from []*pubRec
		for _, r := range recs {
			if side.addr == "" || r.src == side.addr {
				from = append(from, r)
			}
		}
		if len(from) == 0 {
			problems = append(problems, fmt.Sprintf("the %s %s reset, rstwhy has no RST from it", side.who, side.addr))
			continue
		}
		var roleOK *pubRec
		for _, r := range from {
			if r.Resetter == side.role && roleOK == nil {
				roleOK = r
			}
			if r.Resetter == side.role && !r.Followup {
				roleOK, first = r, true
			}
		}
		for _, r := range from {
			if whole && side.addr != "" && r.Resetter != side.role && roleOK != nil {
				problems = append(problems, fmt.Sprintf("the %s %s reset, rstwhy says frame %d's resetter is the %s (client %s, guessed %v)",
					side.who, side.addr, r.Frame, r.Resetter, r.Client, r.ClientGuessed))
			}
		}
		if roleOK == nil {
			r := from[0]
			problems = append(problems, fmt.Sprintf("the %s %s reset, rstwhy says frame %d's resetter is the %s (client %s, guessed %v)",
				side.who, side.addr, r.Frame, r.Resetter, r.Client, r.ClientGuessed))
		} else if z.state == "REJ" && side.role == "server" && roleOK.Cause != string(heuristics.ConnectionRefused) {
			problems = append(problems, fmt.Sprintf("REJ, rstwhy says frame %d's cause is %s", roleOK.Frame, roleOK.Cause))
		}
	}
	if (z.origRST || z.respRST) && len(problems) == 0 && !first {
		problems = append(problems, "rstwhy marks every RST from the resetter as a follow-up")
	}
	return strings.Join(problems, "; ")
}

// zeek compares each Zeek record that says a side reset. Zeek splits one
// 4-tuple into several records when RSTs come after the connection ended;
// with timestamps masked in the baselines, records cannot be paired with
// stretches of packets, so the pieces of a 4-tuple are judged together:
// every piece's resetters against all of rstwhy's records of the tuple.
// Records without id.* columns are matched to a connection of rstwhy's
// with resets that no other record took, in order of first RST.
func (c *publicCheck) zeek(zs []zeekConn, recs []pubRec) {
	c.t.Helper()
	m, order := pubByConn(recs)
	origs := map[pubConn][]string{}
	taken := map[pubConn]bool{}
	for _, z := range zs {
		if z.orig != "" {
			cn := pubConnOf(z.orig, z.resp)
			origs[cn] = append(origs[cn], z.orig)
			taken[cn] = true
		}
	}
	for _, z := range zs {
		if !z.origRST && !z.respRST {
			continue
		}
		desc := fmt.Sprintf("zeek history %q state %q", z.history, z.state)
		if z.orig != "" {
			cn := pubConnOf(z.orig, z.resp)
			p := zeekProblem(z, m[cn], len(origs[cn]) == 1)
			c.check(refZeek, cn, p == "", "%s: %s", desc, p)
			continue
		}
		var fit pubConn
		var tried []string
		for _, cn := range order {
			if taken[cn] {
				continue
			}
			p := zeekProblem(z, m[cn], false)
			if p == "" {
				fit = cn
				break
			}
			tried = append(tried, cn.String()+": "+p)
		}
		if fit != (pubConn{}) {
			taken[fit] = true
		}
		c.check(refZeek, fit, fit != (pubConn{}), "%s, no connection of rstwhy's fits: %s", desc, strings.Join(tried, " | "))
	}
	// rstwhy's client is the side that sent the first SYN, as Zeek's
	// originator is (when Zeek did not flip it): where rstwhy saw the SYN
	// they must agree. A split tuple agrees with any of its pieces.
	for _, cn := range slices.SortedFunc(maps.Keys(origs), pubCmpConn) {
		for _, r := range m[cn] {
			if r.ClientGuessed {
				continue
			}
			c.check(refZeekClient, cn, slices.Contains(origs[cn], r.Client),
				"frame %d: rstwhy's client %s, zeek's originator %v", r.Frame, r.Client, origs[cn])
			break
		}
	}
}

// suricata: the RST bit of tcp_flags_ts (tc) is set exactly when the
// client (server) sent a RST at any point. So each side with the bit set
// must have a record of a RST it sent with its role as resetter, and no
// record may come from a side whose bit is clear or give a sender the
// other side's role: follow-ups included, since a clear bit means that
// side never sent a RST at all.
func (c *publicCheck) suricata(flows []suricataFlow, recs []pubRec) {
	c.t.Helper()
	m, _ := pubByConn(recs)
	for _, f := range flows {
		cn := pubConnOf(f.client, f.server)
		var problems []string
		sent := map[string]bool{}
		for _, r := range m[cn] {
			sent[r.src] = true
			role, rst := "client", f.clientRST
			if r.src == f.server {
				role, rst = "server", f.srvRST
			}
			if !rst {
				problems = append(problems, fmt.Sprintf("frame %d: RST from the %s %s, whose RST bit is clear", r.Frame, role, r.src))
			} else if r.Resetter != role {
				problems = append(problems, fmt.Sprintf("frame %d: resetter %s, suricata's %s sent it (rstwhy's client %s, guessed %v)",
					r.Frame, r.Resetter, role, r.Client, r.ClientGuessed))
			}
		}
		if f.clientRST && !sent[f.client] {
			problems = append(problems, "the client "+f.client+" sent a RST, rstwhy has none from it")
		}
		if f.srvRST && !sent[f.server] {
			problems = append(problems, "the server "+f.server+" sent a RST, rstwhy has none from it")
		}
		c.check(refSuricata, cn, len(problems) == 0, "suricata RST bits client %v server %v: %s",
			f.clientRST, f.srvRST, strings.Join(problems, "; "))
	}
}

// arkime: tcpflags.rst counts a session's RST packets, both directions;
// the sessions of a 4-tuple (Arkime splits long idle ones) are summed.
// Arkime's source is the side it saw start the session: where rstwhy saw
// the SYN, its client must be that side.
func (c *publicCheck) arkime(ss []arkimeSession, recs []pubRec) {
	c.t.Helper()
	m, _ := pubByConn(recs)
	want := map[pubConn]int{}
	sources := map[pubConn][]string{}
	for _, s := range ss {
		cn := pubConnOf(s.source, s.destination)
		want[cn] += s.rst
		sources[cn] = append(sources[cn], s.source)
	}
	for _, cn := range slices.SortedFunc(maps.Keys(want), pubCmpConn) {
		var frames []int64
		for _, r := range m[cn] {
			frames = append(frames, r.Frame)
		}
		c.check(refArkime, cn, want[cn] == len(frames), "arkime counts %d RSTs, rstwhy has %d (frames %v)", want[cn], len(frames), frames)
		for _, r := range m[cn] {
			if r.ClientGuessed {
				continue
			}
			c.check(refArkimeCli, cn, slices.Contains(sources[cn], r.Client),
				"frame %d: rstwhy's client %s, arkime's source %v", r.Frame, r.Client, sources[cn])
			break
		}
	}
}

func pubCmpConn(a, b pubConn) int { return strings.Compare(a.String(), b.String()) }

// table aligns rows under a header, two spaces between columns.
func pubTable(head []string, rows [][]string) string {
	all := append([][]string{head}, rows...)
	sort.SliceStable(all[1:], func(i, j int) bool { return all[1+i][0] < all[1+j][0] })
	width := make([]int, len(head))
	for _, r := range all {
		for i, cell := range r {
			width[i] = max(width[i], len(cell))
		}
	}
	var b strings.Builder
	for _, r := range all {
		for i, cell := range r {
			fmt.Fprintf(&b, "%-*s  ", width[i], cell)
		}
		b.WriteString("\n")
	}
	return b.String()
}
