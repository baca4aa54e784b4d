package archive

import (
	"context"
	"fmt"

	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// contents is what the stored segment K of track holds besides its row,
// for the index to record in the segment's transaction: its events (emsg)
// and, for a text track, what its cue check found.
func (c *Channel) contents(ctx context.Context, track index.Track, k int64, data []byte, info *cmaf.SegmentInfo, cur *initState) (*index.Contents, error) {
	cont := &index.Contents{TrackID: track.ID, K: k, Events: c.eventRows(track, k, info, cur.info.Timescale)}
	if cur.info.ContentType != "text" {
		return cont, nil
	}
	issues, err := c.checkText(ctx, track, k, data, info, cur.info)
	if err != nil {
		return nil, err
	}
	cont.Text, cont.TextIssues = true, issues
	return cont, nil
}

// checkText checks the cues of data, segment K of a text track stored as
// sent (cmaf.CheckText, and its span against the grid and the stored
// neighbours K-1 and K+1): the issues to record, replacing those of an
// earlier copy of K. It never refuses the segment.
func (c *Channel) checkText(ctx context.Context, track index.Track, k int64, data []byte, info *cmaf.SegmentInfo, init *cmaf.InitInfo) ([]index.TextIssue, error) {
	issues := cmaf.CheckText(data, init, info)
	var prevEnd, nextStart *uint64
	for _, nk := range []int64{k - 1, k + 1} {
		seg, ok, err := c.a.DB.Segment(ctx, track.ID, nk)
		if err != nil {
			return nil, fmt.Errorf("text check of %s %d: %w", track.Rep, k, err)
		}
		switch {
		case ok && nk < k:
			end := seg.EPT + seg.Duration
			prevEnd = &end
		case ok:
			nextStart = &seg.EPT
		}
	}
	issues = append(issues, cmaf.TextTimingIssues(k, track.SegDur, info, prevEnd, nextStart)...)
	rows := make([]index.TextIssue, len(issues))
	for i, is := range issues {
		rows[i] = index.TextIssue{TrackID: track.ID, K: k, Kind: is.Kind, Detail: is.Detail}
		c.a.Log.Warn("text track cue issue", "channel", c.Info.Name, "rep", track.Rep, "k", k, "kind", is.Kind, "detail", is.Detail)
	}
	return rows, nil
}
