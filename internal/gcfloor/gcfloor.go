// Package gcfloor keeps the garbage collector's heap goal at or above a
// floor. A process whose live heap is small but which allocates fast (an
// origin answering thousands of requests a second from a few tens of
// megabytes of state) otherwise collects several times a second: each collection
// preempts every goroutine to scan its stack, and a live manifest build
// caught by one waits behind the request goroutines for a processor
// (BENCHMARKS.md, origin). With a floor the goal is the larger of the
// floor and what GOGC=100 gives, so the heap grows to the floor at most
// before a collection, and the process collects at GOGC=100's pace once
// its live heap is half the floor or more. GOMEMLIMIT still bounds it.
package gcfloor

import (
	"context"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Default is the floor serve keeps: 256 MiB.
const Default = 256 << 20

// basePercent is the GC percent of a live heap at or above half the floor
// (Go's default); maxPercent bounds it for a nearly empty heap.
const (
	basePercent = 100
	maxPercent  = 5000
)

// Percent is the GC percent that makes the heap goal of a live heap of
// live bytes at least floor: basePercent when that is already so.
func Percent(live, floor uint64) int {
	if live == 0 || live >= floor/2 {
		return basePercent
	}
	return int(min(uint64(maxPercent), floor*100/live-100))
}

// Keep sets the GC percent from the live heap every interval until ctx
// ends, then gives back the percent it found. It does nothing when the
// GOGC environment variable is set: the operator chose.
func Keep(ctx context.Context, floor uint64, interval time.Duration) {
	if _, set := os.LookupEnv("GOGC"); set {
		return
	}
	old := debug.SetGCPercent(basePercent)
	defer debug.SetGCPercent(old)
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			debug.SetGCPercent(Percent(sample[0].Value.Uint64(), floor))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
