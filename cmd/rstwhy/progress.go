package main

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress is scan's status line on a terminal's standard error, redrawn
// a few times a second: files, bytes, packets, resets, the rate and the
// time left (by bytes). A line of our own, not a library's bar: it is
// one line, redrawn with \r, and needs nothing a terminal does not have.
type progress struct {
	w          io.Writer
	files      int64 // to read
	total      int64 // their bytes
	bytes      atomic.Int64
	done       atomic.Int64 // files read
	doneBytes  atomic.Int64 // bytes of the files read
	packets    atomic.Int64
	resets     atomic.Int64
	begin      time.Time
	quit, gone chan struct{}
	once       sync.Once
}

func newProgress(w io.Writer, tasks []scanTask) *progress {
	p := &progress{w: w, files: int64(len(tasks))}
	for _, t := range tasks {
		p.total += t.Size
	}
	return p
}

func (p *progress) start() {
	p.begin = time.Now()
	p.quit, p.gone = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.gone)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.quit:
				// The line is wiped: what stays on the terminal is the
				// summary and the diagnostics.
				fmt.Fprint(p.w, "\r\x1b[K")
				return
			case <-tick.C:
				fmt.Fprint(p.w, "\r\x1b[K"+p.line(time.Since(p.begin)))
			}
		}
	}()
}

func (p *progress) stop() {
	p.once.Do(func() { close(p.quit); <-p.gone })
}

// fileDone counts a file read. Its bytes were counted as they were read;
// a compressed file's are its decompressed bytes, so the file's size is
// what counts toward the total.
func (p *progress) fileDone(size, packets, resets int64) {
	p.done.Add(1)
	p.doneBytes.Add(size)
	p.packets.Add(packets)
	p.resets.Add(resets)
}

func (p *progress) line(elapsed time.Duration) string {
	done, read := p.done.Load(), p.doneBytes.Load()
	// Bytes of files being read are counted as read, up to their size.
	read = max(read, min(p.total, p.bytes.Load()))
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d files  %s/%s  %d packets  %d resets", done, p.files,
		short(read), short(p.total), p.packets.Load(), p.resets.Load())
	if secs := elapsed.Seconds(); secs > 0.5 && read > 0 {
		rate := float64(read) / secs
		fmt.Fprintf(&b, "  %s/s", short(int64(rate)))
		left := time.Duration(float64(p.total-read) / rate * float64(time.Second))
		fmt.Fprintf(&b, "  %s left", left.Round(time.Second))
	}
	return b.String()
}

// short is a byte count in decimal units, as the bench's MB.
func short(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.1f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return fmt.Sprintf("%.0f kB", float64(n)/1e3)
}
