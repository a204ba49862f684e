// Command rstwhy explains every TCP RST in packet captures: who reset, at
// what point of the connection, and why, with the frames that show it.
//
//	rstwhy analyze capture.pcap
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/urfave/cli/v2"
)

// Exit codes.
const (
	exitOK          = 0
	exitUnreadable  = 1 // some capture could not be read at all
	exitUsage       = 2
	exitWrite       = 3 // the output could not be written
	exitInterrupted = 130
)

var (
	errUnreadable  = errors.New("some captures could not be read")
	errInterrupted = errors.New("interrupted")
)

func main() {
	if os.Getenv("GOGC") == "" {
		// Collect at 50% growth, not 100%. Where the flow table is on the
		// heap it is most of it, and lives long: this keeps peak memory
		// near the table's size (1 GiB capture: 185 -> 94 MB). On Linux
		// the table is outside the heap (internal/offheap) and what the
		// heap churns through is mostly judging; the trackers reuse their
		// resets (pipeline.Options.Recycle), which halved that churn, so
		// 50% costs no more collections than 100% did before, and a peak
		// some 8 MiB lower (1 GiB capture, -j 2: 130 -> 115 MiB).
		debug.SetGCPercent(50)
	}
	// A closed pipe on stdout is a write error with its own exit status
	// and a line on stderr, not a silent death by SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	// The first SIGINT or SIGTERM stops reading: what was read is judged
	// and written, and the JSON document closed. The second exits at once.
	interrupt, stop := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sigs
		stop()
		<-sigs
		fmt.Fprintln(os.Stderr, "rstwhy: interrupted again: exiting without finishing the output")
		os.Exit(exitInterrupted)
	}()
	os.Exit(run(interrupt, os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it in-process. Cancelling
// interrupt is the first SIGINT: reading stops, and what was read is
// judged and written before run returns exitInterrupted.
func run(interrupt context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	out := &stdoutWriter{w: stdout}
	args, err := reorderArgs(args)
	if err == nil {
		err = newApp(stdin, out, stderr).RunContext(interrupt, args)
	}
	var werr *writeError
	var norst *noRSTError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &werr):
		fmt.Fprintf(stderr, "rstwhy: cannot write the output: %v\n", werr.err)
		return exitWrite
	case errors.Is(err, errInterrupted):
		return exitInterrupted // analyze said what was not read
	case errors.Is(err, errUnreadable):
		return exitUnreadable
	case errors.As(err, &norst):
		fmt.Fprintf(stderr, "rstwhy: %v\n", err)
		return exitUnreadable
	}
	fmt.Fprintf(stderr, "rstwhy: %v\n", err)
	return exitUsage
}

// stdoutWriter marks its write errors, which have their own exit status:
// nothing else that fails is a write to standard output.
type stdoutWriter struct{ w io.Writer }

type writeError struct{ err error }

func (e *writeError) Error() string { return "writing the output: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

func (s *stdoutWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}

func newApp(stdin io.Reader, stdout *stdoutWriter, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:           "rstwhy",
		Usage:          "explain every TCP RST in packet captures",
		Reader:         stdin,
		Writer:         stdout,
		ErrWriter:      stderr,
		ExitErrHandler: func(*cli.Context, error) {}, // only main exits
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "version", Usage: "print the version"},
		},
		HideVersion: true, // the flag above: urfave's prints "rstwhy version X"
		Commands:    []*cli.Command{analyzeCommand(), explainCommand(), scanCommand(), versionCommand()},
		Action: func(c *cli.Context) error {
			switch {
			case c.Bool("version"):
				return printVersion(c)
			case c.Args().Present():
				return fmt.Errorf("unknown command %q (commands: analyze, explain, scan, help, version)", c.Args().First())
			}
			// No command: the help, on stderr, and a usage error.
			cli.HelpPrinter(c.App.ErrWriter, c.App.CustomAppHelpTemplate, c.App)
			return errors.New("no command given")
		},
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see rstwhy help)", err)
		},
		CustomAppHelpTemplate: cli.AppHelpTemplate + `EXAMPLE:
   rstwhy analyze capture.pcap
   rstwhy analyze --format jsonl rotated-*.pcap.gz > resets.jsonl
   rstwhy explain capture.pcap 28
   rstwhy scan --state scan.state -o resets.jsonl /var/captures
`,
	}
}
