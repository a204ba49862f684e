//go:build linux && !rstwhy_heap

package offheap

import (
	"reflect"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Region is memory mapped outside the Go heap; Unmap returns it.
type Region []byte

// Map returns n zero Ts in memory of their own outside the Go heap,
// for tables of many small records such as the tracker's connections. Such memory is read
// one or two cache lines at a time out of tens of megabytes, and two
// things make that cheaper than on the heap:
//
//   - Huge pages. With 4 KiB pages nearly every lookup also misses the
//     TLB, and under a hypervisor a TLB miss walks two page tables; on a
//     2 MiB page it does not. Linux gives a process huge pages only where
//     it asked (the default setting, "madvise"), and the Go runtime never
//     asks for its heap. A slice of 2 MiB or more starts on a 2 MiB
//     boundary and is advised.
//   - The garbage collector neither scans it nor counts it: a table of
//     65536 connections is 95 MB that no collection reads, and that does
//     not raise the heap's goal by half as much again of garbage.
//
// The memory is written to, a word a page, before anything reads it
// (Prefault; perf, with two workers: a tenth of their time went to the
// copy-on-write faults when each new connection was read before it was
// written).
//
// The collector does not see pointers stored there, so a T that holds
// any (HoldsPointers) gets heap memory instead: a field added to conn
// that points into the heap makes the table slower, never corrupt, and
// TestOffHeapNoPointers fails. When the mapping fails, mapSlice falls
// back to the heap too.
func Map[T any](n int) ([]T, Region) {
	if HoldsPointers(reflect.TypeFor[T]()) {
		return make([]T, n), nil
	}
	size := uintptr(n) * unsafe.Sizeof(*new(T))
	if size == 0 {
		return nil, nil
	}
	const page = 4096
	const hugePage = HugePage
	length := (size + page - 1) &^ (page - 1)
	pad := uintptr(0)
	if length >= hugePage {
		pad = hugePage // room to start at a boundary
	}
	b, err := unix.Mmap(-1, 0, int(length+pad), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return make([]T, n), nil
	}
	off := uintptr(0)
	if pad > 0 {
		base := uintptr(unsafe.Pointer(&b[0]))
		off = (base+hugePage-1)&^(hugePage-1) - base
		_ = unix.Madvise(b[off:off+length], unix.MADV_HUGEPAGE) // advice: an error changes nothing
	}
	out := unsafe.Slice((*T)(unsafe.Pointer(&b[off])), n)
	Prefault(out)
	return out, Region(b)
}

// Unmap returns the memory to the system.
func (r Region) Unmap() {
	if r != nil {
		_ = unix.Munmap(r)
	}
}
