package prune

import (
	"context"
	"errors"
	"math"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// deleteBatch is how many segment rows one mark-delete-remove round takes.
const deleteBatch = 1000

// trackPrune is what the segment pass of a track found.
type trackPrune struct {
	t      index.Track
	startK int64         // the archive's start
	held   []index.Range // K kept by active holds
	done   bool          // no expired row outside the holds is left
}

// mark makes the track's start the K of the segment that holds the
// horizon (never earlier than it was): its rows below it, outside the
// holds, are expiring from now on. ok is false for a track whose timing is
// not known yet (nothing of it can be placed in time).
func (p *pruner) mark(ctx context.Context, t index.Track, horizon time.Time) (tp trackPrune, ok bool, err error) {
	if t.SegDur == 0 || t.Timescale == 0 {
		return trackPrune{}, false, nil
	}
	startK, _ := t.KAt(horizon) // segment startK ends after the horizon: it stays
	if e, ok, err := p.db.Expiry(ctx, t.ID); err != nil {
		return tp, false, err
	} else if ok && e.StartK > startK {
		startK = e.StartK // an archive's start never moves back
	}
	tp = trackPrune{t: t, startK: startK, held: HeldRanges(t, p.holds)}
	if !p.opts.DryRun {
		if err := p.db.MarkExpiring(ctx, t.ID, startK, horizon); err != nil {
			return tp, false, err
		}
	}
	return tp, true, nil
}

// segments deletes the objects of the track's expiring rows, then the
// rows, in batches; tp.done says whether none is left.
func (p *pruner) segments(ctx context.Context, tp *trackPrune) error {
	t := tp.t
	tr := Track{Rep: t.Rep, ArchiveStartK: tp.startK, ArchiveStart: t.KTime(tp.startK).Format(time.RFC3339)}
	tp.done = true
	for _, r := range FreeRanges(tp.held, tp.startK) {
		more, err := p.segmentRange(ctx, t, r)
		if err != nil {
			return err
		}
		if more {
			tp.done = false
			break
		}
	}
	for _, r := range tp.held {
		n, err := p.db.SegmentCount(ctx, t.ID, r.From, min(r.To, tp.startK-1))
		if err != nil {
			return err
		}
		tr.HeldSegments += n
	}
	p.res.Tracks = append(p.res.Tracks, tr)
	return nil
}

// segmentRange deletes the objects of the segment rows of r, then the rows,
// a batch at a time; more is true when the budget ran out first.
func (p *pruner) segmentRange(ctx context.Context, t index.Track, r index.Range) (more bool, err error) {
	lo := r.From
	for lo <= r.To {
		n := deleteBatch
		if p.budget >= 0 {
			if p.budget == 0 {
				return true, nil
			}
			n = min(n, p.budget)
		}
		segs, err := p.batch(ctx, t.ID, lo, r.To, n)
		if err != nil || len(segs) == 0 {
			return false, err
		}
		hi := r.To
		if len(segs) == n {
			hi = segs[len(segs)-1].K
		}
		if err := p.deleteSegments(ctx, t, segs); err != nil {
			return false, err
		}
		if !p.opts.DryRun {
			if _, err := p.db.RemoveExpired(ctx, t.ID, lo, hi); err != nil {
				return false, err
			}
		}
		if p.budget >= 0 {
			p.budget -= len(segs)
		}
		if hi == math.MaxInt64 {
			break
		}
		lo = hi + 1
	}
	return false, nil
}

// batch is up to n segment rows of the track with lo <= K <= hi.
func (p *pruner) batch(ctx context.Context, trackID, lo, hi int64, n int) ([]index.Segment, error) {
	var out []index.Segment
	err := p.db.ForEachSegment(ctx, trackID, lo, hi, func(g index.Segment) error {
		out = append(out, g)
		if len(out) == n {
			return errStop
		}
		return nil
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return out, err
}

// deleteSegments deletes the objects of segs: the object each row names
// and, where that is a real copy or a splice's replacement, the object at
// the segment's own key too.
func (p *pruner) deleteSegments(ctx context.Context, t index.Track, segs []index.Segment) error {
	ch := p.opts.Channel
	keys := make([]string, 0, len(segs))
	for _, g := range segs {
		keys = append(keys, g.Key)
		if own := layout.MediaKey(ch, t.Rep, g.K, t.Ext); own != g.Key && t.Ext != "" {
			keys = append(keys, own)
		}
	}
	p.res.Deleted.Segments += len(keys)
	return p.deleteKeys(ctx, keys)
}

// HeldRanges are the K of track t that the holds cover, merged, in order.
func HeldRanges(t index.Track, hs []*layout.HoldRecord) []index.Range {
	var out []index.Range
	for _, h := range hs {
		lo, _ := t.KAt(h.From)
		hi, exact := t.KAt(h.To)
		if exact {
			hi-- // [from, to): the segment starting at to is not held
		}
		out = append(out, index.Range{From: lo, To: hi})
	}
	return mergeRanges(out)
}

// FreeRanges are the K below startK not in held (sorted, merged): the
// expiring K of a track whose archive starts at startK.
func FreeRanges(held []index.Range, startK int64) []index.Range {
	var out []index.Range
	lo := int64(math.MinInt64)
	for _, h := range held {
		if h.From > lo {
			out = append(out, index.Range{From: lo, To: min(h.From-1, startK-1)})
		}
		lo = max(lo, h.To+1)
		if lo >= startK {
			break
		}
	}
	if lo < startK {
		out = append(out, index.Range{From: lo, To: startK - 1})
	}
	var res []index.Range
	for _, r := range out {
		if r.From <= r.To {
			res = append(res, r)
		}
	}
	return res
}

// inHeld reports whether K range [lo, hi] overlaps a held range.
func inHeld(held []index.Range, lo, hi int64) bool {
	for _, h := range held {
		if lo <= h.To && hi >= h.From {
			return true
		}
	}
	return false
}
