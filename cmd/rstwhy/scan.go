package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/rstwhy/rstwhy/report"
	"github.com/rstwhy/rstwhy/report/parquet"
	"github.com/rstwhy/rstwhy/scan"
)

func scanCommand() *cli.Command {
	return &cli.Command{
		Name:      "scan",
		Usage:     "explain every RST in an archive of captures: files, folders, lists of paths",
		ArgsUsage: "PATH... (captures and folders of them; pcap or pcapng, optionally gzip or zstd)",
		Flags: append([]cli.Flag{
			&cli.StringSliceFlag{Name: "include", Usage: "scan only files matching this glob (a glob with a / matches the path below the folder, one without the name; repeatable)"},
			&cli.StringSliceFlag{Name: "exclude", Usage: "skip files and folders matching this glob (repeatable)"},
			&cli.StringFlag{Name: "files-from", Usage: "read more paths from FILE, one a line (- for standard input)"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the records to FILE (jsonl; appended to with --state) or, with --format parquet, the folder DIR (default: standard output)"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "jsonl", Usage: "the records' format: jsonl or parquet"},
			&cli.StringFlag{Name: "summary", Usage: "the archive summary: table, json or none (default: table on a terminal, json otherwise)"},
			&cli.StringFlag{Name: "summary-out", Usage: "write the summary to FILE (default: standard output, or standard error when the records go there)"},
			&cli.StringFlag{Name: "shard", Usage: "K/N: scan the K-th of N shares of the files (by a hash of their path below the folder given), or auto: from a job array's environment (Kubernetes, Slurm, AWS Batch)"},
			&cli.IntFlag{Name: "shard-count", Usage: "with --shard auto: the number of tasks (what Kubernetes does not put in the environment)"},
			&cli.StringFlag{Name: "state", Usage: "FILE: remember what was scanned; read only new, changed and grown files, and write only their new records"},
			&cli.BoolFlag{Name: "join-rotated", Usage: "follow connections across consecutive files of one capture point (same folder, same name but for its digits)"},
			&cli.BoolFlag{Name: "no-progress", Usage: "no progress line on standard error, even on a terminal"},
			&cli.IntFlag{Name: "jobs", Aliases: []string{"j"}, Value: runtime.NumCPU(),
				Usage: "workers: captures read at once (at most the number of CPUs)"},
			grepFlag(),
		}, readFlags()...),
		Action: scanAction,
		OnUsageError: func(_ *cli.Context, err error, _ bool) error {
			return fmt.Errorf("%w (see rstwhy help scan)", err)
		},
	}
}

// scanTask is one file to read and what the state knew of it.
type scanTask struct {
	scan.File
	key     string       // in the state: the absolute path
	verdict scan.Verdict // New without a state
	prev    *scan.Entry  // the state's entry, if any
	// before is the file before this one at its capture point (by first
	// time), with --join-rotated: read in front of it, not reported.
	before string
}

// skip is the last frame whose record was written before.
func (t *scanTask) skip() int64 {
	if t.verdict == scan.Grown && t.prev != nil {
		return t.prev.LastFrame
	}
	return 0
}

// scanConfig is scan's flags, checked.
type scanConfig struct {
	opt       runOptions
	jobs      int
	walker    scan.Walker
	roots     []string
	shard     scan.Shard
	statePath string
	output    string // "" or "-": standard output
	format    string
	summary   string // table, json, none
	sumOut    string
	join      bool
	progress  bool
}

func scanFlags(c *cli.Context) (*scanConfig, error) {
	cfg := &scanConfig{roots: c.Args().Slice(), statePath: c.String("state"), output: c.String("output"),
		format: c.String("format"), summary: c.String("summary"), sumOut: c.String("summary-out"), join: c.Bool("join-rotated")}
	var err error
	cfg.opt, cfg.jobs, err = readOptions(c, c.Int("jobs"))
	if err != nil {
		return nil, err
	}
	cfg.walker = scan.Walker{Include: c.StringSlice("include"), Exclude: c.StringSlice("exclude")}
	if err := cfg.walker.Check(); err != nil {
		return nil, fmt.Errorf("%v (see rstwhy help scan)", err)
	}
	for _, r := range cfg.roots {
		if r == "-" {
			return nil, errors.New("scan reads files and folders, not standard input: give its paths with --files-from - (or read a stream with rstwhy analyze -)")
		}
	}
	if from := c.String("files-from"); from != "" {
		var in io.Reader = c.App.Reader
		if from != "-" {
			f, err := os.Open(from)
			if err != nil {
				return nil, fmt.Errorf("--files-from: %v", err)
			}
			defer f.Close()
			in = f
		}
		more, err := scan.ReadList(in)
		if err != nil {
			return nil, fmt.Errorf("--files-from %s: %v", from, err)
		}
		cfg.roots = append(cfg.roots, more...)
	} else if len(cfg.roots) == 0 {
		return nil, errors.New("scan needs at least one file or folder (example: rstwhy scan -o resets.jsonl /var/captures)")
	}
	switch s := c.String("shard"); s {
	case "":
		if c.Int("shard-count") != 0 {
			return nil, errors.New("--shard-count goes with --shard auto")
		}
	case "auto":
		if cfg.shard, err = scan.AutoShard(os.Getenv, c.Int("shard-count")); err != nil {
			return nil, err
		}
	default:
		if cfg.shard, err = scan.ParseShard(s); err != nil {
			return nil, err
		}
		if n := c.Int("shard-count"); n != 0 {
			return nil, errors.New("--shard-count goes with --shard auto, not --shard K/N")
		}
	}
	switch cfg.format {
	case "jsonl":
	case "parquet":
		if cfg.output == "" || cfg.output == "-" {
			return nil, errors.New("--format parquet writes a folder: give it with -o DIR")
		}
		if cfg.statePath != "" {
			// A run of shard K replaces that shard's files: the delta
			// would replace the archive's records instead of adding to
			// them.
			return nil, errors.New("--format parquet replaces the shard's files at each run: --state goes with jsonl (load the jsonl into Parquet, or scan without --state)")
		}
	default:
		return nil, fmt.Errorf("--format %q: want jsonl or parquet", cfg.format)
	}
	switch cfg.summary {
	case "", "table", "json", "none":
	default:
		return nil, fmt.Errorf("--summary %q: want table, json or none", cfg.summary)
	}
	cfg.progress = !c.Bool("no-progress") && os.Getenv("NO_COLOR") == ""
	return cfg, nil
}

func scanAction(c *cli.Context) error {
	cfg, err := scanFlags(c)
	if err != nil {
		return err
	}
	stderr := c.App.ErrWriter
	var state *scan.State
	if cfg.statePath != "" {
		unlock, err := scan.Lock(cfg.statePath)
		if err != nil {
			return err
		}
		defer unlock()
		if state, err = scan.LoadState(cfg.statePath); err != nil {
			return err
		}
	}
	tasks, tally, problems, err := listTasks(cfg, state)
	if err != nil {
		return err
	}
	for _, p := range problems {
		fmt.Fprintf(stderr, "rstwhy: %s: %v\n", report.Printable(p.Path), p.Err)
	}
	sink, err := openSink(cfg, c.App.Writer.(*stdoutWriter), state, stderr)
	if err != nil {
		return err
	}
	run := &scanRun{cfg: cfg, tasks: tasks, tally: tally, state: state, sink: sink, stderr: stderr}
	if cfg.progress {
		if f, ok := stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			run.progress = newProgress(f, tasks)
		}
	}
	werr := run.run(c.Context)
	if werr == nil && state != nil {
		werr = run.saveState()
	}
	if cerr := sink.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return werr
	}
	sum := run.tally.Result()
	sum.Version = version()
	sum.Shard = cfg.shard.String()
	if err := writeSummary(c, cfg, &sum); err != nil {
		return err
	}
	if n := sum.Files.NotCaptures; n > 0 {
		fmt.Fprintf(stderr, "rstwhy: note: %d %s, skipped (the summary lists them)\n", n, plural(int(n), "file is not a capture", "files are not captures"))
	}
	if run.bad != nil {
		fmt.Fprintf(stderr, "rstwhy: internal error: %d records could not be written, the first: %v\n", run.nbad, run.bad)
	}
	switch {
	case c.Context.Err() != nil:
		fmt.Fprintf(stderr, "rstwhy: interrupted: %d %s not read\n", sum.Files.NotRead, plural(int(sum.Files.NotRead), "file", "files"))
		return errInterrupted
	case sum.Files.Failed > 0 || len(problems) > 0 || run.bad != nil:
		return errUnreadable
	}
	return nil
}

// listTasks walks the paths, takes this shard's files and asks the state
// about each.
func listTasks(cfg *scanConfig, state *scan.State) ([]scanTask, *scan.Tally, []scan.Problem, error) {
	tally := &scan.Tally{}
	var tasks []scanTask
	var problems []scan.Problem
	var all []scan.File // with --join-rotated: every file, this shard's or not
	err := cfg.walker.Walk(cfg.roots, func(f scan.File) error {
		tally.Files.Found++
		if cfg.join {
			all = append(all, f)
		}
		if !cfg.shard.Has(f.Rel) {
			tally.Files.OtherShards++
			return nil
		}
		t := scanTask{File: f}
		if state != nil {
			abs, err := filepath.Abs(f.Path)
			if err != nil {
				return err
			}
			t.key = abs
			v, prev, err := state.Check(abs, f)
			if err != nil {
				problems = append(problems, scan.Problem{Path: f.Path, Err: err})
				tally.Files.Failed++
				return nil
			}
			t.verdict, t.prev = v, prev
			if v == scan.Unchanged {
				tally.Files.Unchanged++
				if prev.ModTime != f.ModTime {
					prev.ModTime = f.ModTime // touched, same bytes: next time without a read
				}
				return nil
			}
		}
		tasks = append(tasks, t)
		return nil
	}, func(p scan.Problem) {
		problems = append(problems, p)
	})
	if err == nil && cfg.join {
		before := rotations(cfg, all)
		for i := range tasks {
			tasks[i].before = before[tasks[i].Path]
		}
	}
	return tasks, tally, problems, err
}

// rotations orders the files of each capture point (scan.CapturePoint)
// by the time of their first record and returns, for each file, the one
// before it. Files of other shards count: a task's first file at a
// capture point may follow another task's. Reading first records runs on
// the -j workers.
func rotations(cfg *scanConfig, files []scan.File) map[string]string {
	points := map[string][]int{}
	for i, f := range files {
		p := scan.CapturePoint(f.Rel)
		points[p] = append(points[p], i)
	}
	first := make([]int64, len(files))
	ok := make([]bool, len(files))
	var g errgroup.Group
	g.SetLimit(cfg.jobs)
	for _, idx := range points {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			g.Go(func() error {
				f, err := os.Open(files[i].Path)
				if err != nil {
					return nil
				}
				defer f.Close()
				first[i], ok[i] = scan.FirstTime(context.Background(), cfg.opt.Capture, f)
				return nil
			})
		}
	}
	g.Wait()
	before := map[string]string{}
	for _, idx := range points {
		var caps []int
		for _, i := range idx {
			if ok[i] {
				caps = append(caps, i)
			}
		}
		// Ties (two files starting at the same nanosecond) go by name:
		// the order must not depend on the walk.
		slices.SortFunc(caps, func(a, b int) int {
			return cmp.Or(cmp.Compare(first[a], first[b]), strings.Compare(files[a].Rel, files[b].Rel))
		})
		for k := 1; k < len(caps); k++ {
			before[files[caps[k]].Path] = files[caps[k-1]].Path
		}
	}
	return before
}

// scanRun is one scan under way.
type scanRun struct {
	cfg      *scanConfig
	tasks    []scanTask
	tally    *scan.Tally
	state    *scan.State
	sink     recordSink
	stderr   io.Writer
	progress *progress

	mu       sync.Mutex
	finished map[int]*scanned // read, waiting for their turn in file order
	saved    time.Time        // when the state was last saved
	bad      error            // the first record that could not be encoded
	nbad     int
}

// scanned is a file read: its result and its records' count.
type scanned struct {
	res        fileResult
	records    int64
	last       int64 // the frame of its last record written
	head, tail string
	digestErr  error
}

// stateEvery is how often the state is saved while a scan runs: saving
// writes every file's entry, so it is not done after each file. A scan
// killed between saves reads again the files read since the last one.
var stateEvery = 2 * time.Second

func (s *scanRun) run(interrupt context.Context) error {
	tasks := s.tasks
	opt := s.cfg.opt
	atOnce := min(s.cfg.jobs, max(1, len(tasks)))
	opt.Workers = max(1, s.cfg.jobs/atOnce)
	s.finished = map[int]*scanned{}
	s.saved = time.Now()
	// stop ends the scan early: the first signal, or output that cannot
	// be written. Captures being read are read to their end (never cut:
	// every record written is final, and a file's records are all written
	// or none is in the state); the next are not started.
	stop, cancel := context.WithCancelCause(interrupt)
	defer cancel(nil)
	seq := newSequencer(len(tasks), s, s.sink.buffer(), false, cancel)
	seq.budget = atOnce * maxWaiting
	seq.onDone = s.done
	if s.progress != nil {
		s.progress.start()
		defer s.progress.stop()
	}
	var g errgroup.Group
	g.SetLimit(atOnce)
	started := 0
	for i := range tasks {
		if stop.Err() != nil {
			break
		}
		started++
		t := &tasks[i]
		g.Go(func() error {
			if stop.Err() != nil {
				// Stopped while this file waited for a worker.
				s.mu.Lock()
				s.finished[i] = nil
				s.mu.Unlock()
				seq.done(i)
				return nil
			}
			sc := &scanned{}
			var read *atomic.Int64
			if s.progress != nil {
				read = &s.progress.bytes
			}
			skip := t.skip()
			emit := func(r report.Record) {
				if r.Frame <= skip {
					return // written before the file grew
				}
				sc.records++
				sc.last = r.Frame
				seq.add(i, r)
			}
			if t.before != "" {
				sc.res = analyzeJoined(context.WithoutCancel(stop), t, opt, read, emit)
			} else {
				sc.res = analyzeFile(context.WithoutCancel(stop), t.Path, nil, opt, read, emit)
			}
			if s.state != nil {
				sc.head, sc.tail, sc.digestErr = scan.Digests(t.Path, t.Size)
			}
			s.mu.Lock()
			s.finished[i] = sc
			s.mu.Unlock()
			if s.progress != nil {
				s.progress.fileDone(t.Size, sc.res.Frames, sc.records)
			}
			seq.done(i)
			return nil
		})
	}
	g.Wait()
	s.tally.Files.NotRead += int64(len(tasks) - started)
	if seq.err == nil {
		if err := s.sink.buffer().Flush(); err != nil {
			return err
		}
	}
	return seq.err
}

// Record is the sequencer's writer: it counts each record, in order,
// and hands it to the sink.
func (s *scanRun) Record(r report.Record) error {
	err := s.sink.Record(r)
	var werr *writeError
	if err == nil {
		s.tally.Record(&r)
	} else if !errors.As(err, &werr) {
		// Left out, as analyze leaves it out; said at the end.
		if s.bad == nil {
			s.bad = fmt.Errorf("%s: frame %d: %w", report.Printable(r.Capture), r.Frame, err)
		}
		s.nbad++
		return nil
	}
	return err
}

// done is the sequencer's onDone: file i's records are all written.
// It runs in file order, so that the summary's lists and stderr's lines
// come in the order of the files.
func (s *scanRun) done(i int) {
	s.mu.Lock()
	sc := s.finished[i]
	delete(s.finished, i)
	s.mu.Unlock()
	t := &s.tasks[i]
	if sc == nil {
		s.tally.Files.NotRead++
		return
	}
	res := &sc.res
	name := report.Printable(t.Path)
	tl := s.tally
	tl.Files.Scanned++
	tl.Bytes += t.Size
	tl.Frames += res.Frames
	if t.verdict == scan.Grown {
		tl.Files.Grown++
	}
	switch {
	case res.notCapture:
		tl.NotCapture(t.Path)
	case res.Error != "":
		tl.Failed(t.Path, res.Error)
		diagnose(s.stderr, []fileResult{*res})
	case res.Warning != "":
		tl.Damaged(t.Path, res.Warning)
		diagnose(s.stderr, []fileResult{*res})
	default:
		diagnose(s.stderr, []fileResult{*res})
	}
	if s.state == nil {
		return
	}
	switch {
	case sc.digestErr != nil:
		fmt.Fprintf(s.stderr, "rstwhy: %s: %v (left out of the state: read again next time)\n", name, sc.digestErr)
		return
	case res.Error != "" && !res.notCapture && res.Frames == 0:
		return // unreadable now; perhaps not next time
	}
	e := &scan.Entry{Size: t.Size, ModTime: t.ModTime, Head: sc.head, Tail: sc.tail,
		Records: sc.records, LastFrame: sc.last, NotCapture: res.notCapture, Damage: res.Warning}
	if t.verdict == scan.Grown && t.prev != nil {
		e.Records += t.prev.Records
		e.LastFrame = max(e.LastFrame, t.prev.LastFrame)
	}
	s.state.Files[t.key] = e
	if time.Since(s.saved) >= stateEvery {
		if err := s.saveState(); err != nil {
			fmt.Fprintf(s.stderr, "rstwhy: %s: %v (saved again later)\n", report.Printable(s.cfg.statePath), err)
		}
	}
}

// saveState makes the records written so far durable, then saves the
// state that names their files: never a state ahead of its records.
func (s *scanRun) saveState() error {
	s.saved = time.Now()
	out, err := s.sink.commit()
	if err != nil {
		return err
	}
	s.state.Output = out
	return s.state.Save(s.cfg.statePath)
}

func writeSummary(c *cli.Context, cfg *scanConfig, sum *scan.Summary) error {
	if cfg.summary == "none" {
		return nil
	}
	var w io.Writer = c.App.Writer
	var file *os.File
	switch {
	case cfg.sumOut != "" && cfg.sumOut != "-":
		f, err := os.Create(cfg.sumOut)
		if err != nil {
			return fmt.Errorf("--summary-out: %v", err)
		}
		file, w = f, f
	case cfg.sumOut == "" && (cfg.output == "" || cfg.output == "-"):
		// The records have standard output.
		w = c.App.ErrWriter
	}
	format := cfg.summary
	if format == "" {
		format = "json"
		if f, ok := unwrapFile(w); ok && isatty.IsTerminal(f.Fd()) {
			format = "table"
		}
	}
	var err error
	if format == "table" {
		err = sum.WriteTable(w)
	} else {
		err = sum.WriteJSON(w)
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("--summary-out: %v", err)
		}
	}
	return err
}

func unwrapFile(w io.Writer) (*os.File, bool) {
	if s, ok := w.(*stdoutWriter); ok {
		w = s.w
	}
	f, ok := w.(*os.File)
	return f, ok
}

// recordSink is where scan's records go: a jsonl stream, or Parquet files
// by date. The sequencer writes records in order through buffer.
type recordSink interface {
	Record(r report.Record) error
	// buffer is flushed by the sequencer after each file.
	buffer() *bufio.Writer
	// commit makes what was written durable and says where it ends, for
	// the state (nil: nothing to cut back to, as on standard output).
	commit() (*scan.Output, error)
	Close() error
}

// openSink opens the records' destination. With a state, a file is
// appended to, after cutting off what a killed scan wrote past the
// state's last save (records of files the state does not name, which
// this scan writes again).
func openSink(cfg *scanConfig, stdout *stdoutWriter, state *scan.State, stderr io.Writer) (recordSink, error) {
	if cfg.format == "parquet" {
		k, n := max(1, cfg.shard.K), max(1, cfg.shard.N)
		w, err := parquet.Create(cfg.output, k, n)
		if err != nil {
			return nil, fmt.Errorf("-o: %v", err)
		}
		return &parquetSink{w: w, out: bufio.NewWriter(io.Discard)}, nil
	}
	if cfg.output == "" || cfg.output == "-" {
		out := bufio.NewWriterSize(stdout, 256<<10)
		w, _ := report.NewWriter("jsonl", out, report.Options{})
		return &jsonlSink{w: w, out: out}, nil
	}
	abs, err := filepath.Abs(cfg.output)
	if err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if state != nil {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(cfg.output, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("-o: %v", err)
	}
	if state != nil && state.Output != nil && state.Output.Path == abs {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("-o: %v", err)
		}
		switch size := fi.Size(); {
		case size > state.Output.Size:
			// O_APPEND writes at the end whatever the offset: the cut
			// is all that is needed.
			if err := f.Truncate(state.Output.Size); err != nil {
				f.Close()
				return nil, fmt.Errorf("-o: cutting off the records of an unfinished scan: %v", err)
			}
			fmt.Fprintf(stderr, "rstwhy: %s: %d bytes past the state's last save cut off (an unfinished scan's; their files are read again)\n",
				report.Printable(cfg.output), size-state.Output.Size)
		case size < state.Output.Size:
			fmt.Fprintf(stderr, "rstwhy: warning: %s is shorter than the state says (%d bytes, not %d): appending to it as it is\n",
				report.Printable(cfg.output), size, state.Output.Size)
		}
	}
	out := bufio.NewWriterSize(&stdoutWriter{w: f}, 256<<10)
	w, _ := report.NewWriter("jsonl", out, report.Options{})
	return &jsonlSink{w: w, out: out, f: f, path: abs}, nil
}

// jsonlSink writes one JSON object a record, to standard output or a file.
type jsonlSink struct {
	w    report.Writer
	out  *bufio.Writer
	f    *os.File // nil: standard output
	path string
}

func (j *jsonlSink) Record(r report.Record) error { return j.w.Record(r) }
func (j *jsonlSink) buffer() *bufio.Writer        { return j.out }

func (j *jsonlSink) commit() (*scan.Output, error) {
	if err := j.out.Flush(); err != nil {
		return nil, err
	}
	if j.f == nil {
		return nil, nil
	}
	if err := j.f.Sync(); err != nil {
		return nil, &writeError{err}
	}
	fi, err := j.f.Stat()
	if err != nil {
		return nil, err
	}
	return &scan.Output{Path: j.path, Size: fi.Size()}, nil
}

func (j *jsonlSink) Close() error {
	err := j.out.Flush()
	if j.f != nil {
		if cerr := j.f.Close(); err == nil && cerr != nil {
			err = &writeError{cerr}
		}
	}
	return err
}

// analyzeJoined analyses a file with the one before it at its capture
// point in front (scan.Join): connections that cross the rotation keep
// their history. Only this file's records are emitted, renumbered to its
// own frames; evidence citing a frame of the file before names it. A file
// that is not a capture is analysed alone, which says so.
func analyzeJoined(stop context.Context, t *scanTask, opt runOptions, read *atomic.Int64, emit func(report.Record)) fileResult {
	f, err := os.Open(t.Path)
	if err != nil {
		return analyzeFile(stop, t.Path, nil, opt, read, emit)
	}
	defer f.Close()
	var in io.Reader = f
	if read != nil {
		in = countingReader{&fileReader{stop: stop, r: f}, read}
	}
	this, err := opt.Capture.Open(stop, in)
	if err != nil {
		return analyzeFile(stop, t.Path, nil, opt, read, emit)
	}
	defer this.Close()
	var prev io.Reader
	if pf, err := os.Open(t.before); err == nil {
		defer pf.Close()
		prev = pf
	}
	j := scan.NewJoin(stop, opt.Capture, prev, this)
	defer j.Close()
	prevName := filepath.Base(t.before)
	res := analyzeInput(stop, t.Path, &fileReader{stop: stop, r: j}, opt, func(r report.Record) {
		b, ok := j.Boundary()
		if !ok || r.Frame <= b {
			return // the file before's: reported by its own scan
		}
		r.Frame -= b
		for _, ref := range []*int64{&r.FollowupOf, &r.CopyOf} {
			if *ref > b {
				*ref -= b
			} else if *ref != 0 {
				*ref = 0 // in the file before: the evidence names it
			}
		}
		ev := make([]string, len(r.Evidence))
		for k, e := range r.Evidence {
			ev[k] = scan.Renumber(e, b, prevName)
		}
		r.Evidence = ev
		emit(r)
	})
	st := j.Stats()
	res.Format, res.Compression, res.Frames = st.Format, st.Compression, st.Frames
	if err := j.Damage(); err != nil && res.Error == "" {
		res.Warning = err.Error()
	}
	return res
}

// parquetSink writes records as Parquet, by date (package report/parquet).
// Its files appear at Close; nothing is durable before, so it has nothing
// to commit (and scan refuses --state with it).
type parquetSink struct {
	w   *parquet.Writer
	out *bufio.Writer // the sequencer's, to nowhere
}

func (p *parquetSink) Record(r report.Record) error {
	if err := p.w.Record(r); err != nil {
		return &writeError{err}
	}
	return nil
}
func (p *parquetSink) buffer() *bufio.Writer         { return p.out }
func (p *parquetSink) commit() (*scan.Output, error) { return nil, nil }

func (p *parquetSink) Close() error {
	if err := p.w.Close(); err != nil {
		return &writeError{err}
	}
	return nil
}
