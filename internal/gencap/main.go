// Command gencap writes a synthetic packet capture for benchmarking rstwhy.
//
//	go run ./internal/gencap -size 1G -o bench.pcap
//
// The capture holds many interleaved TCP connections over IPv4 and IPv6
// on Ethernet: handshakes with options, request/response exchanges, bulk
// transfers with delayed ACKs, window updates, retransmissions,
// reordering, zero-window stalls and FIN closes. About a fifth of the
// connections end in a RST of one of the kinds rstwhy recognizes (see
// kind). The same -seed gives the same bytes on every run and machine,
// and memory stays flat whatever -size is: connections are built one at
// a time and merged into the output by time.
//
// Where to start: generate in gen.go drives the output, build in conn.go
// scripts one connection.
//
// Not a goal: evidence. gencap is a load generator. Its connections follow
// the wire signatures rstwhy looks for because it was written from the
// same descriptions, so a heuristic that labels them correctly has only
// agreed with this program; only real captures in testdata/pcaps say a
// heuristic is right.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/rstwhy/rstwhy/internal/storm"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gencap", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg config
	size := fs.String("size", "100M", "stop before the output passes this many bytes (K, M, G suffixes, powers of 1024)")
	out := fs.String("o", "", "output file (default stdout)")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "random seed; the same seed gives the same bytes")
	fs.IntVar(&cfg.Conns, "conns", 20000, "connections open at once")
	fs.StringVar(&cfg.Format, "format", "pcap", "pcap or pcapng")
	fs.BoolVar(&cfg.Nanos, "nanos", false, "nanosecond timestamps in pcap (pcapng always has them)")
	fs.IntVar(&cfg.Snaplen, "snaplen", 0, "cut each packet to this many captured bytes (0: whole packets)")
	fs.BoolVar(&cfg.Short, "short", false, "mostly short connections: the packet-rate worst case")
	quiet := fs.Bool("q", false, "no summary on stderr")
	rsts := fs.Int("rst-storm", 0, "instead: a capture of this many RSTs, each on a flow of its own (load for memory figures)")
	oneConn := fs.Bool("one-conn", false, "with -rst-storm: every RST on one connection, after its handshake")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gencap [flags]\n\n")
		fs.PrintDefaults()
		fmt.Fprintf(stderr, "\nexample: go run ./internal/gencap -size 1G -seed 1 -o bench.pcap\n")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gencap: unexpected argument %q; hint: flags only, -o names the output\n", fs.Arg(0))
		return 2
	}
	if *rsts > 0 {
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				fmt.Fprintf(stderr, "gencap: %v\n", err)
				return 1
			}
			defer f.Close()
			w = f
		}
		if err := storm.Write(w, *rsts, *oneConn); err != nil {
			fmt.Fprintf(stderr, "gencap: %v\n", err)
			return 1
		}
		return 0
	}
	n, err := parseSize(*size)
	if err != nil {
		fmt.Fprintf(stderr, "gencap: -size: %v; hint: -size 1G\n", err)
		return 2
	}
	cfg.Size = n
	if err := cfg.check(); err != nil {
		fmt.Fprintf(stderr, "gencap: %v\n", err)
		return 2
	}

	w := stdout
	var f *os.File
	if *out != "" {
		f, err = os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "gencap: %v\n", err)
			return 1
		}
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	st, err := generate(bw, cfg)
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "gencap: %v\n", err)
		return 1
	}
	if !*quiet {
		fmt.Fprintln(stderr, st.String())
	}
	return 0
}

// parseSize reads "100M", "1G", "4096": K, M and G are powers of 1024.
func parseSize(s string) (int64, error) {
	mult := int64(1)
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	switch {
	case strings.HasSuffix(t, "K"):
		mult = 1 << 10
	case strings.HasSuffix(t, "M"):
		mult = 1 << 20
	case strings.HasSuffix(t, "G"):
		mult = 1 << 30
	case strings.HasSuffix(t, "T"):
		mult = 1 << 40
	}
	if mult > 1 {
		t = t[:len(t)-1]
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * float64(mult)), nil
}

var errConfig = errors.New("bad configuration")

func (c config) check() error {
	switch {
	case c.Format != "pcap" && c.Format != "pcapng":
		return fmt.Errorf("%w: -format %q: want pcap or pcapng", errConfig, c.Format)
	case c.Conns < 1:
		return fmt.Errorf("%w: -conns %d: want at least 1", errConfig, c.Conns)
	case c.Snaplen < 0 || (c.Snaplen > 0 && c.Snaplen < 14):
		return fmt.Errorf("%w: -snaplen %d: want 0 or at least 14", errConfig, c.Snaplen)
	}
	return nil
}
