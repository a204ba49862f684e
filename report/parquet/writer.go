package parquet

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	pq "github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/rstwhy/rstwhy/report"
)

const (
	// maxOpen is the number of dates open at once. An archive's records
	// come roughly in time order: two dates are open around midnight,
	// more only when captures of several days are given together.
	maxOpen = 8
	// rowGroupRows is the rows of a row group, what a file holds in
	// memory, compressed, before it is written out: a few MB of records,
	// not the 128 MB engines prefer, whose price would be memory for
	// every date open.
	rowGroupRows = 64 << 10
	// batchRows are the rows handed to parquet-go at once: one call a
	// row costs its per-call overhead for every record.
	batchRows = 256
	// pageBytes is parquet-go's page buffer, one a column. With its
	// default of 256 KiB a file held 37 MiB (1M lab-like records, live
	// heap): 40 columns of buffers, and zstd history as large as a page.
	// With 64 KiB, 10 MiB, and the files 13% larger.
	pageBytes = 64 << 10
)

// Writer writes records into Parquet files, one a date (UTC) for its
// shard. Not safe for concurrent use.
type Writer struct {
	dir           string
	prefix        string // part-K-of-N
	maxOpen       int
	rowGroupRows  int64
	open          []*part         // dates open, at most maxOpen
	files         map[string]int  // files opened per date, over the run
	written       map[string]bool // final paths this run writes
	renames       []rename        // at Close
	tick          uint64          // records seen: the clock of part.used
	err           error           // the first I/O error: every later call returns it
	closed        bool
	schemaVersion string
	codec         *zstd.Codec // shared by the files, and so its pool of encoders
}

type rename struct{ tmp, final string }

// part is one open file.
type part struct {
	date  string
	tmp   string
	f     *os.File
	w     *pq.GenericWriter[row]
	batch []row
	used  uint64 // Writer.tick when last written to
}

// Create returns a Writer into dir, which it creates if need be, for shard
// K of N (1-based; 1, 1 for a single process): its files are named
// part-K-of-N, so that the processes of one run never write the same file.
func Create(dir string, shard, shards int) (*Writer, error) {
	if shards < 1 || shard < 1 || shard > shards {
		return nil, fmt.Errorf("parquet: shard %d of %d: want 1 <= K <= N", shard, shards)
	}
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return nil, err
	}
	return &Writer{
		dir:           dir,
		prefix:        fmt.Sprintf("part-%d-of-%d", shard, shards),
		maxOpen:       maxOpen,
		rowGroupRows:  rowGroupRows,
		files:         map[string]int{},
		written:       map[string]bool{},
		schemaVersion: strconv.Itoa(report.SchemaVersion),
		codec:         &zstd.Codec{Level: zstd.SpeedFastest},
	}, nil
}

// Record writes r to the file of its UTC date,
// DIR/date=YYYY-MM-DD/part-K-of-N.parquet. A record whose time cannot be
// read is left out and its error returned; an error writing a file is
// returned by every later call, and Close then leaves the run's files
// under their temporary names. r's strings and Evidence are kept until
// its row is written, up to 256 records later: the caller must not change
// them after the call.
func (w *Writer) Record(r report.Record) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("parquet: Record after Close")
	}
	t, date, err := parseTime(r.Time)
	if err != nil {
		return fmt.Errorf("%s: frame %d: time %q: %w", report.Printable(r.Capture), r.Frame, r.Time, err)
	}
	p, err := w.part(date)
	if err != nil {
		w.err = err
		return err
	}
	p.batch = append(p.batch, newRow(&r, t))
	if len(p.batch) == batchRows {
		if err := w.flush(p); err != nil {
			w.err = err
			return err
		}
	}
	return nil
}

// part returns the open file of date, opening it (and closing the least
// recently used one past maxOpen) if need be.
func (w *Writer) part(date string) (*part, error) {
	w.tick++
	var lru *part
	for _, p := range w.open {
		if p.date == date {
			p.used = w.tick
			return p, nil
		}
		if lru == nil || p.used < lru.used {
			lru = p
		}
	}
	if len(w.open) >= w.maxOpen {
		if err := w.finish(lru); err != nil {
			return nil, err
		}
		w.open = slices.DeleteFunc(w.open, func(p *part) bool { return p == lru })
	}
	d := strings.Clone(date) // not the record's time string
	sub := filepath.Join(w.dir, "date="+d)
	if err := os.MkdirAll(sub, 0o777); err != nil {
		return nil, err
	}
	w.files[d]++
	name := w.prefix + ".parquet"
	if n := w.files[d]; n > 1 {
		name = w.prefix + "." + strconv.Itoa(n) + ".parquet"
	}
	final := filepath.Join(sub, name)
	tmp := filepath.Join(sub, "."+name+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	p := &part{date: d, tmp: tmp, f: f, used: w.tick,
		batch: make([]row, 0, batchRows),
		w: pq.NewGenericWriter[row](f,
			pq.Compression(w.codec),
			pq.PageBufferSize(pageBytes),
			pq.MaxRowsPerRowGroup(w.rowGroupRows),
			// A column of one capture's names, or its evidence, must not
			// grow a dictionary without end: past 1 MiB it goes plain.
			pq.DictionaryMaxBytes(1<<20),
			pq.KeyValueMetadata("rstwhy.schema_version", w.schemaVersion),
		)}
	w.open = append(w.open, p)
	w.renames = append(w.renames, rename{tmp, final})
	w.written[final] = true
	return p, nil
}

func (w *Writer) flush(p *part) error {
	if len(p.batch) == 0 {
		return nil
	}
	_, err := p.w.Write(p.batch)
	clear(p.batch) // the strings and evidence are not kept past the write
	p.batch = p.batch[:0]
	if err != nil {
		return fmt.Errorf("%s: %w", p.tmp, err)
	}
	return nil
}

// finish writes what is left of p and its footer, and closes it.
func (w *Writer) finish(p *part) error {
	err := w.flush(p)
	if err == nil {
		if err = p.w.Close(); err != nil {
			err = fmt.Errorf("%s: %w", p.tmp, err)
		}
	}
	if cerr := p.f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	return err
}

// Close finishes every file, renames each to its final name, and removes
// the files of the same shard that an earlier run left and this one did
// not write.
func (w *Writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	for _, p := range w.open {
		if err := w.finish(p); err != nil && w.err == nil {
			w.err = err
		}
	}
	w.open = nil
	if w.err != nil {
		return w.err
	}
	for _, r := range w.renames {
		if err := os.Rename(r.tmp, r.final); err != nil {
			w.err = err
			return err
		}
	}
	w.err = w.removeStale()
	return w.err
}

// removeStale removes the shard's files, final or temporary, that this
// run did not write: of a run that had more dates or more files a date.
// Another shard's names never match.
func (w *Writer) removeStale() error {
	dates, err := filepath.Glob(filepath.Join(w.dir, "date=*"))
	if err != nil {
		return err
	}
	for _, d := range dates {
		ents, err := os.ReadDir(d)
		if err != nil {
			continue // not a directory, or gone: none of ours
		}
		for _, e := range ents {
			path := filepath.Join(d, e.Name())
			if !w.ours(e.Name()) || w.written[path] {
				continue
			}
			if err := os.Remove(path); err != nil {
				return err
			}
		}
	}
	return nil
}

// ours tells whether name is one of this shard's files: part-K-of-N, an
// optional .M, .parquet, or that hidden with a dot and ending in .tmp.
func (w *Writer) ours(name string) bool {
	if t, ok := strings.CutPrefix(name, "."); ok {
		name, ok = strings.CutSuffix(t, ".tmp")
		if !ok {
			return false
		}
	}
	rest, ok := strings.CutPrefix(name, w.prefix)
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, ".parquet")
	if !ok {
		return false
	}
	if rest == "" {
		return true
	}
	n, ok := strings.CutPrefix(rest, ".")
	if !ok || n == "" {
		return false // part-1-of-40 is not part-1-of-4's
	}
	for _, c := range n {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
