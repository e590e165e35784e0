// Command leaky_go is the Go victim of the integration tests: a service that leaks on purpose in
// main.leakyCache (a map it only ever adds to) and serves net/http/pprof on a loopback address,
// so that leakhunt reads its heap profile over HTTP as it would a production Go service's.
// It also allocates and drops garbage in main.churn, which must not look like a leak.
//
// Usage: leaky_go [-addr 127.0.0.1:0] [-every 20ms] [-block 65536] [-rate 1]
// It prints "ready http://ADDR" once it listens. Standard library only; builds offline.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"runtime"
	"sync"
	"time"
)

var (
	mu    sync.Mutex
	cache = map[int][]byte{}
	sink  []byte
)

//go:noinline
func leakyCache(key, block int) {
	b := make([]byte, block)
	b[0] = byte(key)
	mu.Lock()
	cache[key] = b
	mu.Unlock()
}

//go:noinline
func churn(block int) {
	for i := 0; i < 16; i++ {
		sink = make([]byte, block)
	}
	sink = nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	every := flag.Duration("every", 20*time.Millisecond, "leak one block this often")
	block := flag.Int("block", 64<<10, "bytes per leaked block")
	rate := flag.Int("rate", 1, "runtime.MemProfileRate (1: record every allocation)")
	flag.Parse()
	runtime.MemProfileRate = *rate

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "leaky_go:", err)
		os.Exit(1)
	}
	go func() {
		for key := 0; ; key++ {
			leakyCache(key, *block)
			churn(*block / 4)
			// The heap profile shows the heap as of the last GC: keep it current.
			runtime.GC()
			time.Sleep(*every)
		}
	}()
	fmt.Printf("ready http://%s\n", ln.Addr())
	os.Stdout.Sync()
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "leaky_go:", err)
		os.Exit(1)
	}
}
