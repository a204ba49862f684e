package offheap

import (
	"reflect"
	"slices"
	"testing"
	"unsafe"
)

// TestHoldsPointers: the check itself sees pointers at any depth.
func TestHoldsPointers(t *testing.T) {
	type inner struct {
		A [3]struct{ B []byte }
	}
	for _, tt := range []struct {
		v    any
		want bool
	}{
		{struct{ a, b int64 }{}, false},
		{[4][16]byte{}, false},
		{struct{ s string }{}, true},
		{inner{}, true},
		{struct{ f func() }{}, true},
		{[0]*int{}, false},
	} {
		if got := HoldsPointers(reflect.TypeOf(tt.v)); got != tt.want {
			t.Errorf("HoldsPointers(%T) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

// TestPrefaultEveryPage checks that Prefault writes into every 4 KiB page
// a slice spans, whatever the element size: smaller than a page, not
// dividing it, or larger.
func TestPrefaultEveryPage(t *testing.T) {
	prefaultCase[[24]byte](t, 10000)
	prefaultCase[[1464]byte](t, 100)
	prefaultCase[[5000]byte](t, 20)
}

func prefaultCase[T any](t *testing.T, n int) {
	t.Helper()
	s := make([]T, n)
	size := int(unsafe.Sizeof(s[0]))
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n*size)
	for i := range b {
		b[i] = 1
	}
	Prefault(s)
	for p := 0; p < len(b); p += 4096 {
		if !slices.Contains(b[p:min(p+4096, len(b))], 0) {
			t.Errorf("element size %d: the page at byte %d of %d was not written", size, p, len(b))
		}
	}
}
