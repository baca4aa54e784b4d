package prune

import (
	"context"
	"time"

	"github.com/reaparchive/reaparchive/index"
)

// MinFreeHorizon is the earliest horizon (whole seconds, at most before)
// such that the media segments of every channel of the index that end at
// or before it hold at least need bytes: pruning every channel to it frees
// need bytes, the oldest segments first (retention_min_free). ok is false
// when the index has no segment.
func MinFreeHorizon(ctx context.Context, db *index.DB, need int64, before time.Time) (h time.Time, ok bool, err error) {
	tracks, err := allTracks(ctx, db)
	if err != nil || len(tracks) == 0 {
		return time.Time{}, false, err
	}
	freed := func(t time.Time) (int64, error) {
		var n int64
		for _, tr := range tracks {
			k, _ := tr.KAt(t)
			s, err := db.SizeBelow(ctx, tr.ID, k)
			if err != nil {
				return 0, err
			}
			n += s
		}
		return n, nil
	}
	lo, hi := int64(0), before.Unix() // seconds; freed(hi) may fall short: then hi
	for lo < hi {
		mid := lo + (hi-lo)/2
		n, err := freed(time.Unix(mid, 0))
		if err != nil {
			return time.Time{}, false, err
		}
		if n >= need {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return time.Unix(hi, 0).UTC(), true, nil
}

// allTracks are the tracks of every channel whose timing is known.
func allTracks(ctx context.Context, db *index.DB) ([]index.Track, error) {
	chans, err := db.Channels(ctx)
	if err != nil {
		return nil, err
	}
	var out []index.Track
	for _, c := range chans {
		ts, err := db.Tracks(ctx, c.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if t.SegDur > 0 && t.Timescale > 0 {
				out = append(out, t)
			}
		}
	}
	return out, nil
}
