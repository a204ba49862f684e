package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// scenario is one family of resets. Its variants change the address family,
// the capture point, the link type, the file format and scenario tags.
type scenario struct {
	name     string
	desc     string
	variants []variant
	snaplen  int // 0 = 262144; bulk scenarios use 256
	// dir is the corpus the variant's files go to when -out is not
	// given: "" is testdata/pcaps, which every rule must judge right;
	// real server software goes to testdata/pcaps-servers, held by a
	// ratchet instead.
	dir    string
	routed bool // always run on the routed topology
	// server and client play the roles in agent processes; nil server
	// means no listener on port.
	server, client func(a *agent) error
	// injector, when set, is a third role run in the router namespace:
	// it forges RSTs and prints what it sent (see scenarios_forge.go).
	injector func(a *agent) error
	// drive runs the roles; nil runs the server, then the client to its
	// end.
	drive func(ctx context.Context, r *runner) error
	// causes overrides the default reason → cause mapping for the first
	// RST of a connection; tagCauses does so for variants with a tag.
	causes    map[string]string
	tagCauses map[string]map[string]string
	// expect lists the kernel reasons the first RST of a connection may
	// have ("" for none); a run that gives another is retried: the
	// scenario raced.
	expect []string
	// moreClean counts clean connections of the scenario itself.
	moreClean int
	// note is copied to each RST of the given reason.
	notes map[string]string
}

// variant is a name such as "v6-any-router-ng" or "413-v4-eth-server": the
// tokens v4/v6, eth/any, client/server/router and ng set the capture; any
// other token is a tag the scenario reads.
type variant string

func (v variant) tokens() []string { return strings.Split(string(v), "-") }

func (v variant) has(tok string) bool {
	for _, t := range v.tokens() {
		if t == tok {
			return true
		}
	}
	return false
}

func (v variant) v6() bool { return v.has("v6") }

// link is the capture's link type: "any" is -i any with LINUX_SLL2, "sll"
// -i any with the older LINUX_SLL; otherwise the veth's Ethernet.
func (v variant) link() string {
	switch {
	case v.has("any"):
		return "LINUX_SLL2"
	case v.has("sll"):
		return "LINUX_SLL"
	}
	return "EN10MB"
}
func (v variant) ng() bool { return v.has("ng") }

func (v variant) point() string {
	for _, p := range []string{"router", "server"} {
		if v.has(p) {
			return p
		}
	}
	return "client"
}

func (v variant) tags() map[string]bool {
	m := map[string]bool{}
	for _, t := range v.tokens() {
		m[t] = true
	}
	return m
}

type job struct {
	s *scenario
	v variant
}

func (j job) name() string { return j.s.name + "-" + string(j.v) }

func (j job) topo() topo {
	return topo{routed: j.s.routed || j.v.point() == "router", v6: j.v.v6()}
}

func findJob(name string) (job, bool) {
	for _, s := range scenarios() {
		for _, v := range s.variants {
			if j := (job{s: s, v: v}); j.name() == name {
				return j, true
			}
		}
	}
	return job{}, false
}

type lab struct {
	out    string
	log    io.Writer
	tr     *tracer
	kernel string
	tmp    string
}

func newLab(out string, log io.Writer) (*lab, error) {
	teardown() // leftovers of a crashed run
	tr, err := newTracer()
	if err != nil {
		return nil, err
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "rstlab")
	if err != nil {
		return nil, err
	}
	return &lab{out: out, log: log, tr: tr, kernel: unix.ByteSliceToString(u.Release[:]), tmp: tmp}, nil
}

func (l *lab) close() {
	teardown()
	l.tr.close()
	os.RemoveAll(l.tmp)
}

// runner is what a scenario's drive function gets.
type runner struct {
	j    job
	t    topo
	self string // the job name agents look up
	// forged lists the RSTs the scenario's injector sent, for label.
	forged []forged
}

func (r *runner) agent(role string) (*proc, error) {
	ns := nsServer
	if role == "client" {
		ns = nsClient
	}
	return startAgent(ns, role, "-job", r.self, "-role", role, "-server", r.t.server(), "-client", r.t.client())
}

// fw changes the router's (or a host's) firewall.
func (r *runner) fw(ctx context.Context, ns string, args ...string) error {
	return r.t.fw(ctx, ns, args...)
}

// standard starts the server, runs the client to its end, then stops the
// server.
func standard(ctx context.Context, r *runner) error {
	srv, err := r.agent("server")
	if err != nil {
		return err
	}
	if err := srv.expect("ready", 5*time.Second); err != nil {
		srv.kill()
		return err
	}
	cli, err := r.agent("client")
	if err != nil {
		srv.kill()
		return err
	}
	cerr := cli.wait(30 * time.Second)
	time.Sleep(200 * time.Millisecond)
	serr := srv.quit()
	if cerr != nil {
		return cerr
	}
	return serr
}

// do runs one variant, again when the capture lacks a RST it must hold
// (a packet lost by the capture, not by the network).
func (l *lab) do(ctx context.Context, j job) error {
	var err error
	for try := 1; try <= 3; try++ {
		if err = l.once(ctx, j); err == nil || ctx.Err() != nil {
			return err
		}
		fmt.Fprintf(l.log, "lab: %s: try %d: %v\n", j.name(), try, err)
	}
	return err
}

func (l *lab) once(ctx context.Context, j job) error {
	teardown()
	defer teardown()
	t := j.topo()
	if err := t.build(ctx); err != nil {
		return err
	}
	snap := j.s.snaplen
	if snap == 0 {
		snap = 262144
	}
	ns, dev := t.iface(j.v.point())
	link := j.v.link()
	if link != "EN10MB" {
		dev = "any"
	}
	raw := filepath.Join(l.tmp, j.name()+".pcap")
	d, err := startDump(ctx, ns, dev, link, snap, raw)
	if err != nil {
		return err
	}
	if err := l.tr.start(); err != nil {
		d.stop()
		return err
	}
	drive := j.s.drive
	if drive == nil {
		drive = standard
	}
	rn := &runner{j: j, t: t, self: j.name()}
	derr := drive(ctx, rn)
	time.Sleep(500 * time.Millisecond) // let the last segments reach tcpdump
	evs, terr := l.tr.stop()
	if err := d.stop(); err != nil {
		return err
	}
	if derr != nil {
		return derr
	}
	if terr != nil {
		return terr
	}
	// The capture goes to -out only with its truth file, after the checks.
	name, final := j.name()+".pcap", raw
	if j.v.ng() {
		name = j.name() + ".pcapng"
		final = filepath.Join(l.tmp, name)
		if err := toNg(raw, final, dev); err != nil {
			return err
		}
	}
	f, err := label(j, t, final, evs, rn.forged)
	if err != nil {
		return err
	}
	f.Kernel = l.kernel
	f.Capture.Snaplen = snap
	f.Capture.Link = link
	for _, r := range f.Resets {
		reason := ""
		if r.KernelReason != nil {
			reason = *r.KernelReason
		}
		if !r.Followup && r.CopyOf == 0 && j.s.expect != nil && !slices.Contains(j.s.expect, reason) {
			return fmt.Errorf("frame %d: kernel reason %q, want one of %q", r.Frame, reason, j.s.expect)
		}
	}
	for _, r := range f.Resets {
		if r.Sport == cleanPort || r.Dport == cleanPort {
			return fmt.Errorf("frame %d: the clean connection was reset", r.Frame)
		}
	}
	switch unseen := j.v.has("unseen"); {
	case len(f.Resets) == 0 && !unseen:
		return fmt.Errorf("no RST in the capture (%d kernel events)", len(evs))
	case unseen && (len(f.Resets) > 0 || len(f.UnmatchedTrace) == 0):
		return fmt.Errorf("want the RST traced but not captured; got %d frames, %d unmatched events", len(f.Resets), len(f.UnmatchedTrace))
	}
	if m := dropped.FindStringSubmatch(d.stderr.String()); m != nil && m[1] != "0" {
		return fmt.Errorf("tcpdump dropped packets: %s", d.stderr.String())
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	for _, r := range f.Resets {
		reason := "null"
		if r.KernelReason != nil {
			reason = *r.KernelReason
		}
		extra := ""
		if r.Followup {
			extra += " followup"
		}
		if r.CopyOf != 0 {
			extra += fmt.Sprintf(" copy_of=%d", r.CopyOf)
		}
		fmt.Fprintf(l.log, "  frame %d %s:%d > %s:%d [%s] %s %s -> %s%s\n", r.Frame, r.Src, r.Sport, r.Dst, r.Dport, r.Flags, r.Resetter, reason, r.Cause, extra)
	}
	for _, e := range f.UnmatchedTrace {
		fmt.Fprintf(l.log, "  unmatched %s > %s %s %s\n", e.Src, e.Dst, e.State, e.Reason)
	}
	out := l.out
	switch {
	case out != "":
	case j.s.dir != "":
		out = j.s.dir
	default:
		out = "testdata/pcaps"
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := copyFile(final, filepath.Join(out, name)); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, j.name()+".truth.json"), append(b, '\n'), 0o644)
}

var dropped = regexp.MustCompile(`(?m)^(\d+) packets? dropped by kernel`)

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
