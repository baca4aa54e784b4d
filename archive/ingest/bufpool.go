package ingest

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// minPooled is the smallest buffer size class.
const minPooled = 4096

// segmentBuffers recycles the buffers that media segment bodies are read
// into. Reading each body into a fresh allocation made the receiver zero,
// fault in and collect megabytes per segment (BENCHMARKS.md, push ingest):
// a recycled buffer is written over as the next body arrives. Buffers come
// in size classes, two per octave (2^k and 3·2^(k-1) bytes), so a buffer
// holds at most a third more than its body; a class's pool keeps only
// buffers of at least its size. What the pools keep is what requests held
// at once (bounded by Options.MaxBuffer), and sync.Pool lets go of what
// stays unused for two garbage collections.
type segmentBuffers struct {
	classes [128]sync.Pool // of *[]byte; index: classAbove, classBelow
	reused  atomic.Int64   // gets served from a pool (tests read it)
}

// get is an empty buffer with room for at least n bytes (its capacity is
// what it holds of the buffer budget).
func (p *segmentBuffers) get(n int64) []byte {
	i, size := classAbove(n)
	if b, ok := p.classes[i].Get().(*[]byte); ok {
		p.reused.Add(1)
		return (*b)[:0]
	}
	return make([]byte, 0, size)
}

// put recycles b, whose bytes nothing refers to any more.
func (p *segmentBuffers) put(b []byte) {
	if cap(b) < minPooled {
		return
	}
	b = b[:0]
	p.classes[classBelow(int64(cap(b)))].Put(&b)
}

// classAbove is the smallest size class that holds n bytes: its index and
// size.
func classAbove(n int64) (int, int64) {
	n = max(n, minPooled)
	k := bits.Len64(uint64(n - 1)) // 2^(k-1) < n <= 2^k
	if three := int64(3) << (k - 2); n <= three {
		return 2*k - 1, three
	}
	return 2 * k, int64(1) << k
}

// classBelow is the index of the largest size class of at most c bytes
// (c >= minPooled).
func classBelow(c int64) int {
	k := bits.Len64(uint64(c)) - 1 // 2^k <= c < 2^(k+1)
	if c >= int64(3)<<(k-1) {
		return 2*k + 1
	}
	return 2 * k
}
