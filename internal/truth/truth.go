// Package truth reads the answer files of the scenario lab: for each capture
// under testdata/pcaps, NAME.truth.json lists every TCP RST in it, which frame
// it is, who sent it, what the Linux kernel named it when it sent it (the
// tcp/tcp_send_reset tracepoint) and the cause rstwhy must report.
//
// Start with Load; Resets lists the RST frames of a capture so that a test can
// hold a truth file against its capture. Not a goal: analysing connections;
// this package only reads what the lab wrote.
package truth

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
)

// Causes are the cause IDs a truth file may name, as rstwhy reports them.
// They are stable data: add, never rename.
var Causes = []string{
	"unread_data_close",
	"linger_abort",
	"connection_refused",
	"no_socket",
	"data_after_close",
	"timewait_rst",
	"keepalive_timeout",
	"retransmission_timeout",
	"zero_window_abort",
	"invalid_segment",
	"middlebox_reset",
	"unknown",
}

// KnownCause reports whether id is one of Causes.
func KnownCause(id string) bool { return slices.Contains(Causes, id) }

// Who sent a RST.
const (
	Client    = "client"
	Server    = "server"
	Middlebox = "middlebox"
)

// File is one NAME.truth.json.
type File struct {
	Scenario    string  `json:"scenario"`
	Variant     string  `json:"variant"`
	Description string  `json:"description"`
	Capture     Capture `json:"capture"`
	Client      string  `json:"client"`
	Server      string  `json:"server"`
	Kernel      string  `json:"kernel"`
	Resets      []Reset `json:"resets"`
	// UnmatchedTrace are RSTs the kernel sent that the capture does not
	// hold, e.g. dropped by a firewall before the capture point.
	UnmatchedTrace []TraceEvent `json:"unmatched_trace"`
	// CleanConnections close with FIN; rstwhy must not report them.
	CleanConnections int `json:"clean_connections"`
}

// Capture says where and how the capture was taken.
type Capture struct {
	File    string `json:"file"`   // name beside the truth file
	Point   string `json:"point"`  // client, server or router
	Link    string `json:"link"`   // EN10MB, LINUX_SLL2 or LINUX_SLL
	Format  string `json:"format"` // pcap or pcapng
	Snaplen int    `json:"snaplen"`
}

// Reset is one RST frame of the capture.
type Reset struct {
	Frame int64  `json:"frame"` // 1-based, as Wireshark counts
	Time  string `json:"time"`  // RFC 3339 with nanoseconds
	Src   string `json:"src"`
	Sport uint16 `json:"sport"`
	Dst   string `json:"dst"`
	Dport uint16 `json:"dport"`
	Seq   uint32 `json:"seq"`
	Ack   uint32 `json:"ack"`
	Flags string `json:"flags"` // tcpdump style: "R", "R."

	Resetter string `json:"resetter"` // Client, Server or Middlebox
	// KernelReason and KernelState come from the tcp_send_reset event this
	// frame matched; nil when no event did (a RST no kernel stack sent).
	KernelReason *string `json:"kernel_reason"`
	KernelState  *string `json:"kernel_state"`
	Cause        string  `json:"cause"`
	// Followup marks a later RST of a connection that was already reset;
	// it carries the cause of the first.
	Followup bool `json:"followup"`
	// CopyOf is the frame of the first copy when the capture holds the
	// same RST twice (a router seen with -i any); 0 otherwise.
	CopyOf int64  `json:"copy_of"`
	Note   string `json:"note"`
	// CausedBy is, for a proxy's reset of its client (a cascade scenario,
	// captured on the proxy), the upstream event it follows; nil
	// elsewhere.
	CausedBy *CausedBy `json:"caused_by,omitempty"`
}

// CausedBy links a reset to the upstream event that preceded it: Event is
// one of CascadeEvents, Frame the event's frame (1-based).
type CausedBy struct {
	Frame int64  `json:"frame"`
	Event string `json:"event"`
}

// CascadeEvents are the upstream events a truth file's caused_by may name,
// as rstwhy reports them.
var CascadeEvents = []string{"upstream_rst", "upstream_refused", "upstream_timeout", "upstream_fin"}

// TraceEvent is a tcp_send_reset event with no frame in the capture.
type TraceEvent struct {
	Src    string `json:"src"`
	Dst    string `json:"dst"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// ErrInvalid says a truth file breaks the schema.
var ErrInvalid = errors.New("invalid truth file")

// Load reads and checks one truth file.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &f, nil
}

func (f *File) check() error {
	if f.Scenario == "" || f.Variant == "" || f.Capture.File == "" {
		return fmt.Errorf("%w: scenario, variant and capture.file are required", ErrInvalid)
	}
	for _, r := range f.Resets {
		if !KnownCause(r.Cause) {
			return fmt.Errorf("%w: frame %d: unknown cause %q", ErrInvalid, r.Frame, r.Cause)
		}
		if c := r.CausedBy; c != nil && (c.Frame <= 0 || c.Frame >= r.Frame || !slices.Contains(CascadeEvents, c.Event)) {
			return fmt.Errorf("%w: frame %d: caused_by %+v: want an earlier frame and one of %q", ErrInvalid, r.Frame, *c, CascadeEvents)
		}
		switch r.Resetter {
		case Client, Server, Middlebox:
		default:
			return fmt.Errorf("%w: frame %d: unknown resetter %q", ErrInvalid, r.Frame, r.Resetter)
		}
	}
	return nil
}
