package testenv

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// HeapPeak samples runtime.MemStats.HeapInuse every 5 ms until Done, for
// the benchmarks' peak-heap figures.
type HeapPeak struct {
	base uint64
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// StartHeapPeak starts sampling; the heap in use now is the base of the
// growth Done reports.
func StartHeapPeak() *HeapPeak {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	h := &HeapPeak{base: ms.HeapInuse, stop: make(chan struct{})}
	h.peak.Store(ms.HeapInuse)
	h.wg.Go(h.sample)
	return h
}

func (h *HeapPeak) sample() {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	var ms runtime.MemStats
	for {
		runtime.ReadMemStats(&ms)
		if ms.HeapInuse > h.peak.Load() {
			h.peak.Store(ms.HeapInuse)
		}
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
	}
}

// Done stops sampling (after one last sample) and returns the peak and the
// growth over the heap in use at the start, in MiB.
func (h *HeapPeak) Done() (peakMB, growthMB float64) {
	close(h.stop)
	h.wg.Wait()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p := max(h.peak.Load(), ms.HeapInuse)
	return float64(p) / (1 << 20), float64(p-min(p, h.base)) / (1 << 20)
}
