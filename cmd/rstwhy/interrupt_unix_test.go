//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestInterruptFIFO: a FIFO with no writer blocks open(2); a FIFO whose
// writer went silent blocks read(2). Neither delays an interrupt.
func TestInterruptFIFO(t *testing.T) {
	t.Run("no writer", func(t *testing.T) {
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip(err)
		}
		// Let the opener go once the test is done with it.
		defer func() {
			if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				f.Close()
			}
		}()
		ctx, interrupt := context.WithCancel(context.Background())
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() { done <- run(ctx, []string{"rstwhy", "analyze", "-f", "json", fifo}, nil, &out, &errb) }()
		time.Sleep(50 * time.Millisecond) // most likely in open(2) by now; either way the outcome is the same
		interrupt()
		if code := returnsWithin1s(t, done); code != exitInterrupted {
			t.Errorf("exit %d, want %d", code, exitInterrupted)
		}
		if errb.String() != "rstwhy: interrupted: 1 capture not read\n" {
			t.Errorf("stderr %q", errb.String())
		}
		checkAll(t, "json", out.String(), nil)
	})
	t.Run("silent writer", func(t *testing.T) {
		data := twoCaptures(t)
		want := records(t, func() string { o, _, _ := rstwhy(t, data, "analyze", "-f", "jsonl", "-j", "1", "-"); return o }())
		fifo := filepath.Join(t.TempDir(), "fifo")
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip(err)
		}
		writer := make(chan *os.File, 1)
		go func() {
			f, err := os.OpenFile(fifo, os.O_WRONLY, 0) // waits for the reader
			if err != nil {
				close(writer)
				return
			}
			f.Write(data)
			writer <- f // kept open: the capture has not ended
		}()
		defer func() {
			if f := <-writer; f != nil {
				f.Close()
			}
		}()
		ctx, interrupt := context.WithCancel(context.Background())
		var out, errb syncBuffer
		done := make(chan int, 1)
		go func() {
			done <- run(ctx, []string{"rstwhy", "analyze", "-f", "jsonl", "-j", "1", fifo}, nil, &out, &errb)
		}()
		waitFor(t, &out, `"frame":28,`, done)
		interrupt()
		if code := returnsWithin1s(t, done); code != exitInterrupted {
			t.Errorf("exit %d, want %d; stderr %s", code, exitInterrupted, errb.String())
		}
		checkAll(t, "jsonl", out.String(), want)
	})
}
