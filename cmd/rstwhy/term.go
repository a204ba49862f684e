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
	var err error
	d.color, err = useColor(colorMode, d.terminal, getenv)
	return d, err
}

// useColor decides on colour for --color=mode.
func useColor(mode string, terminal bool, getenv func(string) string) (bool, error) {
	switch mode {
	case "", "auto":
		return terminal && getenv("NO_COLOR") == "" && getenv("TERM") != "dumb", nil
	case "always":
		return true, nil
	case "never":
		return false, nil
	}
	return false, fmt.Errorf("--color %s: want auto, always or never", mode)
}

// textWidth is where text wraps: the width known, else 100 columns.
func (d display) textWidth() int {
	if d.width > 0 {
		return d.width
	}
	return 100
}
