package archive

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/reaparchive/reaparchive/index"
)

// StatusReport is what `reaparchive status` prints.
type StatusReport struct {
	Channels []ChannelStatus `json:"channels"`
}

// ChannelStatus is the status of one channel.
type ChannelStatus struct {
	Name            string `json:"name"`
	PreferredSource string `json:"preferred_source,omitempty"`
	// Retention is the channel's retention policy (as configured; empty:
	// none, the archive is kept for ever).
	Retention string        `json:"retention,omitempty"`
	Tracks    []TrackStatus `json:"tracks"`
}

// TrackStatus is the status of one track (Representation).
type TrackStatus struct {
	Rep         string         `json:"rep"`
	ContentType string         `json:"content_type"`
	Codecs      string         `json:"codecs,omitempty"`
	First       int64          `json:"first"`
	Last        int64          `json:"last"`
	FirstTime   string         `json:"first_time"`
	LastTime    string         `json:"last_time"`
	EndTime     string         `json:"end_time"` // the end of the last segment (exclusive): the range end that keeps it
	Segments    int64          `json:"segments"`
	Gaps        []index.Range  `json:"gaps"`
	Duplicates  int64          `json:"duplicates"`
	Conflicts   int64          `json:"conflicts"`
	Sources     []SourceStatus `json:"sources"`
	// Fillers are the stored K whose only copy is an encoder's filler
	// (styp brand slat); a real copy from another source or repair
	// replaces it.
	Fillers int64 `json:"fillers"`
	// Ended is the K of the last segment carrying lmsg, the track's clean
	// end, and EndedTime its end (RFC 3339); absent when none did.
	Ended     *int64 `json:"ended,omitempty"`
	EndedTime string `json:"ended_time,omitempty"`
	// TextIssues counts what the cue check found in a text track's
	// stored segments (order, grid alignment, malformed cues, cue times;
	// verify lists them); absent for other tracks.
	TextIssues *int64 `json:"text_issues,omitempty"`
	// ArchiveStart is where the track's archive starts (RFC 3339): the
	// first stored segment, or, once retention pruned it, the start the
	// prune set (segments before it are expired; a hold may keep some).
	ArchiveStart string `json:"archive_start,omitempty"`
	// Pruned is true once a prune set the archive's start.
	Pruned bool `json:"pruned,omitempty"`
}

// SourceStatus are one source's delivery counts for a track.
type SourceStatus struct {
	Name       string `json:"name"`
	Stored     int64  `json:"stored"`
	Duplicates int64  `json:"duplicates"`
	Identical  int64  `json:"identical"`
	Conflicts  int64  `json:"conflicts"`
	Missing    int64  `json:"missing"`
	Rejected   int64  `json:"rejected"`
	Fillers    int64  `json:"fillers"` // deliveries that were encoder fillers (slat)
}

// Status reports every channel, or only the named one.
func (a *Archive) Status(ctx context.Context, channel string) (StatusReport, error) {
	var chans []index.ChannelRow
	if channel != "" {
		ch, err := a.DB.Channel(ctx, channel)
		if err != nil {
			return StatusReport{}, fmt.Errorf("channel %q: %w", channel, err)
		}
		chans = []index.ChannelRow{ch}
	} else {
		var err error
		if chans, err = a.DB.Channels(ctx); err != nil {
			return StatusReport{}, err
		}
	}
	rep := StatusReport{Channels: []ChannelStatus{}}
	for _, ch := range chans {
		cs := ChannelStatus{Name: ch.Name, PreferredSource: ch.PreferredSource, Tracks: []TrackStatus{}}
		tracks, err := a.DB.Tracks(ctx, ch.ID)
		if err != nil {
			return StatusReport{}, err
		}
		for _, t := range tracks {
			st, err := a.DB.Stats(ctx, t.ID, math.MinInt64, math.MaxInt64)
			if err != nil {
				return StatusReport{}, fmt.Errorf("channel %s track %s: %w", ch.Name, t.Rep, err)
			}
			trackStat := TrackStatus{Rep: t.Rep, ContentType: t.ContentType, Codecs: t.Codecs, First: st.First, Last: st.Last,
				Segments: st.Segments, Gaps: st.Gaps, Duplicates: st.Duplicates, Conflicts: st.Conflicts, Sources: []SourceStatus{},
				Fillers: st.Fillers, Ended: st.Ended}
			if st.Ended != nil {
				trackStat.EndedTime = t.KTime(*st.Ended + 1).Format(time.RFC3339)
			}
			if t.ContentType == "text" {
				n, err := a.DB.TextIssueCount(ctx, t.ID)
				if err != nil {
					return StatusReport{}, fmt.Errorf("channel %s track %s: %w", ch.Name, t.Rep, err)
				}
				trackStat.TextIssues = &n
			}
			if trackStat.Gaps == nil {
				trackStat.Gaps = []index.Range{}
			}
			if err := a.archiveStart(ctx, t, &trackStat); err != nil {
				return StatusReport{}, fmt.Errorf("channel %s track %s: %w", ch.Name, t.Rep, err)
			}
			if st.Segments > 0 {
				trackStat.FirstTime = t.KTime(st.First).Format(time.RFC3339)
				trackStat.LastTime = t.KTime(st.Last).Format(time.RFC3339)
				trackStat.EndTime = t.KTime(st.Last + 1).Format(time.RFC3339)
			}
			for _, s := range st.Sources {
				trackStat.Sources = append(trackStat.Sources, SourceStatus{Name: s.Source, Stored: s.Stored, Duplicates: s.Duplicates,
					Identical: s.Identical, Conflicts: s.Conflicts, Missing: s.Missing, Rejected: s.Rejected, Fillers: s.Fillers})
			}
			cs.Tracks = append(cs.Tracks, trackStat)
		}
		rep.Channels = append(rep.Channels, cs)
	}
	return rep, nil
}

// archiveStart sets where the track's archive starts: its first stored K,
// or the start a prune set if that is later.
func (a *Archive) archiveStart(ctx context.Context, t index.Track, ts *TrackStatus) error {
	e, ok, err := a.DB.Expiry(ctx, t.ID)
	if err != nil {
		return err
	}
	start := ts.First
	ts.Pruned = ok
	if ok && (e.StartK > start || ts.Segments == 0) {
		start = e.StartK
	}
	if ts.Segments > 0 || ok {
		ts.ArchiveStart = t.KTime(start).Format(time.RFC3339)
	}
	return nil
}

// KTime is t.KTime(k), the wall-clock start of segment K of a track (kept
// for repair's tests; index.Track.KTime is the rule).
func KTime(k int64, t index.Track) time.Time { return t.KTime(k) }
