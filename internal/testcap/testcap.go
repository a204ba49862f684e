// Package testcap finds the captures tests read: the lab's, shipped in
// testdata/pcaps, and the public corpus, cloned beside the repository in
// shared/corpus/public (as CI lays it out). It is for tests only; the
// product never imports it.
package testcap

import (
	"bytes"
	"math/bits"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
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

// ZstdWithWindow compresses data into one zstd frame whose header
// declares the given window (a power of two), as a stream compressed
// with --long does; the encoder itself declares what the data needs.
func ZstdWithWindow(tb testing.TB, data []byte, window int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderConcurrency(1))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	z := buf.Bytes()
	fhd := z[4]
	hl := 5 + [4]int{0, 1, 2, 4}[fhd&3]
	fcs := [4]int{0, 2, 4, 8}[fhd>>6]
	if fhd&0x20 != 0 {
		if fcs == 0 {
			fcs = 1
		}
	} else {
		hl++
	}
	hl += fcs
	log := bits.Len(uint(window)) - 1
	// No content size, not single-segment, the checksum flag kept.
	head := []byte{z[0], z[1], z[2], z[3], fhd & 0x04, byte(log-10) << 3}
	return append(head, z[hl:]...)
}
