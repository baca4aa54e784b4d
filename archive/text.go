package archive

import (
	"context"
	"fmt"

	"github.com/reaparchive/reaparchive/archive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// GridTolerance is how far, in ticks, a segment's start and end may lie
// from its slot K×D … (K+1)×D on the epoch grid: less than one sample (the
// segment's first sample duration sampleDur; REaP audio starts within a
// frame of K×D), or D/100 when a sample is longer than D/4 (text and
// metadata tracks carry few, long samples).
func GridTolerance(sampleDur uint32, segDur uint64) int64 {
	tol := int64(sampleDur)
	if tol <= 0 || tol > int64(segDur)/4 {
		tol = int64(segDur) / 100
	}
	return tol
}

// indexSegment indexes what the stored segment K of track holds besides
// its row: its events (emsg) and, for a text track, what its cue check
// found.
func (c *Channel) indexSegment(ctx context.Context, track index.Track, k int64, data []byte, info *cmaf.SegmentInfo, cur *initState) error {
	if err := c.indexEvents(ctx, track, k, info, cur.info.Timescale); err != nil {
		return err
	}
	return c.checkText(ctx, track, k, data, info, cur.info)
}

// checkText checks the cues of data, segment K of a text track stored as
// sent (cmaf.CheckText, and its span against the grid and the stored
// neighbours K-1 and K+1), and records the issues in the index, replacing
// those of an earlier copy of K. It never refuses the segment.
func (c *Channel) checkText(ctx context.Context, track index.Track, k int64, data []byte, info *cmaf.SegmentInfo, init *cmaf.InitInfo) error {
	if init.ContentType != "text" {
		return nil
	}
	issues := cmaf.CheckText(data, init, info)
	var nb [2]*index.Segment // K-1, K+1
	for i, nk := range []int64{k - 1, k + 1} {
		seg, ok, err := c.a.DB.Segment(ctx, track.ID, nk)
		if err != nil {
			return fmt.Errorf("text check of %s %d: %w", track.Rep, k, err)
		}
		if ok {
			nb[i] = &seg
		}
	}
	issues = append(issues, textTimingIssues(k, track.SegDur, info, nb[0], nb[1])...)
	rows := make([]index.TextIssue, len(issues))
	for i, is := range issues {
		rows[i] = index.TextIssue{TrackID: track.ID, K: k, Kind: is.Kind, Detail: is.Detail}
		c.a.Log.Warn("text track cue issue", "channel", c.Info.Name, "rep", track.Rep, "k", k, "kind", is.Kind, "detail", is.Detail)
	}
	if err := c.a.DB.SetTextIssues(ctx, track.ID, k, rows); err != nil {
		return fmt.Errorf("index text issues of %s %d: %w", track.Rep, k, err)
	}
	return nil
}

// textTimingIssues says where info, segment K of a text track, is off its
// slot on the epoch grid (GridTolerance) or overlaps the stored segments
// prev (K-1) and next (K+1), when they are present.
func textTimingIssues(k int64, segDur uint64, info *cmaf.SegmentInfo, prev, next *index.Segment) []cmaf.TextIssue {
	var out []cmaf.TextIssue
	add := func(kind, format string, args ...any) {
		out = append(out, cmaf.TextIssue{Kind: kind, Detail: fmt.Sprintf(format, args...)})
	}
	d := int64(segDur)
	tol := GridTolerance(info.SampleDuration, segDur)
	start, end := int64(info.EPT), int64(info.EPT+info.Duration)
	if off := start - k*d; abs64(off) >= tol {
		add(cmaf.TextAlignment, "starts at %d, %+d ticks from K×D = %d (tolerance under %d ticks)", start, off, k*d, tol)
	}
	if off := end - (k+1)*d; abs64(off) >= tol {
		add(cmaf.TextAlignment, "ends at %d, %+d ticks from (K+1)×D = %d (tolerance under %d ticks)", end, off, (k+1)*d, tol)
	}
	if prev != nil {
		if pe := int64(prev.EPT + prev.Duration); pe-start >= tol {
			add(cmaf.TextOrder, "starts at %d, %d ticks before the stored K %d ends (%d)", start, pe-start, k-1, pe)
		}
	}
	if next != nil {
		if ns := int64(next.EPT); end-ns >= tol {
			add(cmaf.TextOrder, "ends at %d, %d ticks after the stored K %d starts (%d)", end, end-ns, k+1, ns)
		}
	}
	return out
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
