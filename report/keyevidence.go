package report

import (
	"regexp"
	"slices"
	"strings"

	"github.com/rstwhy/rstwhy/heuristics"
)

// Key returns the index in r.Evidence of the sentence that carries the
// verdict, the one a reader in a hurry should see first; -1 when there
// is no evidence. Heuristics write their evidence as a story, the setting
// first ("frame 1: the client's SYN"), the reading later, so the first
// sentence is often the least telling. The key is, in this order:
//   - a sentence about the RST's own frame that gives a reading after a
//     colon ("frame 28: RST+ACK ...: close() with data unread");
//   - else the first sentence citing a frame that gives such a reading;
//   - else the first sentence that is not a caveat (for unknown, the last
//     but the application's: what the RST matched and did not).
//
// Caveats ("... looks the same", "the wire cannot show") are never the
// key while another sentence is there. Follow-ups keep their first
// sentence, which names the RST they follow.
func (r *Record) Key() int {
	ev := r.Evidence
	switch {
	case len(ev) == 0:
		return -1
	case r.Followup || r.CopyOf != 0:
		return 0
	case r.Cause == "unknown":
		// The last, less the application's sentence (ExplainApp adds it
		// last), which names the exchange, not the reading.
		for i := len(ev) - 1; i > 0; i-- {
			if !strings.HasPrefix(ev[i], heuristics.AppPrefix) {
				return i
			}
		}
		return 0
	}
	for i, s := range ev {
		if !caveat(s) && reading(s) && slices.Contains(Cites(s), r.Frame) {
			return i
		}
	}
	for i, s := range ev {
		if !caveat(s) && reading(s) && len(Cites(s)) > 0 {
			return i
		}
	}
	for i, s := range ev {
		if !caveat(s) {
			return i
		}
	}
	return 0
}

// KeyFirst returns r's evidence with the key sentence first, the others
// after it in their order.
func (r *Record) KeyFirst() []string {
	k := r.Key()
	if k <= 0 {
		return r.Evidence
	}
	out := make([]string, 0, len(r.Evidence))
	out = append(out, r.Evidence[k])
	out = append(out, r.Evidence[:k]...)
	return append(out, r.Evidence[k+1:]...)
}

// framePrefix is a sentence's "frame 12: " or "from frame 3: ", which
// says where, not what it means.
var framePrefix = regexp.MustCompile(`(^|; )(from )?frames? [0-9]+: `)

// reading reports whether s, past its frame prefixes, goes on after a
// colon: the fact, then what it means.
func reading(s string) bool {
	return strings.Contains(framePrefix.ReplaceAllString(s, ""), ": ")
}

func caveat(s string) bool {
	for _, c := range []string{"cannot show", "look the same", "looks the same", "but a ", "but its", "though "} {
		if strings.Contains(s, c) {
			return true
		}
	}
	return false
}
