// Package prune deletes what a channel's retention policy lets go, in the
// crash-safe order of LAYOUT.md (Retention and deletion order): the expiry
// marker and the index's mark first, then the objects, then the index rows.
// An interrupted prune finishes on its next run; active holds are kept.
package prune

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// Options configure one prune of one channel.
type Options struct {
	Channel   string
	Retention time.Duration // > 0, or 0 with Horizon set
	Now       time.Time     // zero: time.Now()
	// Horizon, if later than Now - Retention, is the horizon instead
	// (retention_min_free: the oldest segments go first).
	Horizon time.Time
	DryRun  bool // count what would go, change nothing
	// MaxSegments bounds the segment rows one call deletes (0: no bound);
	// a bounded call that stops early leaves the rest, and the objects no
	// remaining segment needs, to the next (Result.Complete is false).
	MaxSegments int
	// SkipUnneeded leaves what no remaining segment needs (inits, I-MPDs,
	// fillers, …) to a later call: the recorder's frequent passes delete
	// only segments.
	SkipUnneeded bool
	// Progress, if set, is called after every batch of deletes with the
	// objects deleted so far.
	Progress func(deleted int)
	Log      *slog.Logger
}

// Counts are objects deleted (with DryRun: that would be), by kind.
type Counts struct {
	Objects      int `json:"objects"` // all kinds
	Segments     int `json:"segments"`
	Inits        int `json:"inits"`
	IMPDs        int `json:"impds"`
	Fillers      int `json:"fillers"`
	Quarantined  int `json:"quarantined"`
	Splices      int `json:"splices"` // splice records
	IndexObjects int `json:"index_objects"`
	Markers      int `json:"markers"` // expiry markers superseded by a newer one
}

// Result is what one prune of a channel did.
type Result struct {
	Channel   string    `json:"channel"`
	Retention string    `json:"retention"`
	Horizon   time.Time `json:"horizon"`
	DryRun    bool      `json:"dry_run"`
	// Complete: nothing expired is left (false: a bounded pass stopped
	// early, the next one goes on).
	Complete bool    `json:"complete"`
	Deleted  Counts  `json:"deleted"`
	Holds    int     `json:"holds"` // active holds of the channel
	Tracks   []Track `json:"tracks"`
}

// Track is where a track's archive starts after the prune.
type Track struct {
	Rep           string `json:"rep"`
	ArchiveStartK int64  `json:"archive_start_k"`
	ArchiveStart  string `json:"archive_start"` // RFC 3339
	HeldSegments  int64  `json:"held_segments"` // expired, kept by a hold
}

// pruner is one prune of one channel.
type pruner struct {
	st     *cloud.Store
	db     *index.DB
	opts   Options
	ch     index.ChannelRow
	holds  []*layout.HoldRecord
	res    Result
	budget int // segment rows left to delete (MaxSegments), -1: unbounded
}

// Channel prunes one channel: it deletes the media segments that end at or
// before Now - Retention (the horizon, in whole seconds) and are in no
// active hold, then what no remaining segment needs, and the index rows
// that follow them.
func Channel(ctx context.Context, st *cloud.Store, db *index.DB, opts Options) (Result, error) {
	if opts.Retention <= 0 && opts.Horizon.IsZero() {
		return Result{}, fmt.Errorf("prune %s: retention %s: must be more than zero", opts.Channel, opts.Retention)
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	p := &pruner{st: st, db: db, opts: opts, budget: -1}
	if opts.MaxSegments > 0 {
		p.budget = opts.MaxSegments
	}
	var horizon time.Time // Retention 0: no policy, only Horizon
	if opts.Retention > 0 {
		horizon = opts.Now.Add(-opts.Retention).Truncate(time.Second).UTC()
	}
	if h := opts.Horizon.Truncate(time.Second).UTC(); h.After(horizon) {
		horizon = h
	}
	p.res = Result{Channel: opts.Channel, Retention: opts.Retention.String(), Horizon: horizon, DryRun: opts.DryRun, Tracks: []Track{}}
	if err := p.run(ctx, horizon); err != nil {
		return p.res, fmt.Errorf("prune %s: %w", opts.Channel, err)
	}
	return p.res, nil
}

// run is the prune in its order: the marker, holds, the segments of every
// track, then (once no expired segment row is left) what they needed.
func (p *pruner) run(ctx context.Context, horizon time.Time) error {
	var err error
	if p.ch, err = p.db.Channel(ctx, p.opts.Channel); err != nil {
		return err
	}
	if err := p.writeMarker(ctx, horizon); err != nil {
		return err
	}
	// The holds are read after the marker is stored (LAYOUT.md, Holds): an
	// export that wrote its hold after this read sees the marker and
	// leaves the expiring range out.
	if p.holds, err = holds.Active(ctx, p.st, p.opts.Channel, p.opts.Now); err != nil {
		return err
	}
	p.res.Holds = len(p.holds)
	tracks, err := p.db.Tracks(ctx, p.ch.ID)
	if err != nil {
		return err
	}
	var pruned []trackPrune
	for _, t := range tracks { // every track is marked before anything is deleted
		tp, ok, err := p.mark(ctx, t, horizon)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Rep, err)
		}
		if ok {
			pruned = append(pruned, tp)
		}
	}
	complete := true
	for i := range pruned {
		if err := p.segments(ctx, &pruned[i]); err != nil {
			return fmt.Errorf("%s: %w", pruned[i].t.Rep, err)
		}
		complete = complete && pruned[i].done
	}
	p.res.Complete = complete
	if complete && !p.opts.SkipUnneeded {
		if err := p.unneeded(ctx, pruned, horizon); err != nil {
			return err
		}
	}
	return p.markers(ctx)
}

// writeMarker stores the channel's expiry marker for horizon before
// anything is marked or deleted (create-only: a marker there already, of
// an earlier pass or of another recorder, is fine).
func (p *pruner) writeMarker(ctx context.Context, horizon time.Time) error {
	if p.opts.DryRun {
		return nil
	}
	body := fmt.Appendf(nil, "{\"version\": 1, \"channel\": %q, \"horizon\": %q, \"retention\": %q}\n",
		p.opts.Channel, horizon.Format(time.RFC3339), p.opts.Retention.String())
	err := p.st.Create(ctx, layout.ExpiryKey(p.opts.Channel, horizon), body, nil)
	if err != nil && !errors.Is(err, cloud.ErrExists) {
		return fmt.Errorf("expiry marker: %w", err)
	}
	return nil
}

// deleteKeys deletes keys (DryRun: counts them) and reports progress.
func (p *pruner) deleteKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	p.res.Deleted.Objects += len(keys)
	if p.opts.DryRun {
		return nil
	}
	if _, err := p.st.DeleteMany(ctx, keys); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if p.opts.Progress != nil {
		p.opts.Progress(p.res.Deleted.Objects)
	}
	return nil
}
