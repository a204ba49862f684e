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
	"runtime"
	"runtime/debug"

	"github.com/urfave/cli/v2"
)

// Exit codes.
const (
	exitOK          = 0
	exitUnreadable  = 1 // some capture could not be read at all
	exitUsage       = 2
	exitInterrupted = 130
)

var errUnreadable = errors.New("some captures could not be read")

func main() {
	if os.Getenv("GOGC") == "" && runtime.GOOS != "linux" {
		// Where the flow table is on the heap it is most of it, and lives
		// long: collecting at 50% growth instead of 100% keeps peak memory
		// near the table's size for a few percent of CPU (1 GiB capture:
		// 185 -> 94 MB). On Linux the table is outside the heap
		// (internal/offheap) and the default costs only some 10 MB
		// for 4-7% less time.
		debug.SetGCPercent(50)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args, os.Stdin, os.Stdout, os.Stderr))
}

// run is main without the process: tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	app := newApp(stdin, stdout, stderr)
	err := app.RunContext(ctx, args)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "rstwhy: interrupted")
		return exitInterrupted
	case errors.Is(err, errUnreadable):
		return exitUnreadable
	}
	fmt.Fprintf(stderr, "rstwhy: %v\n", err)
	return exitUsage
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:            "rstwhy",
		Usage:           "explain every TCP RST in packet captures",
		Reader:          stdin,
		Writer:          stdout,
		ErrWriter:       stderr,
		ExitErrHandler:  func(*cli.Context, error) {}, // only main exits
		Commands:        []*cli.Command{analyzeCommand()},
		HideHelpCommand: true,
		CustomAppHelpTemplate: cli.AppHelpTemplate + `EXAMPLE:
   rstwhy analyze capture.pcap
   rstwhy analyze --format jsonl rotated-*.pcap.gz > resets.jsonl
`,
	}
}
