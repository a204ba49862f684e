package appctx

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkParseRandom is Parse on what most of a bulk capture's
// connections carry: bytes of no protocol it knows.
func BenchmarkParseRandom(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var in Input
	for k := range 2 {
		in.Bytes[k] = make([]byte, DefaultBytes)
		for i := range in.Bytes[k] {
			in.Bytes[k][i] = byte(rng.Uint32())
		}
	}
	in.ServerPort = 80
	b.ReportAllocs()
	for b.Loop() {
		Parse(&in)
	}
}
