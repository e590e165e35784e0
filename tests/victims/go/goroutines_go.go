// Command goroutines_go is the goroutine victim of the integration tests: a Go service that
// serves net/http/pprof on a loopback address and calls its own /work handler every -every, so
// that the test needs no load generator. With -mode leak, each request starts a goroutine in
// main.handleRequest that waits forever on a channel nothing sends on (the classic goroutine
// leak); with -mode pool, each request hands a job to a worker pool that starts a worker per
// request until it has -cap of them (growing, but bounded: not a leak).
//
// Usage: goroutines_go -mode leak|pool [-addr 127.0.0.1:0] [-every 30ms] [-cap 30]
// It prints "ready http://ADDR" once it listens. Standard library only; builds offline.
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"sync"
	"time"
)

var (
	never = make(chan struct{}) // nothing ever sends or closes
	jobs  = make(chan int, 1024)

	poolMu  sync.Mutex
	workers int
	done    int
)

func handleRequest(w http.ResponseWriter, r *http.Request) {
	go func() {
		<-never // leaks: waits for a reply that never comes
	}()
	io.WriteString(w, "ok\n")
}

//go:noinline
func worker() {
	for j := range jobs {
		poolMu.Lock()
		done += j
		poolMu.Unlock()
	}
}

func handlePooled(limit int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		poolMu.Lock()
		if workers < limit {
			workers++
			go worker()
		}
		poolMu.Unlock()
		jobs <- 1
		io.WriteString(w, "ok\n")
	}
}

func main() {
	mode := flag.String("mode", "leak", "leak or pool")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	every := flag.Duration("every", 30*time.Millisecond, "one request this often")
	limit := flag.Int("cap", 30, "the pool's most workers (-mode pool)")
	flag.Parse()

	switch *mode {
	case "leak":
		http.HandleFunc("/work", handleRequest)
	case "pool":
		http.HandleFunc("/work", handlePooled(*limit))
	default:
		fmt.Fprintln(os.Stderr, "goroutines_go: -mode is leak or pool")
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "goroutines_go:", err)
		os.Exit(1)
	}
	go func() {
		url := fmt.Sprintf("http://%s/work", ln.Addr())
		for {
			if resp, err := http.Get(url); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			time.Sleep(*every)
		}
	}()
	fmt.Printf("ready http://%s\n", ln.Addr())
	os.Stdout.Sync()
	if err := http.Serve(ln, nil); err != nil {
		fmt.Fprintln(os.Stderr, "goroutines_go:", err)
		os.Exit(1)
	}
}
