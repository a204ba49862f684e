package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/rstwhy/rstwhy/analyzer"
	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/report"
)

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Usage:     "explain every RST in the captures",
		ArgsUsage: "CAPTURE... (pcap or pcapng, optionally gzip or zstd; - for standard input)",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"},
				Usage: "table, json or jsonl (default: table on a terminal, jsonl otherwise)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(),
				Usage: "workers: several captures at once, or one capture's connections spread over them (-j 1: one core)"},
			&cli.DurationFlag{Name: "quiet", Value: analyzer.DefaultQuiet,
				Usage: "judge a RST once its connection has been quiet this long (capture time)"},
			&cli.IntFlag{Name: "max-conns", Value: analyzer.DefaultMaxConns,
				Usage: "connections tracked at once per capture; past it the oldest idle is evicted (0: no cap)"},
		},
		Action: analyzeAction,
		// stdout carries results only: a usage error is one line on
		// stderr (main prints it), not the help text.
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w\n  see: rstwhy analyze --help", err)
		},
	}
}

func analyzeAction(c *cli.Context) error {
	files := c.Args().Slice()
	if len(files) == 0 {
		return fmt.Errorf("analyze needs at least one capture\n  example: rstwhy analyze capture.pcap")
	}
	format := c.String("format")
	if format == "" {
		format = "jsonl"
		if f, ok := c.App.Writer.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "table"
		}
	}
	out := bufio.NewWriter(c.App.Writer)
	defer out.Flush()
	w, err := report.NewWriter(format, out, report.Options{Files: files})
	if err != nil {
		return err
	}
	opt := analyzer.Options{Quiet: c.Duration("quiet"), MaxConns: c.Int("max-conns")}
	captures, err := analyzeAll(c.Context, files, c.App.Reader, opt, max(1, c.Int("jobs")), w, out)
	if err != nil {
		return err
	}
	if err := w.Close(captures); err != nil {
		return err
	}
	failed := false
	for _, cp := range captures {
		switch {
		case cp.Error != "":
			failed = true
			fmt.Fprintf(c.App.ErrWriter, "rstwhy: %s: %s\n", cp.File, cp.Error)
		case cp.Warning != "":
			fmt.Fprintf(c.App.ErrWriter, "rstwhy: warning: %s: %s (resets before it are reported)\n", cp.File, cp.Warning)
		}
		if cp.Undecodable > 0 {
			fmt.Fprintf(c.App.ErrWriter, "rstwhy: warning: %s: %d undecodable frames (first: %v)\n", cp.File, cp.Undecodable, cp.UndecodableFrames)
		}
		for link, n := range cp.Skipped {
			fmt.Fprintf(c.App.ErrWriter, "rstwhy: warning: %s: %d frames of link type %s not decoded\n", cp.File, n, link)
		}
		if cp.Evicted > 0 || cp.Early > 0 {
			fmt.Fprintf(c.App.ErrWriter, "rstwhy: warning: %s: %d connections evicted at the --max-conns cap, %d resets judged early\n", cp.File, cp.Evicted, cp.Early)
		}
	}
	if failed {
		return errUnreadable
	}
	return nil
}

// analyzeAll runs the captures in parallel and writes their records in the
// order of the files, so output never depends on scheduling. A bad file is
// recorded in its Capture and never stops the others.
func analyzeAll(ctx context.Context, files []string, stdin io.Reader, opt analyzer.Options, jobs int,
	w report.Writer, out *bufio.Writer) ([]report.Capture, error) {
	captures := make([]report.Capture, len(files))
	seq := newSequencer(len(files), w, out)
	g, ctx := errgroup.WithContext(ctx)
	// Whole files are the cheapest unit of parallel work; what is left of
	// the cores goes to each file's own workers.
	atOnce := min(jobs, len(files))
	opt.Workers = max(1, jobs/atOnce)
	g.SetLimit(atOnce)
	for i, name := range files {
		g.Go(func() error {
			captures[i] = analyzeFile(ctx, name, stdin, opt, func(r report.Record) { seq.add(i, r) })
			seq.done(i)
			return ctx.Err()
		})
	}
	if err := g.Wait(); err != nil {
		return captures, err
	}
	return captures, seq.err
}

// analyzeFile analyses one capture: a function of its input alone.
func analyzeFile(ctx context.Context, name string, stdin io.Reader, opt analyzer.Options, emit func(report.Record)) report.Capture {
	cp := report.Capture{File: name}
	var r io.Reader = stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			cp.Error = errors.Unwrap(err).Error()
			if errors.Unwrap(err) == nil {
				cp.Error = err.Error()
			}
			return cp
		}
		defer f.Close()
		r = f
	}
	judge := func(rs *analyzer.Reset) report.Record { return report.NewRecord(name, rs, heuristics.Explain(rs)) }
	res, err := analyzer.RunJudged(ctx, r, opt, judge, emit)
	cp.Format, cp.Compression = res.Read.Format, res.Read.Compression
	cp.Frames, cp.TCP, cp.Conns, cp.Resets = res.Read.Frames, res.Track.Packets, res.Track.Conns, res.Track.Resets
	cp.Undecodable, cp.UndecodableFrames = res.Undecodable, res.UndecodableFrames
	cp.Evicted, cp.Early = res.Track.EvictedCap, res.Track.Early
	for link, n := range res.Read.Skipped {
		if cp.Skipped == nil {
			cp.Skipped = map[string]int64{}
		}
		cp.Skipped[link.String()] += n
	}
	if err != nil {
		cp.Error = err.Error()
	}
	switch {
	case res.Damage != nil && res.Read.Frames == 0:
		// Damaged before its first frame: nothing could be read.
		cp.Error = res.Damage.Error()
	case res.Damage != nil:
		cp.Warning = res.Damage.Error()
	}
	return cp
}

// sequencer passes records to the writer in file order: the current file's
// records stream through, later files' wait until it is done.
type sequencer struct {
	mu  sync.Mutex
	w   report.Writer
	out *bufio.Writer
	cur int
	buf [][]report.Record
	fin []bool
	err error
}

func newSequencer(n int, w report.Writer, out *bufio.Writer) *sequencer {
	return &sequencer{w: w, out: out, buf: make([][]report.Record, n), fin: make([]bool, n)}
}

func (s *sequencer) add(i int, r report.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i == s.cur {
		s.write(r)
		return
	}
	s.buf[i] = append(s.buf[i], r)
}

func (s *sequencer) done(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fin[i] = true
	for s.cur < len(s.fin) && s.fin[s.cur] {
		s.cur++
		if s.cur < len(s.buf) {
			for _, r := range s.buf[s.cur] {
				s.write(r)
			}
			s.buf[s.cur] = nil
		}
	}
	if s.err == nil {
		s.err = s.out.Flush()
	}
}

func (s *sequencer) write(r report.Record) {
	if s.err == nil {
		s.err = s.w.Record(r)
	}
}
