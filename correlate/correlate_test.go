package correlate_test

import (
	stdcmp "cmp"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rstwhy/rstwhy/correlate"
)

// t0 is an arbitrary capture time: 2025-03-01 12:00 UTC.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano()

func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// capture numbers resets as frames, in the order they are added.
type capture struct{ rs []correlate.Reset }

func (c *capture) add(r correlate.Reset) int64 {
	r.Frame = int64(len(c.rs) + 1)
	c.rs = append(c.rs, r)
	return r.Frame
}

// serverReset is a reset sent by server to client, the way a server resets
// a connection it closed with the request unread.
func serverReset(ts time.Duration, server, client, cause string) correlate.Reset {
	return correlate.Reset{TS: t0 + int64(ts), Resetter: ap(server), Peer: ap(client), Server: ap(server), Cause: cause}
}

// refusal is server's RST+ACK to client's SYN on port.
func refusal(ts time.Duration, server string, port uint16, client string) correlate.Reset {
	s := netip.AddrPortFrom(netip.MustParseAddr(server), port)
	return correlate.Reset{TS: t0 + int64(ts), Resetter: s, Peer: ap(client), Server: s, Cause: "connection_refused", AnswersSYN: true}
}

func followup(ts time.Duration, first correlate.Reset, of int64) correlate.Reset {
	first.TS, first.Followup, first.FollowupOf = t0+int64(ts), true, of
	return first
}

// run feeds rs to c and returns the assignments and every group, in ID
// order, after checking what must hold on any input.
func run(tb testing.TB, c *correlate.Correlator, rs []correlate.Reset) ([]correlate.Assignment, []correlate.Group) {
	tb.Helper()
	var groups []correlate.Group
	c.Emit = func(g correlate.Group) { groups = append(groups, g) }
	as := make([]correlate.Assignment, len(rs))
	for i, r := range rs {
		as[i] = c.Add(r)
	}
	if got := c.Flush(); got != nil {
		tb.Errorf("Flush with Emit set returned %d groups, want nil", len(got))
	}
	slices.SortFunc(groups, func(a, b correlate.Group) int { return stdcmp.Compare(a.ID, b.ID) })
	checkGroups(tb, rs, as, groups)
	return as, groups
}

// checkGroups checks the invariants: IDs 1, 2, 3, ... in the order groups
// start; every group emitted once; each group's count, frames and final
// kind agree with the assignments; no negative span.
func checkGroups(tb testing.TB, rs []correlate.Reset, as []correlate.Assignment, groups []correlate.Group) {
	tb.Helper()
	type seen struct {
		count       int64
		first, last int
		lastKind    string
	}
	byID := map[int64]*seen{}
	var maxID int64
	for i, a := range as {
		if a.Group <= 0 || a.Group > maxID+1 {
			tb.Fatalf("reset %d (frame %d): group %d after groups up to %d", i, rs[i].Frame, a.Group, maxID)
		}
		if a.Group == maxID+1 {
			maxID++
			byID[a.Group] = &seen{first: i}
		}
		s := byID[a.Group]
		s.count++
		s.last, s.lastKind = i, a.Kind
	}
	if int64(len(groups)) != maxID {
		tb.Fatalf("%d groups emitted, %d IDs given", len(groups), maxID)
	}
	var total int64
	for i, g := range groups {
		if g.ID != int64(i+1) {
			tb.Fatalf("group %d emitted as ID %d (twice, or one missing)", i+1, g.ID)
		}
		s := byID[g.ID]
		total += g.Count
		if g.Count != s.count {
			tb.Errorf("group %d: Count %d, %d resets assigned", g.ID, g.Count, s.count)
		}
		if g.FirstFrame != rs[s.first].Frame || g.LastFrame != rs[s.last].Frame || g.FirstTS != rs[s.first].TS || g.LastTS != rs[s.last].TS {
			tb.Errorf("group %d: frames %d..%d at %d..%d, assigned %d..%d", g.ID, g.FirstFrame, g.LastFrame, g.FirstTS, g.LastTS, rs[s.first].Frame, rs[s.last].Frame)
		}
		if g.Kind != s.lastKind {
			tb.Errorf("group %d: kind %q, its last reset was told %q", g.ID, g.Kind, s.lastKind)
		}
		if g.Span < 0 || g.Conns < 1 || g.Conns > g.Count || g.Ports < 1 || int64(g.Ports) > g.Conns || g.Burst < 1 || g.Burst > g.Conns {
			tb.Errorf("group %d: impossible summary %+v", g.ID, g)
		}
		if g.Count == 1 && g.Kind != "" {
			tb.Errorf("group %d: a single reset of kind %q", g.ID, g.Kind)
		}
		switch g.Kind {
		case "", correlate.Storm, correlate.Repeat, correlate.Scan:
		default:
			tb.Errorf("group %d: unknown kind %q", g.ID, g.Kind)
		}
	}
	if total != int64(len(rs)) {
		tb.Errorf("group counts sum to %d, %d resets", total, len(rs))
	}
}

// summary is what the table tests compare of a group.
type summary struct {
	ID           int64
	Kind         string
	Count, Conns int64
	Ports        int
	Burst        int64
}

func summarize(groups []correlate.Group) []summary {
	var out []summary
	for _, g := range groups {
		out = append(out, summary{g.ID, g.Kind, g.Count, g.Conns, g.Ports, g.Burst})
	}
	return out
}

const (
	server  = "10.0.0.1:80"
	scanner = "10.6.6.6:40000"
)

func client(i int) string { return fmt.Sprintf("192.0.2.%d:%d", 1+i%250, 50000+i) }

var groupTests = []struct {
	name, why string
	capture   func(c *capture)
	want      []summary
}{
	{
		"storm", "9 connections of one host reset within a millisecond: a process exit",
		func(c *capture) {
			causes := []string{"unread_data_close", "linger_abort", "zero_window_abort"}
			for i := range 9 {
				c.add(serverReset(time.Duration(i)*100*time.Microsecond, server, client(i), causes[i%3]))
			}
		},
		[]summary{{1, correlate.Storm, 9, 9, 1, 9}},
	},
	{
		"storm of one cause", "the repeat relation holds too, and a burst is named storm first",
		func(c *capture) {
			for i := range 9 {
				c.add(serverReset(time.Duration(i)*100*time.Microsecond, server, client(i), "unread_data_close"))
			}
		},
		[]summary{{1, correlate.Storm, 9, 9, 1, 9}},
	},
	{
		"client storm", "a Windows client resets its connections to several servers at once",
		func(c *capture) {
			for i := range 5 {
				srv := fmt.Sprintf("198.51.100.%d:443", i+1)
				c.add(correlate.Reset{TS: t0 + int64(i)*int64(20*time.Microsecond), Resetter: ap(fmt.Sprintf("192.0.2.7:%d", 50000+i)), Peer: ap(srv), Server: ap(srv), Cause: "linger_abort"})
			}
		},
		[]summary{{1, correlate.Storm, 5, 5, 1, 5}},
	},
	{
		"repeat", "one cause every minute for 100 minutes is one finding",
		func(c *capture) {
			for i := range 100 {
				c.add(serverReset(time.Duration(i)*time.Minute, server, client(i), "unread_data_close"))
			}
		},
		[]summary{{1, correlate.Repeat, 100, 100, 1, 1}},
	},
	{
		"scan", "65 refusals from one host to one peer across 65 ports",
		func(c *capture) {
			for i := range 65 {
				c.add(refusal(time.Duration(i)*2*time.Millisecond, "10.0.0.1", uint16(1000+i), scanner))
			}
		},
		[]summary{{1, correlate.Scan, 65, 65, 64, 65}},
	},
	{
		"slow scan", "10 s between refusals: too slow for a storm, a scan still",
		func(c *capture) {
			for i := range 10 {
				c.add(refusal(time.Duration(i)*10*time.Second, "10.0.0.1", uint16(20+i), scanner))
			}
		},
		[]summary{{1, correlate.Scan, 10, 10, 10, 1}},
	},
	{
		"refused retries", "a client retrying one closed port is a repeat, not a scan",
		func(c *capture) {
			for i := range 10 {
				c.add(refusal(time.Duration(i)*5*time.Second, "10.0.0.1", 8080, client(i)))
			}
		},
		[]summary{{1, correlate.Repeat, 10, 10, 1, 1}},
	},
	{
		"unrelated", "two hosts, one reset each",
		func(c *capture) {
			c.add(serverReset(0, server, client(1), "unread_data_close"))
			c.add(serverReset(time.Millisecond, "10.0.0.2:443", client(2), "linger_abort"))
		},
		[]summary{{1, "", 1, 1, 1, 1}, {2, "", 1, 1, 1, 1}},
	},
	{
		"one host an hour apart", "past every window",
		func(c *capture) {
			c.add(serverReset(0, server, client(1), "unread_data_close"))
			c.add(serverReset(time.Hour, server, client(2), "unread_data_close"))
		},
		[]summary{{1, "", 1, 1, 1, 1}, {2, "", 1, 1, 1, 1}},
	},
	{
		"too few to name", "two resets of one host within 10 ms: grouped, not a storm",
		func(c *capture) {
			c.add(serverReset(0, server, client(1), "unread_data_close"))
			c.add(serverReset(time.Millisecond, server, client(2), "linger_abort"))
		},
		[]summary{{1, "", 2, 2, 1, 2}},
	},
	{
		"followups", "follow-ups join their first reset's group and count no connection",
		func(c *capture) {
			var first []int64
			for i := range 3 {
				first = append(first, c.add(serverReset(time.Duration(i)*time.Millisecond, server, client(i), "unread_data_close")))
			}
			lone := serverReset(time.Second, "10.0.0.9:22", client(9), "no_socket")
			lf := c.add(lone)
			c.add(followup(1500*time.Millisecond, c.rs[0], first[0]))
			c.add(followup(1600*time.Millisecond, c.rs[2], first[2]))
			c.add(followup(1700*time.Millisecond, lone, lf))
			c.add(followup(3*time.Second, c.rs[0], first[0]))
		},
		[]summary{{1, correlate.Storm, 6, 3, 1, 3}, {2, "", 2, 1, 1, 1}},
	},
	{
		"burst that recurs", "a storm whose key comes back a minute later is a repeat; Burst keeps the storm",
		func(c *capture) {
			for i := range 9 {
				c.add(serverReset(time.Duration(i)*100*time.Microsecond, server, client(i), "unread_data_close"))
			}
			c.add(serverReset(time.Minute, server, client(9), "unread_data_close"))
		},
		[]summary{{1, correlate.Repeat, 10, 10, 1, 9}},
	},
	{
		"two storms", "a second burst 2 s after the first, of other causes, is an event of its own",
		func(c *capture) {
			for i := range 4 {
				c.add(serverReset(time.Duration(i)*time.Millisecond, server, client(i), []string{"linger_abort", "unread_data_close"}[i%2]))
			}
			for i := range 4 {
				c.add(serverReset(2*time.Second+time.Duration(i)*time.Millisecond, server, client(i), []string{"zero_window_abort", "no_socket"}[i%2]))
			}
		},
		[]summary{{1, correlate.Storm, 4, 4, 1, 4}, {2, correlate.Storm, 4, 4, 1, 4}},
	},
	{
		"scan kept", "a reset of the scanned host during a fast scan does not turn the scan into a storm",
		func(c *capture) {
			for i := range 10 {
				c.add(refusal(time.Duration(i)*time.Millisecond, "10.0.0.1", uint16(1000+i), scanner))
			}
			c.add(serverReset(10*time.Millisecond, server, client(1), "linger_abort"))
		},
		[]summary{{1, correlate.Scan, 10, 10, 10, 10}, {2, "", 1, 1, 1, 1}},
	},
	{
		"interleaved", "a storm of one host amid a repeat of another",
		func(c *capture) {
			for i := range 10 {
				c.add(serverReset(time.Duration(i)*time.Minute, "10.0.0.2:443", client(i), "keepalive_timeout"))
				if i == 5 {
					for j := range 4 {
						c.add(serverReset(5*time.Minute+time.Second+time.Duration(j)*time.Millisecond, server, client(j), "unread_data_close"))
					}
				}
			}
		},
		[]summary{{1, correlate.Repeat, 10, 10, 1, 1}, {2, correlate.Storm, 4, 4, 1, 4}},
	},
	{
		"ipv6 and mapped", "an IPv4-mapped address is the IPv4 host",
		func(c *capture) {
			c.add(serverReset(0, "[::ffff:10.0.0.1]:80", client(1), "linger_abort"))
			c.add(serverReset(time.Millisecond, server, client(2), "unread_data_close"))
			c.add(serverReset(2*time.Millisecond, "[::ffff:10.0.0.1]:80", client(3), "no_socket"))
			c.add(serverReset(3*time.Millisecond, "[2001:db8::1]:80", client(4), "no_socket"))
		},
		[]summary{{1, correlate.Storm, 3, 3, 1, 3}, {2, "", 1, 1, 1, 1}},
	},
}

func TestGroups(t *testing.T) {
	for _, tt := range groupTests {
		t.Run(tt.name, func(t *testing.T) {
			var c capture
			tt.capture(&c)
			_, groups := run(t, &correlate.Correlator{}, c.rs)
			if diff := cmp.Diff(tt.want, summarize(groups)); diff != "" {
				t.Errorf("%s: groups (-want +got):\n%s", tt.why, diff)
			}
		})
	}
}

// The ID is final at Add: a storm's first reset carries the storm's ID
// before anyone knows it is one; the kind comes when the third arrives.
func TestAssignmentsFinalAtAdd(t *testing.T) {
	var c capture
	for i := range 4 {
		c.add(serverReset(time.Duration(i)*time.Millisecond, server, client(i), "linger_abort"))
	}
	c.add(serverReset(time.Hour, "10.0.0.2:80", client(1), "linger_abort"))
	as, _ := run(t, &correlate.Correlator{}, c.rs)
	want := []correlate.Assignment{{1, ""}, {1, ""}, {1, correlate.Storm}, {1, correlate.Storm}, {2, ""}}
	if diff := cmp.Diff(want, as); diff != "" {
		t.Errorf("assignments (-want +got):\n%s", diff)
	}
}

func TestBackwardsTime(t *testing.T) {
	tests := []struct {
		name, why string
		capture   func(c *capture)
		want      []summary
		wantSpan  []time.Duration
	}{
		{
			"jittered storm", "resets of a burst out of time order (merged captures) are still one burst",
			func(c *capture) {
				for _, us := range []int{0, 300, 100, 500, 200, 800, 400, 700, 600} {
					c.add(serverReset(time.Duration(us)*time.Microsecond, server, client(us), "linger_abort"))
				}
			},
			[]summary{{1, correlate.Storm, 9, 9, 1, 9}},
			[]time.Duration{1600 * time.Microsecond}, // the forward steps only: 300+400+600+300
		},
		{
			"clock step back", "an hour's step back in a repeat counts as no time passing",
			func(c *capture) {
				for i := range 50 {
					c.add(serverReset(time.Duration(i)*time.Minute, server, client(i), "unread_data_close"))
				}
				for i := range 50 {
					c.add(serverReset(-time.Hour+time.Duration(i)*time.Minute, server, client(i), "unread_data_close"))
				}
			},
			// The reset after the step comes "at once" after the one before: a
			// burst of two, and 49+49 minutes of span.
			[]summary{{1, correlate.Repeat, 100, 100, 1, 2}},
			[]time.Duration{98 * time.Minute},
		},
		{
			"extreme times", "the ends of int64 neither overflow nor panic",
			func(c *capture) {
				for i, ts := range []int64{math.MinInt64, math.MaxInt64, math.MinInt64, 0, math.MaxInt64, math.MaxInt64} {
					r := serverReset(0, server, client(i), "linger_abort")
					r.TS = ts
					c.add(r)
				}
			},
			// MinInt64 to MaxInt64 saturates the clock: what follows is simultaneous.
			[]summary{{1, "", 1, 1, 1, 1}, {2, correlate.Storm, 5, 5, 1, 5}},
			[]time.Duration{0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c capture
			tt.capture(&c)
			_, groups := run(t, &correlate.Correlator{}, c.rs)
			if diff := cmp.Diff(tt.want, summarize(groups)); diff != "" {
				t.Errorf("%s: groups (-want +got):\n%s", tt.why, diff)
			}
			var spans []time.Duration
			for _, g := range groups {
				spans = append(spans, g.Span)
			}
			if diff := cmp.Diff(tt.wantSpan, spans); diff != "" {
				t.Errorf("%s: spans (-want +got):\n%s", tt.why, diff)
			}
		})
	}
}

// With Emit nil, Flush returns the largest groups of two or more and
// Stats accounts for the rest.
func TestFlushKeepsLargest(t *testing.T) {
	var c capture
	for h := range 5 { // host h: a group of h+1 resets, 2 s apart from the next host's
		for i := range h + 1 {
			c.add(serverReset(time.Duration(h)*2*time.Second+time.Duration(i)*time.Millisecond, fmt.Sprintf("10.0.1.%d:80", h), client(i), "linger_abort"))
		}
	}
	k := &correlate.Correlator{MaxKept: 2}
	for _, r := range c.rs {
		k.Add(r)
	}
	got := k.Flush()
	want := []summary{{4, correlate.Storm, 4, 4, 1, 4}, {5, correlate.Storm, 5, 5, 1, 5}}
	if diff := cmp.Diff(want, summarize(got)); diff != "" {
		t.Errorf("Flush (-want +got):\n%s", diff)
	}
	s := k.Stats()
	if s.Singletons != 1 || s.Dropped != 2 || s.DroppedResets != 5 || s.Open != 0 || s.Groups != 5 || s.Resets != 15 {
		t.Errorf("Stats = %+v, want 1 singleton, 2 groups of 5 resets dropped, 5 groups, 15 resets, none open", s)
	}
	if again := k.Flush(); len(again) != 0 {
		t.Errorf("a second Flush returned %d groups", len(again))
	}
}

// A group that no reset can join any more closes on its own: a stream's
// summaries do not wait for the end of the capture.
func TestGroupsCloseInTime(t *testing.T) {
	var closed []int64
	c := &correlate.Correlator{Emit: func(g correlate.Group) { closed = append(closed, g.ID) }}
	for i := range 3 {
		c.Add(correlate.Reset{Frame: int64(i + 1), TS: t0 + int64(i)*int64(time.Millisecond), Resetter: ap(server), Peer: ap(client(i)), Server: ap(server), Cause: []string{"a", "b", "c"}[i]})
	}
	// The storm has mixed causes: not a repeat candidate, it closes a minute
	// after its last reset.
	c.Add(correlate.Reset{Frame: 4, TS: t0 + int64(61*time.Second), Resetter: ap("10.0.0.2:80"), Peer: ap(client(1)), Server: ap("10.0.0.2:80"), Cause: "a"})
	if !slices.Equal(closed, []int64{1}) {
		t.Errorf("after 61 s closed %v, want [1]", closed)
	}
	// A repeat candidate waits for RepeatGap after its last reset.
	c.Add(correlate.Reset{Frame: 5, TS: t0 + int64(17*time.Minute), Resetter: ap("10.0.0.3:80"), Peer: ap(client(1)), Server: ap("10.0.0.3:80"), Cause: "a"})
	if !slices.Equal(closed, []int64{1, 2}) {
		t.Errorf("after 17 min closed %v, want [1 2]", closed)
	}
}

func TestEvictionUnderCap(t *testing.T) {
	var evicted int
	c := &correlate.Correlator{MaxOpen: 2, Emit: func(g correlate.Group) {
		if g.Evicted {
			evicted++
		}
	}}
	for i := range 5 {
		c.Add(correlate.Reset{Frame: int64(i + 1), TS: t0 + int64(i)*int64(time.Second), Resetter: ap(fmt.Sprintf("10.0.2.%d:80", i)), Server: ap(fmt.Sprintf("10.0.2.%d:80", i)), Cause: "a"})
		if open := c.Stats().Open; open > 2 {
			t.Fatalf("after %d resets %d groups open, cap 2", i+1, open)
		}
	}
	c.Flush()
	if s := c.Stats(); evicted != 3 || s.Evicted != 3 {
		t.Errorf("evicted %d (Stats %d), want 3", evicted, s.Evicted)
	}
}
