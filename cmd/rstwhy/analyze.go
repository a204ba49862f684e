package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rstwhy/rstwhy/capture"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/rstwhy/rstwhy/appctx"
	"github.com/rstwhy/rstwhy/correlate"
	"github.com/rstwhy/rstwhy/heuristics"
	"github.com/rstwhy/rstwhy/pipeline"
	"github.com/rstwhy/rstwhy/report"
	"github.com/rstwhy/rstwhy/track"
)

func analyzeCommand() *cli.Command {
	return &cli.Command{
		Name:      "analyze",
		Aliases:   []string{"analyse"},
		Usage:     "explain every RST in the captures",
		ArgsUsage: "CAPTURE... (pcap or pcapng, optionally gzip or zstd; - for standard input)",
		Flags: slices.Concat([]cli.Flag{
			&cli.StringFlag{Name: "format", Aliases: []string{"f"},
				Usage: "table, json, jsonl, markdown, html or parquet (default: table on a terminal, jsonl otherwise)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"},
				Usage: "write to this file instead of standard output (- is standard output; html: a page, report.html; parquet: the directory, required)"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(),
				Usage: "workers: several captures at once, or one capture's connections spread over them (-j 1: one core; at most the number of CPUs)"},
		}, readFlags(), []cli.Flag{
			grepFlag(),
			&cli.BoolFlag{Name: "ladder",
				Usage: "draw each reset's ladder: under its row in the table, as \"ladder\" in JSON records"},
			&cli.StringFlag{Name: "color", Value: "auto", Usage: "the table's colours: " + colorFlagUsage},
			&cli.BoolFlag{Name: "mermaid",
				Usage: "markdown: draw each group's ladder as a Mermaid sequenceDiagram (GitHub, GitLab, Gitea render it)"},
		}),
		Action: analyzeAction,
		// stdout carries results only: a usage error is one line on
		// stderr (main prints it), not the help text.
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see rstwhy help analyze)", err)
		},
	}
}

// readFlags are the flags of how captures are read and tracked, which
// analyze, explain and scan share.
func readFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "quiet", Value: track.DefaultQuiet,
			Usage: "judge a RST once its connection has been quiet this long (capture time)"},
		&cli.IntFlag{Name: "max-conns", Value: track.DefaultMaxConns,
			Usage: "connections tracked at once per capture; past it the oldest idle is evicted (0: no cap)"},
		&cli.IntFlag{Name: "zstd-max-window", Value: capture.DefaultMaxZstdWindow >> 20,
			Usage: "MiB: the largest zstd window read (what a zstd capture's decoder holds in memory)"},
		&cli.IntFlag{Name: "app-bytes", Value: appctx.DefaultBytes,
			Usage: "bytes of each direction kept to name what the application was doing (HTTP, TLS, SSH): the \"app\" field and an evidence sentence (0: off)"},
	}
}

// grepFlag keeps only the resets of connections whose first bytes hold a
// text: analyze's and scan's.
func grepFlag() cli.Flag {
	return &cli.StringFlag{Name: "grep",
		Usage: "keep only the resets of connections whose first bytes (--app-bytes of each direction) contain TEXT: a request id, a URL, a marker"}
}

// runOptions are the pipeline's options and the application context's.
type runOptions struct {
	pipeline.Options
	appBytes int    // bytes of each direction kept; 0: no application context
	grep     []byte // keep only the resets whose connection's first bytes hold it
}

// readOptions checks readFlags (and -j) of command c and turns them into
// the pipeline's options and the number of workers.
func readOptions(c *cli.Context, jobs int) (runOptions, int, error) {
	opt, jobs, err := options(jobs, c.Duration("quiet"), c.Int("max-conns"), c.App.ErrWriter)
	if err != nil {
		return opt, 0, err
	}
	opt.appBytes = c.Int("app-bytes")
	if opt.appBytes < 0 || opt.appBytes > appctx.MaxBytes {
		return opt, 0, fmt.Errorf("--app-bytes %d: want 0 (off) to %d (see rstwhy help %s)", opt.appBytes, appctx.MaxBytes, c.Command.Name)
	}
	if g := c.String("grep"); g != "" {
		opt.grep = []byte(g)
		if opt.appBytes == 0 {
			// --grep reads the first bytes: it turns them on.
			opt.appBytes = appctx.DefaultBytes
		}
	}
	window := c.Int("zstd-max-window")
	if window < 1 || window > 1<<20 {
		return opt, 0, fmt.Errorf("--zstd-max-window %d: want MiB from 1 up (see rstwhy help %s)", window, c.Command.Name)
	}
	opt.Capture.MaxZstdWindow = uint64(window) << 20
	// zstd captures read at once share one budget for their windows, so
	// that -j of them wait for memory rather than exhaust it: the larger
	// of 512 MiB and one window.
	opt.Capture.Memory = capture.NewMemory(max(512<<20, int64(window)<<20))
	return opt, jobs, nil
}

// maxJobs is the largest -j taken, clamped then to the CPUs; anything
// larger is a usage error.
const maxJobs = 4096

// options checks the flags and turns them into the pipeline's options
// and the number of workers.
func options(jobs int, quiet time.Duration, maxConns int, stderr io.Writer) (runOptions, int, error) {
	switch {
	case jobs < 1:
		return runOptions{}, 0, fmt.Errorf("-j %d: want at least 1 (see rstwhy help analyze)", jobs)
	case jobs > maxJobs:
		// Not a number of CPUs any machine has: a typo, as 99999999999.
		return runOptions{}, 0, fmt.Errorf("-j %d: want at most %d, and no more than the CPUs help (see rstwhy help analyze)", jobs, maxJobs)
	case quiet <= 0:
		return runOptions{}, 0, fmt.Errorf("--quiet %v: want a duration above 0, like 2s (see rstwhy help analyze)", quiet)
	case maxConns < 0:
		return runOptions{}, 0, fmt.Errorf("--max-conns %d: want 0 (no cap) or more (see rstwhy help analyze)", maxConns)
	}
	if cpus := runtime.NumCPU(); jobs > cpus {
		// More workers than CPUs only add memory (each file in flight
		// has its own tables and buffers), and -j 99999999999 must not
		// try to start that many.
		fmt.Fprintf(stderr, "rstwhy: -j %d is more than the %d CPUs: using %d\n", jobs, cpus, cpus)
		jobs = cpus
	}
	opt := runOptions{Options: pipeline.Options{Quiet: quiet, MaxConns: maxConns}}
	if quiet > track.DefaultMaxDelay {
		// A RST is judged MaxDelay after it at the latest, whatever
		// follows: a quiet window longer than that would mean nothing.
		opt.MaxDelay = quiet
	}
	return opt, jobs, nil
}

func analyzeAction(c *cli.Context) (err error) {
	files := c.Args().Slice()
	if len(files) == 0 {
		return errors.New("analyze needs at least one capture (example: rstwhy analyze capture.pcap)")
	}
	if n := countStdin(files); n > 1 {
		return fmt.Errorf("standard input (-) given %d times: it can be read once", n)
	}
	opt, jobs, err := readOptions(c, c.Int("jobs"))
	if err != nil {
		return err
	}
	stdout := c.App.Writer.(*stdoutWriter)
	format, output := c.String("format"), c.String("output")
	if output == "-" {
		output = ""
	}
	if format == "parquet" && output == "" {
		return errors.New("--format parquet writes files: give their directory with -o (example: rstwhy analyze -f parquet -o resets/ capture.pcap)")
	}
	// What the report goes to decides terminal, width and colour: a file
	// named by -o is no terminal (COLUMNS still sets the width).
	var shown any = stdout.w
	if output != "" {
		shown = nil
	}
	disp, err := newDisplay(shown, c.String("color"), os.Getenv)
	if err != nil {
		return err
	}
	terminal := disp.terminal
	if format == "" {
		format = "jsonl"
		if terminal {
			format = "table"
		}
	}
	if format == "html" && terminal {
		return errors.New("--format html writes a page for a browser: give -o report.html, or redirect standard output")
	}
	ladder := c.Bool("ladder")
	w, out, closeOutput, err := openOutput(format, output, stdout, report.Options{Files: files, Version: version(),
		Width: disp.width, Color: disp.color, Ladder: ladder, Mermaid: c.Bool("mermaid")})
	if err != nil {
		return err
	}
	defer func() {
		if cerr := closeOutput(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	// stop ends every input: on the first signal, or once the output
	// cannot be written (reading on would be for nothing).
	stop, cancel := context.WithCancelCause(c.Context)
	defer cancel(nil)
	// Someone may be watching: a terminal, or a live capture coming
	// through a pipe. Each record is then written as it is judged.
	live := terminal || slices.ContainsFunc(files, func(name string) bool {
		fi, err := os.Stat(name)
		return name == "-" || err == nil && !fi.Mode().IsRegular()
	})
	seq := newSequencer(len(files), w, out, live, cancel)
	seq.ladder = ladder
	results := analyzeAll(stop, files, c.App.Reader, opt, jobs, seq)
	captures := make([]report.Capture, 0, len(results))
	for _, r := range results {
		captures = append(captures, r.Capture)
	}
	werr := seq.err
	if werr == nil {
		werr = w.Close(captures)
	}
	if werr == nil {
		werr = out.Flush()
	}
	if werr == nil {
		werr = closeOutput()
	}
	if werr != nil {
		// The output is lost: one line says so (main), and what the
		// captures' warnings would add is moot.
		return werr
	}
	failed, notRead := diagnose(c.App.ErrWriter, results)
	if seq.bad != nil {
		fmt.Fprintf(c.App.ErrWriter, "rstwhy: internal error: %d records could not be written, the first: %v\n", seq.nbad, seq.bad)
		failed = true
	}
	switch {
	case c.Context.Err() != nil:
		if notRead > 0 {
			fmt.Fprintf(c.App.ErrWriter, "rstwhy: interrupted: %d %s not read\n", notRead, plural(notRead, "capture", "captures"))
		} else {
			fmt.Fprintln(c.App.ErrWriter, "rstwhy: interrupted")
		}
		return errInterrupted
	case failed:
		return errUnreadable
	}
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func countStdin(files []string) int {
	n := 0
	for _, f := range files {
		if f == "-" {
			n++
		}
	}
	return n
}

// fileResult is one capture's summary and what only stderr shows.
type fileResult struct {
	report.Capture
	skipped map[capture.LinkType]int64
	notTCP  int64 // frames decoded that held no TCP segment
	notRead bool  // interrupted before it was read at all
	cut     bool  // interrupted while it was read
	// notCapture: the file is not a capture at all (scan skips it).
	notCapture bool
	// hidden names the frames that may carry TCP rstwhy does not read (an
	// encapsulation it does not follow, encrypted 802.11), with counts.
	hidden []string
	links  []capture.LinkType // declared by the file
}

// diagnose writes a line on stderr for every capture that failed, was
// damaged or interrupted, or was read only in part (link types not
// decoded, undecodable frames, connections evicted at the cap), whatever
// the format: no output is silently short.
func diagnose(stderr io.Writer, results []fileResult) (failed bool, notRead int) {
	for _, r := range results {
		name := report.Printable(r.File)
		switch {
		case r.notRead:
			notRead++
			continue
		case r.Error != "":
			failed = true
			fmt.Fprintf(stderr, "rstwhy: %s: %s\n", name, report.Printable(r.Error))
		case r.cut:
			fmt.Fprintf(stderr, "rstwhy: warning: %s: %s\n", name, r.Warning)
		case r.Warning != "":
			fmt.Fprintf(stderr, "rstwhy: warning: %s: %s (resets before it are reported)\n", name, report.Printable(r.Warning))
		}
		links := make([]capture.LinkType, 0, len(r.skipped))
		for l := range r.skipped {
			links = append(links, l)
		}
		slices.Sort(links)
		for _, l := range links {
			fmt.Fprintf(stderr, "rstwhy: warning: %s: %d frames of link type %s not decoded\n", name, r.skipped[l], linkTypeLabel(l))
		}
		if r.Undecodable > 0 {
			fmt.Fprintf(stderr, "rstwhy: warning: %s: %d frames with TCP too damaged to decode (first: %v)\n", name, r.Undecodable, r.UndecodableFrames)
		}
		switch {
		case r.Error == "" && r.TCP == 0 && r.notTCP > 0:
			// A capture of encrypted Wi-Fi, say: its output is empty for
			// a reason the user must hear of.
			why := ""
			if len(r.hidden) > 0 {
				why = "; not decoded, may hold TCP: " + strings.Join(r.hidden, ", ")
			}
			fmt.Fprintf(stderr, "rstwhy: warning: %s: none of its %d frames holds a TCP segment rstwhy can read (%s)%s\n",
				name, r.Frames, linkTypesLabel(r.links), why)
		case len(r.hidden) > 0:
			fmt.Fprintf(stderr, "rstwhy: warning: %s: not decoded, may hold TCP: %s\n", name, strings.Join(r.hidden, ", "))
		}
		if w := r.Capture.GapWarning(); w != "" {
			fmt.Fprintf(stderr, "rstwhy: warning: %s: %s\n", name, w)
		}
		if r.Evicted > 0 {
			fmt.Fprintf(stderr, "rstwhy: warning: %s: %d connections evicted at the --max-conns cap, %d resets judged early (raise --max-conns)\n", name, r.Evicted, r.Early)
		} else if r.Early > 0 {
			fmt.Fprintf(stderr, "rstwhy: warning: %s: %d resets judged early, before their quiet time\n", name, r.Early)
		}
	}
	return failed, notRead
}

// analyzeAll runs the captures in parallel and writes their records in the
// order of the files, so output never depends on scheduling. A bad file is
// recorded in its result and never stops the others. Once stop is done,
// captures being read end where they are, and captures not started are
// not read.
func analyzeAll(stop context.Context, files []string, stdin io.Reader, opt runOptions, jobs int, seq *sequencer) []fileResult {
	results := make([]fileResult, len(files))
	var g errgroup.Group
	// Whole files are the cheapest unit of parallel work; what is left of
	// the cores goes to each file's own workers.
	atOnce := min(jobs, len(files))
	opt.Workers = max(1, jobs/atOnce)
	g.SetLimit(atOnce)
	for i, name := range files {
		g.Go(func() error {
			results[i] = analyzeFile(stop, name, stdin, opt, nil, func(r report.Record) { seq.add(i, r) })
			seq.done(i)
			return nil
		})
	}
	g.Wait()
	return results
}

// analyzeFile analyses one capture: a function of its input alone. When
// read is not nil, the bytes read from the file are added to it as they
// are read (scan's progress).
func analyzeFile(stop context.Context, name string, stdin io.Reader, opt runOptions, read *atomic.Int64, emit func(report.Record)) fileResult {
	res := fileResult{Capture: report.Capture{File: name}}
	if stop.Err() != nil {
		return notRead(res)
	}
	in := stdin
	if name != "-" {
		f, err := openCapture(stop, name)
		if errors.Is(err, errNotOpened) {
			return notRead(res)
		}
		if err != nil {
			res.Error = err.Error()
			if e := errors.Unwrap(err); e != nil {
				res.Error = e.Error() // the file is named on the line already
			}
			return res
		}
		defer f.Close()
		in = f
	}
	r := newCaptureReader(stop, in)
	if read != nil {
		r = countingReader{r, read}
	}
	return analyzeInput(stop, name, r, opt, emit)
}

// analyzeInput analyses one capture read from r; records name it name.
func analyzeInput(stop context.Context, name string, r captureReader, opt runOptions, emit func(report.Record)) fileResult {
	res := fileResult{Capture: report.Capture{File: name}}
	// A pipe, a FIFO or a terminal is live: what arrives is judged while
	// the writer waits (tcpdump -U -w - | rstwhy analyze -), with capture
	// time moving by the wall clock while nothing comes.
	regular := isFileReader(r)
	opt.Capture.Live = !regular
	newJudge := func() (track.Observer, func(*track.Reset) judged) {
		if opt.appBytes == 0 {
			return nil, func(rs *track.Reset) judged {
				return judged{report.NewRecord(name, rs, heuristics.Explain(rs)), true}
			}
		}
		// One observer a worker, read by that worker's judge alone.
		o := &appctx.Observer{Bytes: opt.appBytes, Grep: opt.grep}
		return o, func(rs *track.Reset) judged {
			a, ok := o.Take(rs.Packet.Frame)
			if len(opt.grep) > 0 && !a.Match {
				return judged{}
			}
			if !ok {
				return judged{report.NewRecord(name, rs, heuristics.Explain(rs)), true}
			}
			rec := report.NewRecord(name, rs, heuristics.ExplainApp(rs, &a))
			if a.Protocol != "" || a.Kept != [2]int{} {
				rec.App = report.NewApp(&a) // else it would say nothing
			}
			return judged{rec, true}
		}
	}
	opt.Recycle = true // the judges copy what they keep of the reset (NewRecord, the observer's Context)
	// Never cancelled: an interruption ends the input instead, so that
	// what was read is judged and emitted as at the end of a capture.
	ctx := context.WithoutCancel(stop)
	// Records come in frame order: the correlator groups them as they
	// pass, and sums the groups up at the end.
	// 4096 groups open at once (a group closes a minute after its last
	// reset, fifteen while it may become a repeat): some 1 MB. Past it
	// the least recently joined closes early, its summary kept.
	corr := correlate.Correlator{MaxOpen: 4096}
	ar, err := pipeline.RunObserved(ctx, r, opt.Options, newJudge, func(j judged) {
		if !j.keep {
			return // --grep: not this connection
		}
		j.rec.Correlate(&corr)
		emit(j.rec)
	})
	cp := &res.Capture
	cp.Format, cp.Compression = ar.Read.Format, ar.Read.Compression
	cp.Frames, cp.TCP, cp.Conns, cp.Resets = ar.Read.Frames, ar.Track.Packets, ar.Track.Conns, ar.Track.Resets
	cp.Undecodable, cp.UndecodableFrames = ar.Undecodable, ar.UndecodableFrames
	cp.Evicted, cp.Early = ar.Track.EvictedCap, ar.Track.Early
	cp.Unseen = ar.Track.Unseen
	if ar.Read.DropsKnown {
		cp.Dropped = &ar.Read.Dropped
	}
	res.skipped, res.notTCP, res.links = ar.Read.Skipped, ar.NotTCP, ar.Read.Links
	for _, g := range corr.Flush() {
		if g.Kind != "" {
			cp.Groups = append(cp.Groups, report.NewGroup(g))
		}
	}
	for what, n := range ar.NotTCPBy {
		if cp.NotTCP == nil {
			cp.NotTCP = map[string]int64{}
		}
		cp.NotTCP[what.String()] += n
		if what.Hides() {
			res.hidden = append(res.hidden, fmt.Sprintf("%d frames of %s", n, what))
		}
	}
	slices.Sort(res.hidden)
	for link, n := range ar.Read.Skipped {
		if cp.Skipped == nil {
			cp.Skipped = map[string]int64{}
		}
		cp.Skipped[linkTypeKey(link)] += n
	}
	switch {
	case r.interrupted() && ar.Read.Frames == 0:
		// Interrupted before a frame: there was nothing to read.
		return notRead(res)
	case r.interrupted():
		// A cut in the middle of a record is the interruption's, not
		// damage.
		cp.Warning = fmt.Sprintf("interrupted after %d frames: the rest was not read", ar.Read.Frames)
		res.cut = true
	case err != nil:
		cp.Error = err.Error()
		res.notCapture = errors.Is(err, capture.ErrNotCapture)
		if we := (*capture.WindowError)(nil); errors.As(err, &we) {
			cp.Error += fmt.Sprintf(" (--zstd-max-window %d reads it)", (we.Window+1<<20-1)>>20)
		}
	case ar.Damage != nil && ar.Read.Frames == 0:
		// Damaged before its first frame: nothing could be read.
		cp.Error = ar.Damage.Error()
	case ar.Damage != nil:
		cp.Warning = ar.Damage.Error()
	}
	return res
}

// judged is a reset's record, and whether --grep keeps it.
type judged struct {
	rec  report.Record
	keep bool
}

func notRead(res fileResult) fileResult {
	res.Capture = report.Capture{File: res.File, Warning: "interrupted before it was read"}
	res.notRead = true
	return res
}

// linkTypeKey names a link type in the JSON's skipped_frames: gopacket's
// name as before, and where gopacket has none (it says
// "UnknownLinkType" for all of them) tcpdump's, or the number.
func linkTypeKey(l capture.LinkType) string {
	if s := l.String(); s != "UnknownLinkType" {
		return s
	}
	if s, ok := linkTypeNames[l]; ok {
		return s
	}
	return fmt.Sprintf("LINKTYPE_%d", l)
}

// maxWaiting bounds the records a capture may hold while an earlier one
// is still being written: past it, its analysis waits. A record is about
// 2 KB (the evidence and the connection's recent packets), so records
// waiting take at most some 8 MB a capture in flight (-j of them).
const maxWaiting = 4096

// sequencer passes records to the writer in file order: the current file's
// records stream through, later files' wait until it is done, up to
// maxWaiting each. It cannot deadlock: the current file never waits, and
// every file before a waiting one has started (files start in order).
type sequencer struct {
	mu    sync.Mutex
	moved sync.Cond // cur moved, or writing failed
	w     recordWriter
	out   *bufio.Writer
	live  bool // flush after every record
	// ladder: records get their ladder drawn (Record.Ladder) as they
	// are written, so that those waiting do not hold it.
	ladder bool
	fail   func(error)
	cur    int
	buf    [][]report.Record
	fin    []bool
	err    error // the first write error: nothing is written after it
	bad    error // the first record that could not be encoded
	nbad   int
	// onDone, when set, is called for each file once its records are
	// all written, in file order, with the lock held.
	onDone func(i int)
	// budget, when above 0, bounds the records waiting over all files,
	// besides maxWaiting each: scan's thousands of small files may finish
	// far ahead of a large one being written.
	budget  int
	waiting int
}

// recordWriter is what the sequencer writes records to: a report.Writer,
// or scan's sinks.
type recordWriter interface {
	Record(r report.Record) error
}

func newSequencer(n int, w recordWriter, out *bufio.Writer, live bool, fail func(error)) *sequencer {
	s := &sequencer{w: w, out: out, live: live, fail: fail, buf: make([][]report.Record, n), fin: make([]bool, n)}
	s.moved.L = &s.mu
	return s
}

func (s *sequencer) add(i int, r report.Record) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i != s.cur && (len(s.buf[i]) >= maxWaiting || s.budget > 0 && s.waiting >= s.budget) && s.err == nil {
		s.moved.Wait()
	}
	if i == s.cur {
		s.write(r)
		if s.live {
			s.flush()
		}
		return
	}
	if s.err == nil {
		s.buf[i] = append(s.buf[i], r)
		s.waiting++
	}
}

func (s *sequencer) done(i int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fin[i] = true
	for s.cur < len(s.fin) && s.fin[s.cur] {
		if s.onDone != nil {
			s.onDone(s.cur)
		}
		s.cur++
		if s.cur < len(s.buf) {
			for _, r := range s.buf[s.cur] {
				s.write(r)
			}
			s.waiting -= len(s.buf[s.cur])
			s.buf[s.cur] = nil
		}
	}
	s.flush()
	s.moved.Broadcast()
}

func (s *sequencer) write(r report.Record) {
	if s.err != nil {
		return
	}
	if s.ladder {
		r.Ladder = r.BuildLadder()
	}
	err := s.w.Record(r)
	var werr *writeError
	switch {
	case errors.As(err, &werr):
		s.failed(err)
	case err != nil:
		// Left out of the output, which stays well formed.
		if s.bad == nil {
			s.bad = fmt.Errorf("%s: frame %d: %w", report.Printable(r.Capture), r.Frame, err)
		}
		s.nbad++
	}
}

func (s *sequencer) flush() {
	if s.err == nil {
		if err := s.out.Flush(); err != nil {
			s.failed(err)
		}
	}
}

func (s *sequencer) failed(err error) {
	s.err = err
	s.fail(err)
	s.moved.Broadcast()
}

// linkTypesLabel names the link types a capture declares.
func linkTypesLabel(links []capture.LinkType) string {
	if len(links) == 0 {
		return "no link type declared"
	}
	names := make([]string, len(links))
	for i, l := range links {
		names[i] = linkTypeLabel(l)
	}
	return "link type " + strings.Join(names, ", ")
}
