package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gopacket/gopacket/pcapgo"
)

// dump is a running tcpdump.
type dump struct {
	cmd    *exec.Cmd
	file   string
	stderr strings.Builder
	exited chan error
}

// startDump starts tcpdump in ns on dev ("any" for all interfaces, with link
// LINUX_SLL2 or LINUX_SLL) and
// returns once it reports that it is capturing: packets sent before that
// line would be missing from the capture.
func startDump(ctx context.Context, ns, dev, link string, snaplen int, file string) (*dump, error) {
	args := []string{"netns", "exec", ns, "tcpdump", "-i", dev, "-s", fmt.Sprint(snaplen), "-U", "-n", "--immediate-mode", "-B", "65536",
		"--time-stamp-precision=nano", "-Z", "root", "-w", file}
	if link != "EN10MB" {
		args = append(args, "-y", link)
	}
	args = append(args, "tcp")
	d := &dump{cmd: exec.Command("ip", args...), file: file, exited: make(chan error, 1)}
	pipe, err := d.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := d.cmd.Start(); err != nil {
		return nil, err
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		seen := false
		for sc.Scan() {
			d.stderr.WriteString(sc.Text() + "\n")
			if !seen && strings.Contains(sc.Text(), "listening on") {
				seen = true
				close(listening)
			}
		}
		d.exited <- d.cmd.Wait()
	}()
	select {
	case <-listening:
		return d, nil
	case err := <-d.exited:
		return nil, fmt.Errorf("tcpdump exited: %v: %s", err, d.stderr.String())
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		return nil, errors.New("tcpdump did not start capturing within 5s")
	case <-ctx.Done():
		d.cmd.Process.Kill()
		return nil, ctx.Err()
	}
}

// stop ends the capture with SIGINT, which flushes the file.
func (d *dump) stop() error {
	_ = d.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-d.exited:
		return nil
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		return errors.New("tcpdump ignored SIGINT")
	}
}

// tracer owns a tracefs instance of its own, so the lab neither reads nor
// clears a trace buffer somebody else uses.
type tracer struct{ dir string }

const tracefs = "/sys/kernel/tracing"

func newTracer() (*tracer, error) {
	dir := filepath.Join(tracefs, "instances", "rstlab")
	if _, err := os.Stat(filepath.Join(tracefs, "events", "tcp", "tcp_send_reset")); err != nil {
		return nil, fmt.Errorf("tracepoint tcp/tcp_send_reset: %w (is tracefs mounted at %s?)", err, tracefs)
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return nil, err
	}
	return &tracer{dir: dir}, nil
}

func (t *tracer) write(name, v string) error {
	return os.WriteFile(filepath.Join(t.dir, name), []byte(v), 0o644)
}

// start clears the buffer and enables the tracepoint.
func (t *tracer) start() error {
	for _, w := range [][2]string{{"tracing_on", "0"}, {"trace", ""}, {"events/tcp/tcp_send_reset/enable", "1"}, {"tracing_on", "1"}} {
		if err := t.write(w[0], w[1]); err != nil {
			return err
		}
	}
	return nil
}

// event is one tcp_send_reset line.
type event struct {
	src, dst      netip.AddrPort
	state, reason string
	used          bool
}

// stop disables the tracepoint and returns the events of the lab's
// addresses, oldest first.
func (t *tracer) stop() ([]*event, error) {
	_ = t.write("tracing_on", "0")
	b, err := os.ReadFile(filepath.Join(t.dir, "trace"))
	if err != nil {
		return nil, err
	}
	var evs []*event
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, "tcp_send_reset:") {
			continue
		}
		var e event
		for _, f := range strings.Fields(line) {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				continue
			}
			switch k {
			case "src":
				e.src, _ = netip.ParseAddrPort(v)
			case "dest":
				e.dst, _ = netip.ParseAddrPort(v)
			case "state":
				e.state = v
			case "reason":
				e.reason = v
			}
		}
		if labAddr(e.src.Addr()) || labAddr(e.dst.Addr()) {
			evs = append(evs, &e)
		}
	}
	return evs, nil
}

func (t *tracer) close() {
	_ = t.write("tracing_on", "0")
	_ = t.write("events/tcp/tcp_send_reset/enable", "0")
	_ = os.Remove(t.dir)
}

var (
	labV4 = netip.MustParsePrefix("10.200.0.0/16")
	labV6 = netip.MustParsePrefix("fd00:200::/32")
)

func labAddr(a netip.Addr) bool { return labV4.Contains(a) || labV6.Contains(a) }

// toNg rewrites the pcap src as pcapng dst, keeping nanosecond stamps.
func toNg(src, dst, dev string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		return err
	}
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	intf := pcapgo.DefaultNgInterface
	intf.Name = dev
	intf.LinkType = r.LinkType()
	intf.SnapLength = r.Snaplen()
	intf.TimestampResolution = 9
	opts := pcapgo.DefaultNgWriterOptions
	opts.SectionInfo.Application = "rstwhy lab"
	w, err := pcapgo.NewNgWriterInterface(out, intf, opts)
	if err != nil {
		return err
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		ci.InterfaceIndex = 0
		if err := w.WritePacket(ci, data); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Close()
}
