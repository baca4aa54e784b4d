package index

import (
	"math"
	"math/big"
	"time"
)

// Epoch math: the one home of the rule that ties a track's segments to
// time. A REaP track's segments sit on a grid counted from the Unix epoch
// (LAYOUT.md, "Epoch index"; ISO/IEC 23009-9, REaP):
// segment K starts at EPT K·D·T ticks of the track's timescale T, which is
// the wall time K·D. SegDur is D·T. Every method treats a track whose
// SegDur or Timescale is not known yet (0) as described on it.

// EpochIndex is K = round(EPT / D·T), the epoch index of a segment that
// starts at ept; 0 while D·T is unknown.
func (t Track) EpochIndex(ept uint64) int64 {
	if t.SegDur == 0 {
		return 0
	}
	return int64((ept + t.SegDur/2) / t.SegDur)
}

// EPT is K·D·T, where segment K starts on the grid. Check KFits first.
func (t Track) EPT(k int64) int64 {
	return k * int64(t.SegDur)
}

// KFits reports whether segment K's start and end, K·D·T and (K+1)·D·T,
// are representable as int64 ticks (and K is not negative).
func (t Track) KFits(k int64) bool {
	if t.SegDur == 0 {
		return k >= 0
	}
	return t.SegDur <= math.MaxInt64 && k >= 0 && k <= (math.MaxInt64-int64(t.SegDur))/int64(t.SegDur)
}

// GridOffset is ept − K·D·T, how far a segment starting at ept is from
// where segment K starts on the grid.
func (t Track) GridOffset(ept uint64, k int64) int64 {
	return int64(ept) - t.EPT(k)
}

// OnGrid reports whether ept is at most tol ticks from the grid point of
// its epoch index.
func (t Track) OnGrid(ept, tol uint64) bool {
	off := t.GridOffset(ept, t.EpochIndex(ept))
	if off < 0 {
		off = -off
	}
	return uint64(off) <= tol
}

// KTime is the wall-clock start of segment K: K·D since the epoch, in UTC;
// the epoch itself while the timescale is unknown.
func (t Track) KTime(k int64) time.Time {
	if t.Timescale == 0 {
		return time.Unix(0, 0).UTC()
	}
	ticks := t.EPT(k)
	ts := int64(t.Timescale)
	return time.Unix(ticks/ts, (ticks%ts)*int64(time.Second)/ts).UTC()
}

// SegmentDuration is the track's nominal segment duration D; 0 while the
// timescale is unknown.
func (t Track) SegmentDuration() time.Duration {
	if t.Timescale == 0 {
		return 0
	}
	return time.Duration(float64(t.SegDur) / float64(t.Timescale) * float64(time.Second))
}

// KAt is floor(tm / D), the K of the segment that holds instant tm, and
// whether tm is exactly its start. Both SegDur and Timescale must be set.
func (t Track) KAt(tm time.Time) (k int64, exact bool) {
	num := new(big.Int).Mul(big.NewInt(tm.UnixNano()), big.NewInt(int64(t.Timescale)))
	den := new(big.Int).Mul(new(big.Int).SetUint64(t.SegDur), big.NewInt(int64(time.Second)))
	q, m := new(big.Int).DivMod(num, den, new(big.Int))
	return q.Int64(), m.Sign() == 0
}
