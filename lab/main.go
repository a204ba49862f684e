// Command lab makes the capture corpus under testdata/pcaps: real TCP resets
// of the running Linux kernel, each labelled by the kernel itself.
//
// For every scenario variant it builds a small network of namespaces joined
// by veth pairs, starts tcpdump at one point of it, enables the
// tcp/tcp_send_reset tracepoint, plays the scenario with real sockets in
// agent processes (the lab re-executes itself inside a namespace), then
// writes NAME.pcap (or .pcapng) and NAME.truth.json. Run it as root:
//
//	sudo go run ./lab -run 'primes'
//
// Not a goal: running rstwhy. The cause in a truth file comes from the
// scenario and the kernel's reason, never from the analyzer under test.
// Nothing leaves the machine: every address lives in the lab's namespaces.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		os.Exit(agentMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "directory for captures and truth files (default: the scenario's corpus, testdata/pcaps or testdata/pcaps-servers)")
	pattern := fs.String("run", "", "only scenario variants whose name matches this regexp")
	list := fs.Bool("list", false, "list scenario variants and exit")
	keep := fs.Bool("keep-going", true, "go on with the next variant after a failure")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lab [-out DIR] [-run REGEXP] [-list]")
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "example: sudo go run ./lab -run 'refused|primes'")
		fmt.Fprintln(stderr, "real server software (nginx, haproxy): sudo lab/run.sh -run '^(nginx|haproxy)'")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	re, err := regexp.Compile(*pattern)
	if err != nil {
		fmt.Fprintf(stderr, "lab: -run: %v\n", err)
		return 2
	}
	var todo []job
	for _, s := range scenarios() {
		for _, v := range s.variants {
			j := job{s: s, v: v}
			if re.MatchString(j.name()) {
				todo = append(todo, j)
			}
		}
	}
	if *list {
		for _, j := range todo {
			fmt.Fprintf(stdout, "%-45s %s\n", j.name(), j.s.desc)
		}
		return 0
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(stderr, "lab: needs root for namespaces, tcpdump and tracefs; try: sudo go run ./lab")
		return 2
	}
	l, err := newLab(*out, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "lab: %v\n", err)
		return 1
	}
	defer l.close()
	failed := 0
	for _, j := range todo {
		if ctx.Err() != nil {
			return 130
		}
		fmt.Fprintf(stderr, "lab: %s\n", j.name())
		if err := l.do(ctx, j); err != nil {
			failed++
			fmt.Fprintf(stderr, "lab: %s: %v\n", j.name(), err)
			if !*keep {
				break
			}
		}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return 130
	}
	if failed > 0 {
		fmt.Fprintf(stderr, "lab: %d of %d variants failed\n", failed, len(todo))
		return 1
	}
	return 0
}
