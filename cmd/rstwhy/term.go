package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
)

// display is what the text formats know of where they are written.
type display struct {
	terminal bool
	width    int // columns: COLUMNS, else the terminal's, else 0 (unknown)
	color    bool
}

// colorFlagUsage is --color's help line, shared by the commands.
const colorFlagUsage = "auto (colour on a terminal, unless NO_COLOR is set), always or never"

// newDisplay looks at stdout and the environment: the width from
// COLUMNS (what shells export and what a user sets to choose one), else
// the terminal's size; colour for --color=always, or for auto on a
// terminal with NO_COLOR unset or empty (no-color.org) and TERM not
// "dumb".
func newDisplay(stdout any, colorMode string, getenv func(string) string) (display, error) {
	var d display
	f, isFile := stdout.(*os.File)
	if isFile && isatty.IsTerminal(f.Fd()) {
		d.terminal = true
	}
	if n, err := strconv.Atoi(strings.TrimSpace(getenv("COLUMNS"))); err == nil && n > 0 {
		d.width = n
	} else if d.terminal {
		d.width = terminalWidth(f)
	}
	switch colorMode {
	case "", "auto":
		d.color = d.terminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb"
	case "always":
		d.color = true
	case "never":
	default:
		return d, fmt.Errorf("--color %s: want auto, always or never", colorMode)
	}
	return d, nil
}

// textWidth is where text wraps: the width known, else 100 columns.
func (d display) textWidth() int {
	if d.width > 0 {
		return d.width
	}
	return 100
}
