package reconcile

import (
	"context"
	"math"
	"slices"
	"strconv"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
)

const (
	// followGapLists is how many of a track's gaps a fast pass lists (the
	// next ones in turn): a copy stored late into a gap of the index is
	// indexed within ceil(gaps/followGapLists) fast passes.
	followGapLists = 4
	// followGapPage is the page size of a gap's listing: a gap holds no
	// key until a late copy fills it, so the first page normally ends
	// with the key after the gap.
	followGapPage = 8
)

// trackGaps are the gaps of a track in a Follower's index that a fast
// pass's K ranges (followRanges) do not cover: those up to upTo, in K
// order; next is the one the next pass lists first.
type trackGaps struct {
	gaps []index.Range
	upTo int64
	next int
}

// listGaps lists, with add, the keys in up to followGapLists gaps of the
// index's track t (the next ones in turn), each from its first K on in
// one request (cloud.Store.ListAfter): a copy stored late into a gap
// (repair --fill-from, a second recorder's copy more than followLate
// late) is found at a cost that follows the gaps, not the archive.
func (f *Follower) listGaps(ctx context.Context, c *chanScan, dir string, t index.Track, newest int64, add func(lo, hi int64) func(cloud.Attrs) error) error {
	g, err := f.trackGaps(ctx, t, newest)
	if err != nil {
		return err
	}
	for range min(followGapLists, len(g.gaps)) {
		g.next %= len(g.gaps)
		gr := g.gaps[g.next]
		// The gap as the index has it now (a late copy indexed since).
		now, err := f.db.Gaps(ctx, t.ID, gr.From, gr.To)
		if err != nil {
			return err
		}
		g.gaps = slices.Concat(g.gaps[:g.next], now, g.gaps[g.next+1:])
		g.next += len(now)
		for _, r := range now {
			if err := f.listGap(ctx, c, dir, r, add(r.From, r.To)); err != nil {
				return err
			}
		}
		if len(g.gaps) == 0 {
			break
		}
	}
	return nil
}

// listGap lists the keys of <dir> of K r.From..r.To (of their digit
// count), page by page, from the key of r.From on until one past r.To.
func (f *Follower) listGap(ctx context.Context, c *chanScan, dir string, r index.Range, add func(cloud.Attrs) error) error {
	after := dir + strconv.FormatInt(r.From, 10)   // sorts before "<From>.<ext>"
	end := dir + strconv.FormatInt(r.To, 10) + "/" // after "<To>.<ext>", before "<To+1>"
	for {
		past, last := false, ""
		more, err := f.st.ListAfter(ctx, dir, after, followGapPage, func(a cloud.Attrs) error {
			c.listed++
			last = a.Key
			if a.Key > end {
				past = true
				return nil
			}
			return add(a)
		})
		if err != nil || !more || past || last == "" {
			return err
		}
		after = last
	}
}

// trackGaps is the follower's gaps of track t, brought up to newest less
// followLate (the K ranges of a fast pass cover the rest), less the K
// before the archive's start.
func (f *Follower) trackGaps(ctx context.Context, t index.Track, newest int64) (*trackGaps, error) {
	g := f.gaps[t.ID]
	if g == nil {
		g = &trackGaps{upTo: math.MinInt64}
		f.gaps[t.ID] = g
	}
	d := float64(t.SegDur) / float64(t.Timescale)
	if upTo := newest - int64(math.Ceil(followLate.Seconds()/d)); upTo > g.upTo {
		from := g.upTo + 1
		if g.upTo == math.MinInt64 {
			from = math.MinInt64
		}
		more, err := f.db.Gaps(ctx, t.ID, from, upTo)
		if err != nil {
			return nil, err
		}
		g.gaps, g.upTo = append(g.gaps, more...), upTo
	}
	e, ok, err := f.db.Expiry(ctx, t.ID)
	if err != nil || !ok {
		return g, err
	}
	g.gaps = slices.DeleteFunc(g.gaps, func(r index.Range) bool { return r.To < e.StartK })
	if len(g.gaps) > 0 && g.gaps[0].From < e.StartK {
		g.gaps[0].From = e.StartK
	}
	return g, nil
}
