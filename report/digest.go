package report

import (
	"cmp"
	"hash/maphash"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Digest sums up the records of a report that a reader takes in at a
// glance: alike resets in groups, with one example each, and counts by
// cause, by resetter, by server port and over time. The Markdown and HTML
// reports are drawn from it. It keeps one record per group, never all of
// them: its memory grows with the groups (at most MaxGroups) and the
// minutes the captures span, not with the resets.
//
// Alike resets are those of one capture with the same cause, the same
// resetting host and the same server port, each within GroupGap of the
// group's previous one: a server resetting its clients again and again,
// a client resetting its connections to one service, a storm. A
// follow-up joins the group of the reset it follows.
type Digest struct {
	Total     int
	Followups int
	ByCause   map[string]int
	// ByResetter counts by the resetting host's address; ByServerPort
	// by the connections' server port.
	ByResetter   map[string]int
	ByServerPort map[uint16]int
	// ByMinute counts resets by cause in each minute (Unix seconds / 60).
	ByMinute map[int64]map[string]int
	// First and Last are the times of the earliest and latest resets.
	First, Last time.Time

	groups []*DigestGroup
	open   map[digestKey]*DigestGroup
	// byGroup finds the digest group of a record's correlate group, so
	// that follow-ups join their first reset's. Most correlate groups
	// hold one reset, so it would grow with the resets: it keeps two
	// generations of at most recentGroups each, and a follow-up arrives
	// long before its first reset's entry is two generations old.
	byGroup, byGroupOld map[corrKey]*DigestGroup
	// Dropped counts records that found no group when MaxGroups were
	// already open; they are still counted everywhere else.
	Dropped int
}

// DigestGroup is a run of alike resets.
type DigestGroup struct {
	ID         int // 1, 2, ... in the order groups began
	Capture    string
	Cause      string
	Resetter   string // "client" or "server"
	Host       string // the resetting host's address
	ServerPort uint16
	Count      int // resets, follow-ups included
	Followups  int
	// Conns counts the distinct connections (client endpoints) seen, up
	// to 1000.
	Conns      int
	FirstFrame int64
	LastFrame  int64
	FirstTime  string
	LastTime   string
	// MinConf and MaxConf are the confidences of the group's first
	// resets (follow-ups left out).
	MinConf, MaxConf float64
	// Example is the group's first reset that is not a follow-up, with
	// its ladder drawn (its first reset when all are follow-ups).
	Example Record
	// Frames are the RST frames of the group, the first MaxFrames.
	Frames []int64

	lastTS  int64
	clients map[uint64]struct{} // hashes of the client endpoints seen
}

// Limits of a Digest.
const (
	MaxGroups = 10000
	MaxFrames = 50
	GroupGap  = 10 * time.Minute

	recentGroups = 1 << 14
	maxClients   = 1000
)

// clientSeed hashes client endpoints for DigestGroup.Conns: a group keeps
// up to maxClients of them, as 8-byte hashes rather than strings.
var clientSeed = maphash.MakeSeed()

type digestKey struct {
	capture, cause, resetter, host string
	port                           uint16
}

type corrKey struct {
	capture string
	group   int64
}

// NewDigest returns an empty digest.
func NewDigest() *Digest {
	return &Digest{ByCause: map[string]int{}, ByResetter: map[string]int{}, ByServerPort: map[uint16]int{},
		ByMinute: map[int64]map[string]int{}, open: map[digestKey]*DigestGroup{}, byGroup: map[corrKey]*DigestGroup{}}
}

// Add counts r and puts it in its group, which it returns (nil when
// MaxGroups were open and r found none).
func (d *Digest) Add(r *Record) *DigestGroup {
	d.Total++
	cause := summaryKey(r)
	d.ByCause[cause]++
	if r.Followup {
		d.Followups++
	}
	host := hostOf(r)
	d.ByResetter[host]++
	d.ByServerPort[serverPort(r)]++
	t, err := time.Parse(TimeFormat, r.Time)
	if err == nil {
		if d.First.IsZero() || t.Before(d.First) {
			d.First = t
		}
		if t.After(d.Last) {
			d.Last = t
		}
		m := t.Unix() / 60
		if d.ByMinute[m] == nil {
			d.ByMinute[m] = map[string]int{}
		}
		d.ByMinute[m][cause]++
	}
	ts := t.UnixNano()

	var g *DigestGroup
	ck := corrKey{r.Capture, r.Group}
	if r.Followup && r.Group != 0 {
		if g = d.byGroup[ck]; g == nil {
			g = d.byGroupOld[ck]
		}
	}
	if g == nil {
		k := digestKey{r.Capture, r.Cause, r.Resetter, host, serverPort(r)}
		g = d.open[k]
		if g != nil && ts-g.lastTS > int64(GroupGap) {
			g = nil
		}
		if g == nil {
			if len(d.groups) >= MaxGroups {
				d.Dropped++
				return nil
			}
			g = &DigestGroup{ID: len(d.groups) + 1, Capture: r.Capture, Cause: r.Cause, Resetter: r.Resetter,
				Host: host, ServerPort: serverPort(r), FirstFrame: r.Frame, FirstTime: r.Time,
				Example: *r, clients: map[uint64]struct{}{}}
			g.Example.Ladder = g.Example.BuildLadder()
			d.groups = append(d.groups, g)
			d.open[k] = g
		}
	}
	if r.Group != 0 {
		if len(d.byGroup) >= recentGroups {
			d.byGroupOld, d.byGroup = d.byGroup, make(map[corrKey]*DigestGroup, recentGroups)
		}
		d.byGroup[ck] = g
	}
	g.Count++
	if r.Followup {
		g.Followups++
	} else {
		if g.Count == g.Followups+1 {
			g.MinConf, g.MaxConf = r.Confidence, r.Confidence
			if g.Example.Followup {
				g.Example = *r
				g.Example.Ladder = g.Example.BuildLadder()
			}
		}
		g.MinConf, g.MaxConf = min(g.MinConf, r.Confidence), max(g.MaxConf, r.Confidence)
	}
	if len(g.clients) < maxClients {
		g.clients[maphash.String(clientSeed, r.Client)] = struct{}{}
		g.Conns = len(g.clients)
	}
	g.LastFrame, g.LastTime, g.lastTS = r.Frame, r.Time, ts
	if len(g.Frames) < MaxFrames {
		g.Frames = append(g.Frames, r.Frame)
	}
	return g
}

// Groups returns the groups, largest first, then in the order they
// began.
func (d *Digest) Groups() []*DigestGroup {
	out := slices.Clone(d.groups)
	slices.SortStableFunc(out, func(a, b *DigestGroup) int { return cmp.Compare(b.Count, a.Count) })
	return out
}

// Counted is a name and its count, for the sorted views of the maps.
type Counted struct {
	Name  string
	Count int
}

// Sorted returns m's entries, largest count first, then by name.
func Sorted(m map[string]int) []Counted {
	out := make([]Counted, 0, len(m))
	for k, v := range m {
		out = append(out, Counted{k, v})
	}
	slices.SortFunc(out, func(a, b Counted) int {
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// SortedPorts is Sorted for ByServerPort.
func (d *Digest) SortedPorts() []Counted {
	m := make(map[string]int, len(d.ByServerPort))
	for p, n := range d.ByServerPort {
		m[strconv.Itoa(int(p))] = n
	}
	return Sorted(m)
}

// hostOf is the resetting host's address.
func hostOf(r *Record) string {
	ep := r.Server
	if r.Resetter == "client" {
		ep = r.Client
	}
	if ap, err := netip.ParseAddrPort(ep); err == nil {
		return ap.Addr().String()
	}
	return ep
}

func serverPort(r *Record) uint16 {
	if ap, err := netip.ParseAddrPort(r.Server); err == nil {
		return ap.Port()
	}
	return 0
}
