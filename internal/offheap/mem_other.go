//go:build !linux || rstwhy_heap

package offheap

// Region is nothing where memory stays on the heap.
type Region struct{}

// Map returns n zero Ts from the heap (see mem_linux.go). The build tag
// rstwhy_heap selects it on Linux too, for A/B runs.
func Map[T any](n int) ([]T, Region) { return make([]T, n), Region{} }

// Unmap does nothing.
func (Region) Unmap() {}
