package prune

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// splices deletes the splices whose whole range ended at or before the
// horizon and that no hold overlaps: the record first (the splice is then
// inactive), then its replacements, then its index row.
func (p *pruner) splices(ctx context.Context, horizon time.Time) error {
	recs, err := p.spliceRecords(ctx)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if r.To.After(horizon) || p.holdOverlaps(r.From, r.To) {
			continue
		}
		keys := []string{layout.SpliceRecordKey(p.opts.Channel, r.ID)}
		if err := p.deleteKeys(ctx, keys); err != nil {
			return err
		}
		p.res.Deleted.Splices++
		keys = keys[:0]
		for _, t := range r.Tracks {
			for _, k := range t.Ks {
				keys = append(keys, layout.SpliceKey(p.opts.Channel, t.Rep, r.ID, k, t.Ext))
			}
		}
		p.res.Deleted.Segments += len(keys)
		if err := p.deleteKeys(ctx, keys); err != nil {
			return err
		}
		if p.opts.DryRun {
			continue
		}
		if err := p.db.DeleteSplice(ctx, r.ID); err != nil {
			return err
		}
	}
	return nil
}

// spliceRecords reads the channel's splice records.
func (p *pruner) spliceRecords(ctx context.Context) ([]*layout.SpliceRecord, error) {
	var keys []string
	err := p.st.ListDir(ctx, p.opts.Channel+"/"+layout.SpliceDirPrefix, func(a cloud.Attrs) error {
		if o, err := layout.Parse(a.Key); err == nil && o.Kind == layout.KindSplice {
			keys = append(keys, a.Key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var out []*layout.SpliceRecord
	for _, k := range keys {
		data, err := p.st.Get(ctx, k)
		if errors.Is(err, cloud.ErrNotFound) {
			continue // deleted meanwhile (another recorder's prune, an undo)
		}
		if err != nil {
			return nil, err
		}
		r, err := layout.ParseSpliceRecord(data)
		if err != nil {
			p.opts.Log.Warn("prune: unreadable splice record kept", "key", k, "err", err)
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// holdOverlaps reports whether an active hold overlaps [from, to).
func (p *pruner) holdOverlaps(from, to time.Time) bool {
	for _, h := range p.holds {
		if h.From.Before(to) && from.Before(h.To) {
			return true
		}
	}
	return false
}

// impd is one I-MPD of the channel.
type impd struct {
	key  string
	mod  time.Time
	reps []string // nil: unreadable (kept)
}

// impds deletes the I-MPDs stored before the horizon that are, for every
// representation they describe, older than another I-MPD describing it;
// those in effect in a held range stay. Decided from the listing (the same
// on every recorder sharing the store).
func (p *pruner) impds(ctx context.Context, horizon time.Time) error {
	all, err := p.listIMPDs(ctx)
	if err != nil {
		return err
	}
	keep := newestPerRep(all, time.Time{})
	for _, h := range p.holds {
		for k := range newestPerRep(all, h.To) {
			keep[k] = true
		}
	}
	var keys []string
	for _, m := range all {
		if keep[m.key] || !m.mod.Before(horizon) || m.reps == nil || p.holdOverlaps(m.mod, m.mod.Add(1)) {
			continue
		}
		keys = append(keys, m.key)
	}
	p.res.Deleted.IMPDs += len(keys)
	return p.deleteKeys(ctx, keys)
}

// listIMPDs lists and parses the channel's I-MPDs, newest first.
func (p *pruner) listIMPDs(ctx context.Context) ([]impd, error) {
	var all []impd
	err := p.st.ListDir(ctx, p.opts.Channel+"/impd-", func(a cloud.Attrs) error {
		if o, err := layout.Parse(a.Key); err == nil && o.Kind == layout.KindIMPD {
			all = append(all, impd{key: a.Key, mod: a.ModTime})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(all, func(a, b impd) int {
		if c := b.mod.Compare(a.mod); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	for i := range all {
		data, err := p.st.Get(ctx, all[i].key)
		if errors.Is(err, cloud.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		live, err := manifest.ParseLive(data, "")
		if err != nil {
			continue // unreadable: kept
		}
		all[i].reps = []string{}
		for _, t := range live.Tracks {
			all[i].reps = append(all[i].reps, t.Rep)
		}
	}
	return all, nil
}

// newestPerRep are the keys of the I-MPDs (newest first) that are the
// newest describing one of their representations, among those stored
// before before (zero: all).
func newestPerRep(all []impd, before time.Time) map[string]bool {
	keep := map[string]bool{}
	seen := map[string]bool{}
	for _, m := range all {
		if !before.IsZero() && !m.mod.Before(before) {
			continue
		}
		for _, r := range m.reps {
			if !seen[r] {
				seen[r] = true
				keep[m.key] = true
			}
		}
	}
	return keep
}

// markers deletes the channel's expiry markers older than its newest (the
// newest alone says where the archive starts).
func (p *pruner) markers(ctx context.Context) error {
	ms, err := holds.Markers(ctx, p.st, p.opts.Channel)
	if err != nil || len(ms) < 2 {
		return err
	}
	var keys []string
	for _, h := range ms[:len(ms)-1] {
		keys = append(keys, layout.ExpiryKey(p.opts.Channel, h))
	}
	p.res.Deleted.Markers += len(keys)
	return p.deleteKeys(ctx, keys)
}
