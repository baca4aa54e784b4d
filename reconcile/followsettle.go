package reconcile

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/prune"
)

// settle brings what the index holds of channel ch in line with what the
// store let go since the last pass (a Follower's pass; Reindex keeps rows
// as they are): the rows retention expired (marker, the newest expiry
// marker's horizon as listTop read it), then the splices whose records
// are gone (an undo, or a prune of an expired splice).
func (f *Follower) settle(ctx context.Context, ch index.ChannelRow, marker time.Time, spliceKeys []string, p *FollowPass) error {
	removed, err := f.expire(ctx, ch, marker)
	if err != nil {
		return err
	}
	undone, err := f.undoGone(ctx, ch, spliceKeys)
	p.Removed += removed
	p.Undone += undone
	return err
}

// expire removes the segment rows of channel ch that retention let go,
// when its horizon (the newest expiry marker, or Options.Retention as
// Reindex and Verify apply it) is later than the one last applied: per
// track it marks the archive's start (LAYOUT.md, Retention and deletion
// order, step 2) and removes the rows below it outside the active holds
// (read from the store, as prune does, after the marker), with their
// deliveries, events, text issues and splice history. It returns the
// number of segment rows removed.
func (f *Follower) expire(ctx context.Context, ch index.ChannelRow, marker time.Time) (int64, error) {
	opts := f.opts.Options
	opts.Now = f.opts.now()
	h := opts.horizon(&chanScan{name: ch.Name, horizon: marker})
	if h.IsZero() || !h.After(f.expired[ch.Name]) {
		return 0, nil
	}
	hs, err := holds.Active(ctx, f.st, ch.Name, opts.Now)
	if err != nil {
		return 0, err
	}
	tracks, err := f.db.Tracks(ctx, ch.ID)
	if err != nil {
		return 0, err
	}
	var removed int64
	for _, t := range tracks {
		if t.SegDur == 0 || t.Timescale == 0 {
			continue
		}
		startK, _ := t.KAt(h)
		if err := f.db.MarkExpiring(ctx, t.ID, startK, h); err != nil {
			return removed, err
		}
		if e, ok, err := f.db.Expiry(ctx, t.ID); err != nil {
			return removed, err
		} else if ok {
			startK = e.StartK // never moves back
		}
		for _, r := range prune.FreeRanges(prune.HeldRanges(t, hs), startK) {
			n, err := f.db.RemoveExpired(ctx, t.ID, r.From, r.To)
			if err != nil {
				return removed, err
			}
			removed += n
		}
	}
	f.expired[ch.Name] = h
	return removed, nil
}

// undoGone undoes in the index the active splices of channel ch whose
// records the listing of <ch>/ no longer has (spliceKeys are those it
// has), newest first: `splice --undo` deletes the record before the
// replacements, so from then on the originals are the segments again. A
// splice none of whose replaced rows is left (retention removed them all:
// prune deletes an expired splice's record) is deleted from the index, as
// prune does. It returns the number of splices undone or deleted.
func (f *Follower) undoGone(ctx context.Context, ch index.ChannelRow, spliceKeys []string) (int, error) {
	sps, err := f.db.Splices(ctx, ch.ID)
	if err != nil {
		return 0, err
	}
	listed := map[string]bool{}
	for _, k := range spliceKeys {
		listed[k] = true
	}
	n := 0
	for i := len(sps) - 1; i >= 0; i-- { // oldest first: undo the newest first
		sp := sps[i]
		if !sp.Active() || listed[sp.RecordKey] {
			continue
		}
		hist, err := f.db.SpliceHistory(ctx, sp.ID)
		if err != nil {
			return n, err
		}
		if len(hist) == 0 {
			err = f.db.DeleteSplice(ctx, sp.ID)
		} else {
			_, err = f.db.UndoSplice(ctx, sp.ID, f.opts.now().UTC())
		}
		if err != nil {
			return n, fmt.Errorf("splice %s, whose record %s is gone: %w", sp.ID, sp.RecordKey, err)
		}
		n++
	}
	return n, nil
}

// dropGoneInits deletes the init rows of channel ch's representations in
// c whose objects the pass's listing of their init segments lacks and
// that no segment row decodes with (retention, or an undone splice,
// deleted them: LAYOUT.md, Retention and deletion order, step 5).
func (f *Follower) dropGoneInits(ctx context.Context, ch index.ChannelRow, c *chanScan) error {
	for _, r := range c.reps {
		t, err := f.db.Track(ctx, ch.ID, r.rep)
		if errors.Is(err, index.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		listed := map[string]bool{}
		for _, o := range r.inits {
			listed[o.key] = true
		}
		ins, err := f.db.Inits(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, in := range ins {
			if !listed[in.Key] {
				if err := f.db.DeleteInit(ctx, in.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
