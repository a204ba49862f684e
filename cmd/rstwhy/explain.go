package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/rstwhy/rstwhy/report"
)

func explainCommand() *cli.Command {
	return &cli.Command{
		Name:      "explain",
		Usage:     "explain the RST at one frame, with its ladder",
		ArgsUsage: "CAPTURE FRAME (the frame number as Wireshark shows it, from 1)",
		Description: "Prints one reset: its verdict, its connection's summary and the ladder of its last\n" +
			"packets with the evidence beside the packets it cites.\n\n" +
			"Example: rstwhy explain capture.pcap 28",
		Flags: append(readFlags(),
			&cli.StringFlag{Name: "color", Value: "auto", Usage: colorFlagUsage},
		),
		Action: explainAction,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see rstwhy help explain)", err)
		},
	}
}

// noRSTError: the frame asked for is not a RST rstwhy judged.
type noRSTError struct{ msg string }

func (e *noRSTError) Error() string { return e.msg }

func explainAction(c *cli.Context) error {
	args := c.Args().Slice()
	if len(args) != 2 {
		return errors.New("explain needs a capture and a frame number (example: rstwhy explain capture.pcap 28)")
	}
	name := args[0]
	frame, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || frame < 1 {
		return fmt.Errorf("frame %q: want a frame number from 1, as Wireshark shows it (example: rstwhy explain capture.pcap 28)", args[1])
	}
	stdout := c.App.Writer.(*stdoutWriter)
	disp, err := newDisplay(stdout.w, c.String("color"), os.Getenv)
	if err != nil {
		return err
	}
	opt, jobs, err := readOptions(c, runtime.NumCPU())
	if err != nil {
		return err
	}
	opt.Workers = jobs
	// Keep the record at the frame and, to say what is near it, the RSTs
	// just before and after, and any ladder row that is that frame.
	var (
		found        *report.Record
		before, next int64
		seen         *report.LadderPacket
		seenIn       report.Record
	)
	res := analyzeFile(c.Context, name, c.App.Reader, opt, nil, func(r report.Record) {
		switch {
		case r.Frame == frame:
			found = &r
			return
		case r.Frame < frame:
			before = max(before, r.Frame)
		case next == 0 || r.Frame < next:
			next = r.Frame
		}
		if seen == nil {
			for _, p := range r.BuildLadder().Packets {
				if p.Frame == frame {
					seen, seenIn = &p, r
					break
				}
			}
		}
	})
	if res.Error != "" {
		fmt.Fprintf(c.App.ErrWriter, "rstwhy: %s: %s\n", report.Printable(name), report.Printable(res.Error))
		return errUnreadable
	}
	if res.Warning != "" {
		fmt.Fprintf(c.App.ErrWriter, "rstwhy: warning: %s: %s\n", report.Printable(name), report.Printable(res.Warning))
	}
	if found == nil {
		return &noRSTError{report.Printable(name) + ": " + notRST(frame, res.Frames, before, next, seen, &seenIn)}
	}
	found.Ladder = found.BuildLadder()
	out := bufio.NewWriter(stdout)
	out.Write(report.AppendExplain(nil, found, report.TextOptions{Color: disp.color, Width: disp.width}))
	fmt.Fprintf(out, "\nwhat to check next (%s):\n", found.Cause)
	// A follow-up carries its first RST's cause: that cause's advice.
	for _, s := range report.NextSteps(found.Cause) {
		for i, line := range report.WrapWords(s, max(disp.textWidth()-4, 40)) {
			lead := "  - "
			if i > 0 {
				lead = "    "
			}
			fmt.Fprintf(out, "%s%s\n", lead, strings.ReplaceAll(line, "`", ""))
		}
	}
	if c.Context.Err() != nil {
		out.Flush()
		return errInterrupted
	}
	return out.Flush()
}

// notRST says what is at a frame that is no RST, and where the nearest
// RSTs are.
func notRST(frame, frames, before, next int64, seen *report.LadderPacket, in *report.Record) string {
	var b strings.Builder
	switch {
	case frame > frames:
		fmt.Fprintf(&b, "frame %d: the capture has %d frames", frame, frames)
	case seen != nil:
		fmt.Fprintf(&b, "frame %d is not a RST: it is a TCP segment [%s] from the %s of %s -> %s",
			frame, seen.Flags, seen.From, in.Client, in.Server)
	default:
		fmt.Fprintf(&b, "frame %d is not a RST", frame)
	}
	switch {
	case before == 0 && next == 0:
		b.WriteString("; the capture has no RST")
	case before != 0 && next != 0:
		fmt.Fprintf(&b, "; the nearest RSTs are at frames %d and %d", before, next)
	case before != 0:
		fmt.Fprintf(&b, "; the last RST is at frame %d", before)
	default:
		fmt.Fprintf(&b, "; the first RST is at frame %d", next)
	}
	b.WriteString(" (rstwhy analyze lists them all)")
	return b.String()
}
