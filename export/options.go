// Package export publishes a time range of a channel of the archive as a
// static (VoD) presentation: a DASH MPD and/or HLS playlists that reference
// the archived segments in place, or a self-contained copy.
//
// It needs only the index (the segment rows, the inits, the event schemes
// and the fillers), the store (the inits' bytes, the fillers, the I-MPDs
// for DRM, the WebVTT conversions and the copies) and cmaf; it does not
// record, so it takes no *archive.Archive. Deps holds the store and index
// (with a logger and a clock for fillers). An export runs in four steps,
// one file each:
//
//   - load (load.go): the index rows of the range and each distinct init
//     (Deps.Load);
//   - plan (plan.go): a pure function from those to Periods and their
//     tracks' entries, archived segments, signalled gaps or fillers
//     (Loaded.Plan; golden files in testdata/golden);
//   - fill (fill.go): the slate fillers GapsFill splices over gaps
//     (Deps.Fill);
//   - write (write.go, vod.go): the plan as manifest Periods (Deps.Present:
//     inits, media patterns, DRM from drm.go, inband events), rendered
//     through manifest (Render, which returns bytes and touches no store),
//     then stored with the WebVTT files of HLS text tracks (webvtt.go) and
//     the copies of a self-contained package.
//
// Deps.VoD runs them all and stores the result. A caller that serves
// rather than stores a presentation (a coming time-shift origin) calls
// Load, Plan, Present and Render itself, building the manifest.VoDInput.
//
// Errors about Options are in library wording (ErrEmptyRange, OutError,
// OutsideStoreError, …); a command line maps them to its flags.
package export

import (
	"errors"
	"fmt"
	"time"

	"github.com/reaparchive/reaparchive/manifest"
)

// GapMode is how an export presents the gaps of its range.
type GapMode string

// Gap modes (export-vod --gaps).
const (
	// GapsSignal keeps one Period (one HLS discontinuity run) over a gap:
	// a hole in the DASH SegmentTimeline, EXT-X-GAP segments in HLS.
	GapsSignal GapMode = "signal"
	// GapsSplit ends the Period at a gap and starts a new one after it
	// (an EXT-X-DISCONTINUITY in HLS). A K that any track of the export
	// misses is a gap of the whole presentation: the other tracks'
	// segments at that K are left out, so every Period has every track,
	// each continuous.
	GapsSplit GapMode = "split"
	// GapsFill splices re-timed segments of a slate asset over every K a
	// track misses, in Periods (discontinuities) of their own, so the
	// timeline is continuous.
	GapsFill GapMode = "fill"
)

// EventsMode is how an export signals the events (emsg) of its range.
type EventsMode string

// Events modes (export-vod --events).
const (
	// EventsInband signals the emsg boxes the segments carry: an
	// InbandEventStream per scheme (DASH only; HLS players read emsg on
	// their own).
	EventsInband EventsMode = "inband"
	// EventsStream signals the SCTE-35 events in the manifests: an MPD
	// EventStream per Period and EXT-X-DATERANGE in the playlists.
	EventsStream EventsMode = "eventstream"
	// EventsBoth does both.
	EventsBoth EventsMode = "both"
)

// ParseEventsMode parses an events mode; "" is EventsBoth.
func ParseEventsMode(s string) (EventsMode, error) {
	switch EventsMode(s) {
	case "", EventsBoth:
		return EventsBoth, nil
	case EventsInband, EventsStream:
		return EventsMode(s), nil
	}
	return "", fmt.Errorf("unknown events mode %q: want inband, eventstream or both", s)
}

// ParseGapMode parses a gap mode; "" is GapsSignal.
func ParseGapMode(s string) (GapMode, error) {
	switch GapMode(s) {
	case "", GapsSignal:
		return GapsSignal, nil
	case GapsSplit, GapsFill:
		return GapMode(s), nil
	}
	return "", fmt.Errorf("unknown gap mode %q: want signal, split or fill", s)
}

// Export formats (export-vod --format).
const (
	FormatDASH = "dash"
	FormatHLS  = "hls"
)

// Options select what an export publishes and where.
type Options struct {
	Channel  string
	From, To time.Time // the range [From, To): every segment overlapping it
	// Out is where the presentation goes: a store URL ending in ".mpd" (or
	// ".m3u8") names the MPD (the HLS multivariant playlist), and the other
	// format gets the same name with its own extension; otherwise it is a
	// directory that gets manifest.mpd and manifest.m3u8. HLS media
	// playlists are <name>-<rep>.m3u8 beside them.
	Out string
	// Formats are FormatDASH and/or FormatHLS; none means DASH.
	Formats []string
	// Gaps is how gaps are presented; "" is GapsSignal.
	Gaps GapMode
	// Slate is the slate asset GapsFill splices over gaps (see LoadSlate).
	Slate string
	// Copy writes a self-contained package (the MPD plus copies of every
	// referenced object) instead of referencing the archive in place.
	Copy bool
	// BaseURL is where the archive's objects are served from, for zero-copy
	// exports whose MPD is not in the archive's store.
	BaseURL string
	// NoHold: a zero-copy export writes no hold on its range (whoever
	// exports manages holds); a Copy never writes one.
	NoHold bool
	// Events is how events are signalled; "" is EventsBoth.
	Events EventsMode
	// SCTE35 are the range's SCTE-35 events (events.ForExport), signalled
	// in the manifests unless Events is EventsInband.
	SCTE35 []manifest.SCTE35Event
	// Progress, if set, is called as the export advances (one call at a
	// time, from the export's goroutines; see Progress).
	Progress func(Progress)
}

// Result says what was written.
type Result struct {
	MPD      string // URL of the written MPD ("" without DASH)
	MPDPath  string // local path of the MPD for file stores
	HLS      string // URL of the written HLS multivariant playlist ("" without HLS)
	HLSPath  string // its local path for file stores
	Tracks   int
	Segments int // archived segments the presentation references
	Gaps     int // holes (runs of missing K) inside the tracks' ranges
	Periods  int // DASH Periods; HLS has one discontinuity fewer
	// Fillers is how many filler segments were spliced in (GapsFill),
	// FillersCreated how many of them this export had to create.
	Fillers        int
	FillersCreated int
	// Omitted is how many archived segments were left out because another
	// track misses their K: with GapsSplit at every gap, with GapsSignal
	// before the first K every track has.
	Omitted int
	// HLSLeftOut are the tracks the HLS export leaves out because HLS has
	// no place for them (manifest.InHLS: timed-metadata tracks); the DASH
	// export has them.
	HLSLeftOut []string
	// HLSText is how many WebVTT text files the HLS export wrote beside
	// its playlists (a wvtt track's segments as HLS WebVTT).
	HLSText  int
	Copied   int
	Duration time.Duration
	// HoldID is the id of the hold the zero-copy export wrote on its range
	// ("" for none: Copy, NoHold).
	HoldID string
}

// Errors about Options, in library wording; a command line maps them to
// its flags.
var (
	// ErrEmptyRange: To is not after From.
	ErrEmptyRange = errors.New("empty range")
	// ErrFillNeedsSlate: GapsFill without a Slate.
	ErrFillNeedsSlate = errors.New("gap mode fill needs a slate")
	// ErrSlateNeedsFill: a Slate with another gap mode than GapsFill.
	ErrSlateNeedsFill = errors.New("a slate is only used with gap mode fill")
	// ErrNoOut: no Out URL.
	ErrNoOut = errors.New("no output URL")
)

// OutError is an Out URL the export cannot write to.
type OutError struct {
	Out string // the URL; "" when the error names it itself
	Err error
}

func (e *OutError) Error() string {
	if e.Out == "" {
		return fmt.Sprintf("export: output: %v", e.Err)
	}
	return fmt.Sprintf("export: output %q: %v", e.Out, e.Err)
}

func (e *OutError) Unwrap() error { return e.Err }

// OutsideStoreError is a zero-copy export (no Copy) without a BaseURL
// whose Out is not in the archive's store: its MPD could not reach the
// archived objects through a relative BaseURL.
type OutsideStoreError struct {
	Out, Store string // the output directory's and the archive's store URLs
}

func (e *OutsideStoreError) Error() string {
	return fmt.Sprintf("export: output %s is not in the archive's store %s: give the URL the archive's objects are served from as the base URL, or copy them", e.Out, e.Store)
}

// CopyError is an object the export failed to copy (Copy).
type CopyError struct{ Err error }

func (e *CopyError) Error() string { return "export: copy: " + e.Err.Error() }

func (e *CopyError) Unwrap() error { return e.Err }

// NoCommonKError is a range where no K has a segment of every track (in
// gap mode split: none outside a gap), so there is nothing to present.
type NoCommonKError struct {
	FirstK, LastK int64
	Split         bool // gap mode split
}

func (e *NoCommonKError) Error() string {
	s := fmt.Sprintf("no K from %d to %d has a segment of every track", e.FirstK, e.LastK)
	if e.Split {
		s += " (gap mode split)"
	}
	return s
}
