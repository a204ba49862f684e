package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mattn/go-isatty"
)

// TestHTMLOnTerminal: -f html with a terminal for stdout is a usage error
// that says how to get the page; with -o the page goes to the file and the
// terminal is no matter. A pseudo-terminal's master stands for the user's
// terminal.
func TestHTMLOnTerminal(t *testing.T) {
	tty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil || !isatty.IsTerminal(tty.Fd()) {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer tty.Close()
	var errb bytes.Buffer
	code := run(context.Background(), []string{"rstwhy", "analyze", "-f", "html", sample}, nil, tty, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "give -o report.html") {
		t.Errorf("-f html on a terminal: exit %d, stderr %q; want %d saying to give -o", code, errb.String(), exitUsage)
	}
	page := filepath.Join(t.TempDir(), "report.html")
	errb.Reset()
	code = run(context.Background(), []string{"rstwhy", "analyze", "-f", "html", "-o", page, sample}, nil, tty, &errb)
	if b, _ := os.ReadFile(page); code != exitOK || !bytes.HasPrefix(b, []byte("<!DOCTYPE html>")) {
		t.Errorf("-f html -o on a terminal: exit %d, stderr %q, page of %d bytes", code, errb.String(), len(b))
	}
}
