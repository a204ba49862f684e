// Package offheap holds memory outside the Go heap for large tables of
// small records read at random: mapped with mmap, aligned to huge pages
// and advised MADV_HUGEPAGE on Linux, never scanned by the collector.
//
// Start with Map. The one rule: what is stored there holds no Go
// pointers (HoldsPointers; Map falls back to the heap for a type that
// does, and each user tests its types). Links between records are
// indices. Not a goal: an allocator; memory is mapped in slabs and
// returned whole.
package offheap

import (
	"reflect"
	"unsafe"
)

// HoldsPointers reports whether a value of type t holds anything the
// garbage collector follows: a pointer, slice, string, map, channel,
// function or interface, at any depth. Memory outside the Go heap (the
// connection slabs) must hold none: the collector does not scan it, and
// an object only it pointed to would be freed under it.
func HoldsPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Slice, reflect.String, reflect.Map,
		reflect.Chan, reflect.Func, reflect.Interface:
		return true
	case reflect.Array:
		return t.Len() > 0 && HoldsPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if HoldsPointers(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}

// HugePage is the size of a transparent huge page on x86-64 and most
// arm64 kernels. Where it is another, alignment to it is merely wasted.
const HugePage = 2 << 20

// Prefault writes a zero into every 4 KiB page of s. A large slice fresh
// from the system is not touched by make, and a table's probes read a
// slot before they write one: the read maps the shared zero page, and the
// write after it copies the page and flushes the TLB of every CPU running
// the process, an interrupt each under a hypervisor (perf, with two
// workers: most of their page-fault time outside the slabs). Written
// first, each page faults once.
func Prefault[T any](s []T) {
	size := int(unsafe.Sizeof(*new(T)))
	if size == 0 {
		return
	}
	var zero T
	for i, step := 0, max(1, 4096/size); i < len(s); i += step {
		s[i] = zero
	}
	if len(s) > 0 {
		s[len(s)-1] = zero // the tail after the last step may cross a page
	}
}
