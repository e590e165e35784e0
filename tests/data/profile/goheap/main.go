// Command goheap writes the heap profile fixture tests/data/profile/go_heap.pb.gz: a real
// runtime/pprof heap profile (Go's four sample types, symbolized by Go) in which
// main.leakySlices holds 64 blocks of 64 KiB and main.smallObjects holds 1000 blocks of 1 KiB.
//
// Regenerate (offline, std only):
//
//	cd tests/data/profile/goheap && GOCACHE=/tmp/gocache go run . ../go_heap.pb.gz
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

var retained [][]byte

//go:noinline
func leakySlices() {
	for i := 0; i < 64; i++ {
		retained = append(retained, make([]byte, 64<<10))
	}
}

//go:noinline
func smallObjects() {
	for i := 0; i < 1000; i++ {
		retained = append(retained, make([]byte, 1<<10))
	}
}

func main() {
	runtime.MemProfileRate = 1 // record every allocation: exact values
	leakySlices()
	smallObjects()
	runtime.GC() // the in-use figures are those as of the last GC
	f, err := os.Create(os.Args[1])
	if err != nil {
		panic(err)
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		panic(err)
	}
	if err := f.Close(); err != nil {
		panic(err)
	}
	runtime.KeepAlive(retained)
}
