package track

import (
	"reflect"
	"testing"

	"github.com/rstwhy/rstwhy/internal/offheap"
)

// TestOffHeapNoPointers: the connection slabs are outside the Go heap and
// the collector never scans them, so a connection must hold no Go
// pointer. A string, slice or pointer field added to conn (application
// context, a note) fails here, before it can corrupt memory.
func TestOffHeapNoPointers(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[conn](), reflect.TypeFor[Conn]()} {
		if offheap.HoldsPointers(typ) {
			t.Errorf("%v holds Go pointers: %v", typ, pointerFields(typ, typ.Name()))
		}
	}
}

// pointerFields names the fields of t that hold pointers.
func pointerFields(t reflect.Type, path string) []string {
	if t.Kind() != reflect.Struct {
		if offheap.HoldsPointers(t) {
			return []string{path}
		}
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		out = append(out, pointerFields(f.Type, path+"."+f.Name)...)
	}
	return out
}
