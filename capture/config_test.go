package capture

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/rstwhy/rstwhy/internal/testcap"
)

func TestZstdWindowLimit(t *testing.T) {
	data := pcapFile(binary.LittleEndian, false, 65535, layers.LinkTypeEthernet, testRecords(t)).data
	big := testcap.ZstdWithWindow(t, data, 256<<20)
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
	z := testcap.ZstdWithWindow(t, data, 64<<20)
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

// TestTooLongSaysWhy: a record over what rstwhy reads of a packet, in a
// file whose snap length is larger still, is refused for the limit it
// breaks, not for a snap length it is below.
func TestTooLongSaysWhy(t *testing.T) {
	c := pcapFile(binary.LittleEndian, false, 0xffffffff, layers.LinkTypeEthernet, nil).data
	rec := make([]byte, 16)
	binary.LittleEndian.PutUint32(rec[8:], 4294967280)
	binary.LittleEndian.PutUint32(rec[12:], 4294967280)
	_, _, err := readRaws(append(c, rec...))
	var de *DamageError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "record length 4294967280 is over") || !strings.Contains(err.Error(), "snap length is 4294967295") {
		t.Fatalf("err = %v", err)
	}
}
