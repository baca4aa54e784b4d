// Package repair mends a recorded archive from another source: a live or
// static MPD (an encoder or origin still holding the segments in its
// time-shift window) or another archive read by its layout (Store).
//
// Find lists the gaps of an archive (epoch indexes K missing from every
// source) and Fill fills them from such a source. Filled segments go through
// the same checks, create-only writes and index as recorded ones
// (archive.Channel.OfferSegment), after stricter checks that they fit the
// track: same codec configuration, EPT and duration on the epoch grid and
// contiguous with the stored neighbours.
//
// Splice replaces a range of stored segments (a rights blackout, a
// corrected feed) with segments from such a source, after the same checks
// against the segments they replace; nothing is overwritten or deleted
// (see LAYOUT.md, Splices), and UndoSplice restores the archive exactly.
package repair

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/reaparchive/reaparchive/index"
)

// Gap is a maximal run of missing epoch indexes of one track, clipped to the
// range asked for, or (Kind KindFiller) of K whose only copy is an
// encoder's filler (styp brand slat).
type Gap struct {
	Channel     string `json:"channel"`
	Rep         string `json:"rep"`
	ContentType string `json:"content_type"`
	Kind        string `json:"kind"` // KindMissing or KindFiller
	From        int64  `json:"from"` // first missing K
	To          int64  `json:"to"`   // last missing K (inclusive)
	Segments    int64  `json:"segments"`
	// FromTime and ToTime are the wall-clock span of the gap,
	// [From*D, (To+1)*D): ToTime is where the next stored segment starts.
	FromTime        time.Time     `json:"from_time"`
	ToTime          time.Time     `json:"to_time"`
	Duration        time.Duration `json:"-"`
	DurationSeconds float64       `json:"duration_seconds"`
	// Tried lists, by source name, what the index recorded for the gap's K:
	// the sources that were asked and did not deliver (missing), or
	// delivered something unusable (rejected), with the latest reason.
	Tried []Tried `json:"tried"`

	track index.Track
}

// Gap kinds.
const (
	KindMissing = "missing" // no copy of the K at all
	KindFiller  = "filler"  // only an encoder's filler (slat): repair replaces it with a real copy
)

// Tried is what one source's deliveries of a gap's K were.
type Tried struct {
	Source   string         `json:"source"`
	Outcomes map[string]int `json:"outcomes"` // outcome ("missing", "rejected", …) → number of K
	Detail   string         `json:"detail,omitempty"`
}

// Find returns every gap of every track of the channel that overlaps the
// wall-clock range [from, to) (a zero from or to leaves that end open), in
// track order (video, audio, …, then by rep) and then by K. A gap lies
// between the first and the last stored K of its track.
func Find(ctx context.Context, db *index.DB, channel string, from, to time.Time) ([]Gap, error) {
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", channel, err)
	}
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	srcs, err := db.Sources(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	names := map[int64]string{}
	for _, s := range srcs {
		names[s.ID] = s.Name
	}
	out := []Gap{}
	for _, t := range tracks {
		if t.Timescale == 0 || t.SegDur == 0 {
			continue // never got an init and a segment: nothing stored, no gap
		}
		fromK, toK := KRange(t, from, to)
		if fromK > toK {
			continue
		}
		gs, err := trackGaps(ctx, db, t, fromK, toK, names)
		if err != nil {
			return nil, fmt.Errorf("channel %s track %s: %w", channel, t.Rep, err)
		}
		for i := range gs {
			gs[i].Channel = channel
		}
		out = append(out, gs...)
	}
	return out, nil
}

// trackGaps returns the track's gaps in [fromK, toK], missing and
// filler-only K, in K order.
func trackGaps(ctx context.Context, db *index.DB, t index.Track, fromK, toK int64, names map[int64]string) ([]Gap, error) {
	missing, err := db.Gaps(ctx, t.ID, fromK, toK)
	if err != nil {
		return nil, err
	}
	fillers, err := db.FillerRanges(ctx, t.ID, fromK, toK)
	if err != nil {
		return nil, err
	}
	var out []Gap
	for _, kr := range []struct {
		kind string
		rs   []index.Range
	}{{KindMissing, missing}, {KindFiller, fillers}} {
		for _, r := range kr.rs {
			g := Gap{Rep: t.Rep, ContentType: t.ContentType, Kind: kr.kind, From: r.From, To: r.To,
				Segments: r.To - r.From + 1, FromTime: t.KTime(r.From), ToTime: t.KTime(r.To + 1), track: t}
			g.Duration = g.ToTime.Sub(g.FromTime)
			g.DurationSeconds = g.Duration.Seconds()
			ds, err := db.DeliveriesBetween(ctx, t.ID, r.From, r.To)
			if err != nil {
				return nil, err
			}
			g.Tried = tried(ds, names)
			out = append(out, g)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].From < out[j].From })
	return out, nil
}

// tried sums deliveries per source: per outcome the number of distinct K,
// and the detail of the latest delivery that gave one.
func tried(ds []index.Delivery, names map[int64]string) []Tried {
	type acc struct {
		t    Tried
		seen map[string]map[int64]bool
	}
	by := map[string]*acc{}
	for _, d := range ds { // ordered by K, then as recorded
		name := names[d.SourceID]
		if name == "" {
			name = fmt.Sprintf("source-%d", d.SourceID)
		}
		a := by[name]
		if a == nil {
			a = &acc{t: Tried{Source: name, Outcomes: map[string]int{}}, seen: map[string]map[int64]bool{}}
			by[name] = a
		}
		o := string(d.Outcome)
		if a.seen[o] == nil {
			a.seen[o] = map[int64]bool{}
		}
		if !a.seen[o][d.K] {
			a.seen[o][d.K] = true
			a.t.Outcomes[o]++
		}
		if d.Detail != "" {
			a.t.Detail = d.Detail
		}
	}
	out := make([]Tried, 0, len(by))
	for _, a := range by {
		out = append(out, a.t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// KRange is the inclusive range of the track's epoch indexes whose segments
// overlap [from, to); a zero from or to leaves that end open
// (math.MinInt64, math.MaxInt64).
func KRange(t index.Track, from, to time.Time) (fromK, toK int64) {
	fromK, toK = math.MinInt64, math.MaxInt64
	if t.Timescale == 0 || t.SegDur == 0 {
		return fromK, toK
	}
	if !from.IsZero() {
		fromK, _ = t.KAt(from)
	}
	if !to.IsZero() {
		q, exact := t.KAt(to)
		if !exact {
			q++
		}
		toK = q - 1 // the last K starting before to
	}
	return fromK, toK
}
