//go:build !linux

package analyzer

// region is nothing where the flow table stays on the heap.
type region struct{}

// mapSlice returns n zero Ts from the heap (see mem_linux.go).
func mapSlice[T any](n int) ([]T, region) { return make([]T, n), region{} }

func (region) unmap() {}
