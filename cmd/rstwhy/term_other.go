//go:build !unix

package main

import "os"

// terminalWidth: COLUMNS only, off Unix.
func terminalWidth(*os.File) int { return 0 }
