// Package testcap finds the captures tests read: the lab's, shipped in
// testdata/pcaps, and the public corpus, cloned beside the repository in
// shared/corpus/public (as CI lays it out). It is for tests only; the
// product never imports it.
package testcap

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// root is the repository's top folder, found from this file's own path so
// that tests of any package find the same captures.
func root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// CorpusDir is the public corpus's folder.
func CorpusDir() string { return filepath.Join(root(), "..", "shared", "corpus", "public") }

// Corpus returns the path of one corpus capture.
func Corpus(name string) string { return filepath.Join(CorpusDir(), name) }

// LabDir is the lab's captures' folder.
func LabDir() string { return filepath.Join(root(), "testdata", "pcaps") }

// CorpusGlob lists the corpus captures; none when the corpus is absent.
func CorpusGlob() ([]string, error) {
	names, err := filepath.Glob(filepath.Join(CorpusDir(), "*.pcap*"))
	var caps []string
	for _, n := range names {
		if strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") {
			caps = append(caps, n)
		}
	}
	return caps, err
}

// CorpusFiles lists the corpus captures, skipping the test when the
// corpus is absent.
func CorpusFiles(tb testing.TB) []string {
	tb.Helper()
	caps, err := CorpusGlob()
	if err != nil {
		tb.Fatal(err)
	}
	if len(caps) == 0 {
		tb.Skipf("public corpus not found at %s", CorpusDir())
	}
	return caps
}

// Lab lists the lab's captures.
func Lab() []string {
	files, _ := filepath.Glob(filepath.Join(LabDir(), "*.pcap*"))
	var caps []string
	for _, f := range files {
		if !strings.HasSuffix(f, ".json") {
			caps = append(caps, f)
		}
	}
	return caps
}

// All lists the lab's captures and the public corpus's.
func All() []string {
	more, _ := CorpusGlob()
	return append(Lab(), more...)
}
