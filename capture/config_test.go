package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/bits"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/zstd"
)

// zstdWithWindow compresses data into one zstd frame whose header
// declares the given window (a power of two), as a stream compressed
// with --long does; the encoder itself declares what the data needs.
func zstdWithWindow(tb testing.TB, data []byte, window int) []byte {
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

func TestZstdWindowLimit(t *testing.T) {
	data := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, testRecords(t)).data
	big := zstdWithWindow(t, data, 256<<20)
	if w, ok := zstdWindow(big[:18]); !ok || w != 256<<20 {
		t.Fatalf("zstdWindow = %d, %v; want 256 MiB", w, ok)
	}
	_, err := NewReader(bytes.NewReader(big))
	var we *WindowError
	if !errors.As(err, &we) || we.Window != 256<<20 || we.Limit != DefaultMaxZstdWindow {
		t.Fatalf("NewReader: %v; want a WindowError of 256 MiB over 128 MiB", err)
	}
	if got, want := err.Error(), "zstd window of 256 MiB is over the limit of 128 MiB"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
	r, err := Config{MaxZstdWindow: 256 << 20}.Open(context.Background(), bytes.NewReader(big))
	if err != nil {
		t.Fatalf("with the limit raised: %v", err)
	}
	defer r.Close()
	if recs, _, err := readAllFrom(r); err != io.EOF || len(recs) != len(testRecords(t)) {
		t.Fatalf("read %d records, %v", len(recs), err)
	}
}

// TestZstdMemoryShared: readers that share a Memory budget wait for each
// other's windows; Close gives a window back.
func TestZstdMemoryShared(t *testing.T) {
	data := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, testRecords(t)).data
	z := zstdWithWindow(t, data, 64<<20)
	mem := NewMemory(100 << 20) // room for one 64 MiB window, not two
	cfg := Config{Memory: mem}
	first, err := cfg.Open(context.Background(), bytes.NewReader(z))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cfg.Open(ctx, bytes.NewReader(z)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a second reader while the first holds its window: %v, want to wait", err)
	}
	first.Close()
	second, err := cfg.Open(context.Background(), bytes.NewReader(z))
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	second.Close()
}

func readAllFrom(r *Reader) ([]Raw, *Reader, error) {
	var out []Raw
	for {
		raw, err := r.Next()
		if err != nil {
			return out, r, err
		}
		out = append(out, raw)
	}
}
