package origin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/index"
)

// The timeline page's view: a day at most, a minute at least (the page
// zooms between them); the JSON endpoint accepts any range up to maxSpan.
const (
	defaultSpan = 24 * time.Hour
	maxSpan     = 31 * 24 * time.Hour
)

// timelineDoc is GET /api/<channel>/timeline (README: serve, timeline
// page). Times are seconds since the epoch.
type timelineDoc struct {
	Channel string          `json:"channel"`
	From    float64         `json:"from"`
	To      float64         `json:"to"`
	Now     float64         `json:"now"`
	Tracks  []trackTimeline `json:"tracks"`
}

// trackTimeline is one track's timeline over the range.
type trackTimeline struct {
	Rep             string        `json:"rep"`
	ContentType     string        `json:"content_type"`
	SegmentDuration float64       `json:"segment_duration"`
	Runs            []kSpan       `json:"runs"`    // recorded K runs
	Gaps            []kSpan       `json:"gaps"`    // K with no segment inside the recording
	Fillers         []kSpan       `json:"fillers"` // K whose stored copy is an encoder's filler
	Splices         []spliceSpan  `json:"splices"`
	Markers         []scte35Point `json:"markers"`
}

// kSpan is K from_k..to_k inclusive: [start, end) in time.
type kSpan struct {
	FromK int64   `json:"from_k"`
	ToK   int64   `json:"to_k"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
}

// spliceSpan is the part of a splice (`reaparchive splice`) in the range.
type spliceSpan struct {
	kSpan
	ID     string `json:"id"`
	Source string `json:"source"`
	Active bool   `json:"active"`
}

// scte35Point is an SCTE-35 event carried by the track.
type scte35Point struct {
	Time     float64  `json:"time"`
	ID       uint32   `json:"id"`
	Command  string   `json:"command,omitempty"`
	Out      *bool    `json:"out_of_network,omitempty"`
	Duration *float64 `json:"duration,omitempty"`
}

// timeline answers GET /api/{channel}/timeline?from=T&to=T.
func (s *Server) timeline(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	doc, err := s.buildTimeline(r.Context(), r.PathValue("channel"), r.URL.Query().Get("from"), r.URL.Query().Get("to"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// writeJSON answers with v as JSON, not cached.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// buildTimeline reads the channel's tracks over [from, to): their runs and
// gaps (index.StoredSpan and index.Gaps: work follows the holes, not the
// segments), fillers, splices and SCTE-35 events.
func (s *Server) buildTimeline(ctx context.Context, channel, fromQ, toQ string) (*timelineDoc, error) {
	ch, err := s.cfg.DB.Channel(ctx, channel)
	if errors.Is(err, index.ErrNotFound) {
		return nil, errNotFound("no channel %q", channel)
	}
	if err != nil {
		return nil, err
	}
	tracks, err := s.cfg.DB.Tracks(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	now := s.cfg.Now().UTC()
	from, to, err := s.timelineRange(ctx, tracks, fromQ, toQ, now)
	if err != nil {
		return nil, err
	}
	splices, err := s.cfg.DB.Splices(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	marks, err := scte35Marks(ctx, s.cfg.DB, channel, from, to)
	if err != nil {
		return nil, err
	}
	doc := &timelineDoc{Channel: channel, From: epoch(from), To: epoch(to), Now: epoch(now), Tracks: []trackTimeline{}}
	for _, t := range tracks {
		tt, err := s.trackTimeline(ctx, t, from, to, splices)
		if err != nil {
			return nil, err
		}
		tt.Markers = append(tt.Markers, marks[t.Rep]...)
		doc.Tracks = append(doc.Tracks, tt)
	}
	return doc, nil
}

// timelineRange parses from and to. Without to: the end of the newest
// segment (now without any); without from: a day before to, or the first
// segment's start if later.
func (s *Server) timelineRange(ctx context.Context, tracks []index.Track, fromQ, toQ string, now time.Time) (from, to time.Time, err error) {
	first, last := now, time.Time{}
	if fromQ == "" || toQ == "" {
		if first, last, err = s.recordedBounds(ctx, tracks); err != nil {
			return from, to, err
		}
	}
	switch {
	case toQ != "":
		if to, err = ParseTime(toQ); err != nil {
			return from, to, badf("to: %v", err)
		}
	case last.IsZero():
		to = now
	default:
		to = last
	}
	from = to.Add(-defaultSpan)
	if fromQ != "" {
		if from, err = ParseTime(fromQ); err != nil {
			return from, to, badf("from: %v", err)
		}
	} else if first.After(from) && first.Before(to) {
		from = first
	}
	if !to.After(from) || to.Sub(from) > maxSpan {
		return from, to, badf("from %s to %s: want to after from, at most %s apart", from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), maxSpan)
	}
	return from, to, nil
}

// recordedBounds is the start of the channel's first segment and the end of
// its last (zero times when it has none).
func (s *Server) recordedBounds(ctx context.Context, tracks []index.Track) (first, last time.Time, err error) {
	for _, t := range tracks {
		if t.SegDur == 0 || t.Timescale == 0 {
			continue
		}
		sp, ok, err := s.cfg.DB.StoredSpan(ctx, t.ID, math.MinInt64, math.MaxInt64)
		if err != nil || !ok {
			if err != nil {
				return first, last, err
			}
			continue
		}
		if st := t.KTime(sp.From); first.IsZero() || st.Before(first) {
			first = st
		}
		if end := t.KTime(sp.To + 1); end.After(last) {
			last = end
		}
	}
	return first, last, nil
}

// trackTimeline is track t's runs, gaps, fillers and splices over [from, to).
func (s *Server) trackTimeline(ctx context.Context, t index.Track, from, to time.Time, splices []index.Splice) (trackTimeline, error) {
	tt := trackTimeline{Rep: t.Rep, ContentType: t.ContentType, SegmentDuration: t.SegmentDuration().Seconds(),
		Runs: []kSpan{}, Gaps: []kSpan{}, Fillers: []kSpan{}, Splices: []spliceSpan{}, Markers: []scte35Point{}}
	if t.SegDur == 0 || t.Timescale == 0 {
		return tt, nil // no segment yet
	}
	fromK, _ := t.KAt(from)
	toK, exact := t.KAt(to)
	if exact {
		toK--
	}
	span, ok, err := s.cfg.DB.StoredSpan(ctx, t.ID, fromK, toK)
	if err != nil || !ok {
		return tt, err
	}
	gaps, err := s.cfg.DB.Gaps(ctx, t.ID, fromK, toK)
	if err != nil {
		return tt, err
	}
	fillers, err := s.cfg.DB.FillerRanges(ctx, t.ID, fromK, toK)
	if err != nil {
		return tt, err
	}
	for _, r := range runsBetween(span, gaps) {
		tt.Runs = append(tt.Runs, spanOf(t, r))
	}
	for _, g := range gaps {
		tt.Gaps = append(tt.Gaps, spanOf(t, g))
	}
	for _, f := range fillers {
		tt.Fillers = append(tt.Fillers, spanOf(t, f))
	}
	for _, sp := range splices {
		if lo, hi := max(sp.FromK, fromK), min(sp.ToK, toK); lo <= hi {
			tt.Splices = append(tt.Splices, spliceSpan{kSpan: spanOf(t, index.Range{From: lo, To: hi}), ID: sp.ID, Source: sp.SourceName, Active: sp.Active()})
		}
	}
	return tt, nil
}

// runsBetween is span without the gaps (sorted, inside span): the
// recorded runs.
func runsBetween(span index.Range, gaps []index.Range) []index.Range {
	var out []index.Range
	k := span.From
	for _, g := range gaps {
		if g.From > k {
			out = append(out, index.Range{From: k, To: g.From - 1})
		}
		k = max(k, g.To+1)
	}
	if k <= span.To {
		out = append(out, index.Range{From: k, To: span.To})
	}
	return out
}

// spanOf is K range r of track t in time.
func spanOf(t index.Track, r index.Range) kSpan {
	return kSpan{FromK: r.From, ToK: r.To, Start: epoch(t.KTime(r.From)), End: epoch(t.KTime(r.To + 1))}
}

// epoch is t in seconds since the epoch.
func epoch(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// scte35Marks are the channel's SCTE-35 events starting in [from, to), by
// the representation that carried them.
func scte35Marks(ctx context.Context, db *index.DB, channel string, from, to time.Time) (map[string][]scte35Point, error) {
	evs, err := events.List(ctx, db, channel, from, to)
	if err != nil {
		return nil, fmt.Errorf("timeline: %w", err)
	}
	out := map[string][]scte35Point{}
	for _, e := range evs {
		if e.SchemeIDURI != events.SCTE35Scheme {
			continue
		}
		p := scte35Point{Time: epoch(e.Time), ID: e.ID, Duration: e.DurationSeconds}
		if e.SCTE35 != nil {
			p.Command, p.Out = e.SCTE35.Command, e.SCTE35.OutOfNetwork
			if e.SCTE35.BreakDurationSeconds != nil {
				p.Duration = e.SCTE35.BreakDurationSeconds
			}
		}
		out[e.Rep] = append(out[e.Rep], p)
	}
	return out, nil
}
