package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sync/semaphore"
)

// bufferWait is how long a request waits for room in the buffer budget
// (Options.MaxBuffer) before it is answered 503.
const bufferWait = time.Second

// errBufferFull: the bytes requests hold while their segments arrive
// reached Options.MaxBuffer, and did not fall within bufferWait.
var errBufferFull = errors.New("receiver's ingest buffer is full")

// budget bounds the bytes of segment data all requests together hold in
// memory while their bodies arrive (Options.MaxBuffer): memory is bounded
// by the budget, not by the segment size limit times the request limit.
type budget struct {
	sem   *semaphore.Weighted
	limit int64
	held  func(delta int64) // reports changes of the bytes held (a gauge)
	// now and peak are the bytes held, and the most held at once.
	now, peak atomic.Int64
}

func newBudget(limit int64, held func(int64)) *budget {
	return &budget{sem: semaphore.NewWeighted(limit), limit: limit, held: held}
}

// reservation is the part of the budget one request holds: the most
// buffered bytes it needed so far (its buffers keep their capacity).
type reservation struct {
	b   *budget
	ctx context.Context
	n   int64
}

// reserve opens a reservation of nothing yet; ctx ends its waits.
func (b *budget) reserve(ctx context.Context) *reservation {
	return &reservation{b: b, ctx: ctx}
}

// grow makes r hold at least n bytes, waiting up to bufferWait for room;
// it fails with errBufferFull if there is none. A nil r grows freely.
func (r *reservation) grow(n int64) error {
	if r == nil {
		return nil
	}
	n = min(n, r.b.limit) // a body one byte over the size limit is refused as such
	if n <= r.n {
		return nil
	}
	more := n - r.n
	if !r.b.sem.TryAcquire(more) {
		ctx, cancel := context.WithTimeout(r.ctx, bufferWait)
		err := r.b.sem.Acquire(ctx, more)
		cancel()
		if err != nil {
			return fmt.Errorf("%w: %d more bytes wanted, %d bytes held by this request, limit %d for all requests",
				errBufferFull, more, r.n, r.b.limit)
		}
	}
	r.n = n
	r.b.add(more)
	return nil
}

// release gives r's bytes back to the budget.
func (r *reservation) release() {
	if r == nil || r.n == 0 {
		return
	}
	r.b.sem.Release(r.n)
	r.b.add(-r.n)
	r.n = 0
}

// add notes a change of the bytes held.
func (b *budget) add(delta int64) {
	b.held(delta)
	now := b.now.Add(delta)
	for peak := b.peak.Load(); now > peak && !b.peak.CompareAndSwap(peak, now); peak = b.peak.Load() {
	}
}
