package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// Namespaces and links all carry this prefix, so a start-up sweep can remove
// what a crashed run left behind without touching anything else.
const prefix = "rstlab-"

const (
	nsClient = prefix + "c"
	nsServer = prefix + "s"
	nsRouter = prefix + "r"
)

// topo is the network one variant runs on. Direct: client and server share
// one veth pair. Routed: a router namespace forwards between two pairs.
type topo struct {
	routed bool
	v6     bool
}

// Addresses are ULA and RFC 1918 space that exists only inside the lab's
// namespaces; no namespace has a route to the host or beyond.
func (t topo) client() string {
	if t.v6 {
		return "fd00:200:1::2"
	}
	return "10.200.1.2"
}

func (t topo) server() string {
	switch {
	case t.v6 && t.routed:
		return "fd00:200:2::2"
	case t.v6:
		return "fd00:200:1::1"
	case t.routed:
		return "10.200.2.2"
	}
	return "10.200.1.1"
}

// iface names the capture interface of a point.
func (t topo) iface(point string) (ns, dev string) {
	switch point {
	case "client":
		return nsClient, prefix + "c0"
	case "server":
		return nsServer, prefix + "s0"
	}
	return nsRouter, prefix + "r1"
}

// sh runs one command and returns its error with its output.
func sh(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// nsh runs a command inside a namespace.
func nsh(ctx context.Context, ns string, args ...string) error {
	return sh(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
}

// build creates the namespaces and links of t.
func (t topo) build(ctx context.Context) error {
	nss := []string{nsClient, nsServer}
	if t.routed {
		nss = append(nss, nsRouter)
	}
	for _, ns := range nss {
		if err := sh(ctx, "ip", "netns", "add", ns); err != nil {
			return err
		}
		if err := nsh(ctx, ns, "ip", "link", "set", "lo", "up"); err != nil {
			return err
		}
	}
	type end struct{ ns, dev, v4, v6 string }
	type pair struct{ a, b end }
	var pairs []pair
	var routes [][]string
	if t.routed {
		pairs = []pair{
			{end{nsClient, prefix + "c0", "10.200.1.2/24", "fd00:200:1::2/64"}, end{nsRouter, prefix + "r1", "10.200.1.1/24", "fd00:200:1::1/64"}},
			{end{nsServer, prefix + "s0", "10.200.2.2/24", "fd00:200:2::2/64"}, end{nsRouter, prefix + "r2", "10.200.2.1/24", "fd00:200:2::1/64"}},
		}
		routes = [][]string{
			{nsClient, "10.200.2.0/24", "10.200.1.1"}, {nsClient, "fd00:200:2::/64", "fd00:200:1::1"},
			{nsServer, "10.200.1.0/24", "10.200.2.1"}, {nsServer, "fd00:200:1::/64", "fd00:200:2::1"},
		}
	} else {
		pairs = []pair{
			{end{nsClient, prefix + "c0", "10.200.1.2/24", "fd00:200:1::2/64"}, end{nsServer, prefix + "s0", "10.200.1.1/24", "fd00:200:1::1/64"}},
		}
	}
	for _, p := range pairs {
		if err := sh(ctx, "ip", "link", "add", p.a.dev, "netns", p.a.ns, "type", "veth", "peer", "name", p.b.dev, "netns", p.b.ns); err != nil {
			return err
		}
		for _, e := range []end{p.a, p.b} {
			cmds := [][]string{
				{"ip", "addr", "add", e.v4, "dev", e.dev},
				// nodad: duplicate address detection would hold the
				// address back for a second or two.
				{"ip", "-6", "addr", "add", e.v6, "dev", e.dev, "nodad"},
				{"ip", "link", "set", e.dev, "up"},
			}
			for _, c := range cmds {
				if err := nsh(ctx, e.ns, c...); err != nil {
					return err
				}
			}
		}
	}
	for _, r := range routes {
		if err := nsh(ctx, r[0], "ip", "route", "add", r[1], "via", r[2]); err != nil {
			return err
		}
	}
	if t.routed {
		for _, s := range []string{"net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"} {
			if err := nsh(ctx, nsRouter, "sysctl", "-qw", s); err != nil {
				return err
			}
		}
	}
	return nil
}

// teardown removes every namespace of the lab; their veths and iptables
// rules go with them. It is safe to call when nothing exists.
func teardown() {
	out, _ := exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			_ = exec.Command("ip", "netns", "del", f[0]).Run()
		}
	}
}

// fw runs iptables (or ip6tables) in a namespace.
func (t topo) fw(ctx context.Context, ns string, args ...string) error {
	cmd := "iptables"
	if t.v6 {
		cmd = "ip6tables"
	}
	return nsh(ctx, ns, append([]string{cmd, "-w"}, args...)...)
}
