package manifest

import (
	"math/big"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// Dynamic is what makes a presentation live (a D-MPD, REaP packager
// synchronisation): BuildVoD then writes a dynamic MPD whose
// availabilityStartTime is the epoch, so every Period starts at its place
// on the epoch timeline (Period@start = seconds since 1970-01-01) and
// $Number$ stays K. Everything comes from the fields: two origins that
// give the same input get the same bytes.
type Dynamic struct {
	// PublishTime is MPD@publishTime and the UTCTiming (direct) value:
	// the request's clock, truncated to the second by the caller.
	PublishTime time.Time
	// TimeShiftBufferDepth is the window a player may seek back in.
	TimeShiftBufferDepth time.Duration
	// MinimumUpdatePeriod is how often a player re-reads the MPD; 0: the
	// longest segment duration.
	MinimumUpdatePeriod time.Duration
	// SuggestedPresentationDelay, when set, is how far behind the live
	// edge players start (a start-over presentation: at its start).
	SuggestedPresentationDelay time.Duration
	// DiscontinuitySequence is the EXT-X-DISCONTINUITY-SEQUENCE of the HLS
	// media playlists: the number of the first Period's discontinuity, so
	// that each discontinuity keeps its number as the window slides.
	DiscontinuitySequence uint64
	// Holes is how many Ks before the first entry of an HLS media
	// playlist no Period holds: its EXT-X-MEDIA-SEQUENCE is the first
	// entry's K less Holes, so that each segment keeps its number as the
	// window slides (the Ks between Periods are not listed).
	Holes uint64
}

// EpochStart is availabilityStartTime of every dynamic MPD this package
// writes.
const EpochStart = "1970-01-01T00:00:00Z"

// setMPD makes m dynamic; maxSegDur is the longest nominal segment
// duration, in seconds.
func (d *Dynamic) setMPD(m *mpd.MPD, maxSegDur *big.Rat) {
	m.Type = mpd.Ptr(mpd.DYNAMIC_TYPE)
	m.AvailabilityStartTime = EpochStart
	m.PublishTime = mpd.DateTime(d.PublishTime.UTC().Format(time.RFC3339))
	tsbd := mpd.Duration(d.TimeShiftBufferDepth)
	m.TimeShiftBufferDepth = &tsbd
	mup := durationOf(maxSegDur)
	if d.MinimumUpdatePeriod > 0 {
		mup = mpd.Ptr(mpd.Duration(d.MinimumUpdatePeriod))
	}
	m.MinimumUpdatePeriod = mup
	m.MaxSegmentDuration = durationOf(maxSegDur)
	if d.SuggestedPresentationDelay > 0 {
		m.SuggestedPresentationDelay = mpd.Ptr(mpd.Duration(d.SuggestedPresentationDelay))
	}
	m.MediaPresentationDuration = nil
	m.UTCTimings = []*mpd.DescriptorType{{SchemeIdUri: "urn:mpeg:dash:utc:direct:2014", Value: d.PublishTime.UTC().Format(time.RFC3339)}}
}
