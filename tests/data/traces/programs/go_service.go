// A Go "service" loop for GOGC traces: every tick it handles requests that build short-lived
// maps, strings and slices (garbage for the collector). In -mode leak each request also appends
// its 2 KiB payload to a global slice that is never trimmed; in -mode ring it keeps a fixed
// ring of 4096 recent payloads instead. Run at several GOGC values: the collector's pacing changes
// the sawtooth, not the verdict. Used for tests/data/traces/go_*.csv.
// Usage: go run go_service.go -mode leak|ring [-tick 10ms] [-bytes 2048]
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"strings"
	"time"
)

var (
	kept []([]byte)   // the leak (mode leak)
	ring [4096][]byte // bounded recent payloads (mode ring)
	sink int
)

func handle(id int, size int, leak bool) {
	headers := make(map[string]string, 16)
	for i := 0; i < 16; i++ {
		headers[fmt.Sprintf("x-h-%d", i)] = fmt.Sprint(rand.Int63())
	}
	var b strings.Builder
	for i := 0; i < 200; i++ {
		fmt.Fprintf(&b, "user-%d-%d;", id, i)
	}
	payload := make([]byte, size)
	rand.Read(payload)
	if leak {
		kept = append(kept, payload)
	} else {
		ring[id%len(ring)] = payload
	}
	sink += b.Len() + len(headers)
}

func main() {
	mode := flag.String("mode", "ring", "leak or ring")
	tick := flag.Duration("tick", 10*time.Millisecond, "time between batches of 3 requests")
	size := flag.Int("bytes", 2048, "payload bytes per request")
	flag.Parse()
	id := 0
	for {
		for r := 0; r < 3; r++ {
			id++
			handle(id, *size, *mode == "leak")
		}
		if sink == 42 {
			fmt.Println(sink)
		}
		time.Sleep(*tick)
	}
}
