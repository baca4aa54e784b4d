package prune

import (
	"context"
	"errors"
	"fmt"
	"path"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// probeMax bounds how many segment objects past this index's last K
// storageInits looks at.
const probeMax = 64

// unneeded deletes, once no expired segment row is left, what no remaining
// segment needs: per track its unused inits, slate fillers, quarantined
// objects and index objects; per channel the expired splices and
// superseded I-MPDs.
func (p *pruner) unneeded(ctx context.Context, tracks []trackPrune, horizon time.Time) error {
	for _, tp := range tracks {
		steps := []func(context.Context, trackPrune, time.Time) error{p.inits, p.fillers, p.quarantined, p.indexObjects}
		for _, step := range steps {
			if err := step(ctx, tp, horizon); err != nil {
				return fmt.Errorf("%s: %w", tp.t.Rep, err)
			}
		}
	}
	if err := p.splices(ctx, horizon); err != nil {
		return err
	}
	return p.impds(ctx, horizon)
}

// inits deletes the track's init segments that no remaining row decodes
// with, that were stored before the horizon, and that no segment object
// past this index's last K names (another recorder sharing the store may
// be ahead): objects first, then rows.
func (p *pruner) inits(ctx context.Context, tp trackPrune, horizon time.Time) error {
	inits, err := p.db.Inits(ctx, tp.t.ID)
	if err != nil {
		return err
	}
	used, err := p.db.UsedInits(ctx, tp.t.ID, tp.startK, tp.held)
	if err != nil {
		return err
	}
	ahead, behind, err := p.storageInits(ctx, tp.t, tp.startK)
	if err != nil || behind {
		return err // behind: this index lags the store; the current recorder prunes the inits
	}
	var keys []string
	var ids []int64
	for _, in := range inits {
		if used[in.ID] || ahead[layout.InitID(in.Hash)] {
			continue
		}
		a, err := p.st.Attributes(ctx, in.Key)
		switch {
		case errors.Is(err, cloud.ErrNotFound):
		case err != nil:
			return err
		case !a.ModTime.Before(horizon):
			continue // stored after the horizon: it may describe segments to come
		default:
			keys = append(keys, in.Key)
		}
		ids = append(ids, in.ID)
	}
	p.res.Deleted.Inits += len(keys)
	if err := p.deleteKeys(ctx, keys); err != nil || p.opts.DryRun {
		return err
	}
	for _, id := range ids {
		if err := p.db.DeleteInit(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// storageInits reads the reap-init of the segment objects past the
// track's last K in this index (or from its start, when it has no row
// there), which another recorder on the store stored (decided from
// storage: they need their inits). behind is true when there are more
// than probeMax of them.
func (p *pruner) storageInits(ctx context.Context, t index.Track, startK int64) (ahead map[string]bool, behind bool, err error) {
	ahead = map[string]bool{}
	last, ok, err := p.db.LastK(ctx, t.ID)
	if err != nil || t.Ext == "" {
		return ahead, false, err
	}
	from := startK
	if ok && last >= from {
		from = last + 1
	}
	for k := from; k < from+probeMax; k++ {
		a, err := p.st.Attributes(ctx, layout.MediaKey(p.opts.Channel, t.Rep, k, t.Ext))
		if errors.Is(err, cloud.ErrNotFound) {
			return ahead, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		ahead[a.Meta[layout.MetaInit]] = true
	}
	return ahead, true, nil
}

// fillers deletes the track's slate fillers (export-vod --gaps fill) below
// its start and outside the holds, then their rows; their inits go with
// the last of them.
func (p *pruner) fillers(ctx context.Context, tp trackPrune, _ time.Time) error {
	var keys, initKeys []string
	left := 0
	err := p.st.List(ctx, p.repPrefix(tp.t, layout.FillerDir), func(a cloud.Attrs) error {
		o, err := layout.Parse(a.Key)
		switch {
		case err != nil:
		case o.Kind == layout.KindFillerInit:
			initKeys = append(initKeys, a.Key)
		case o.Kind == layout.KindFiller && o.K < tp.startK && !inHeld(tp.held, o.K, o.K):
			keys = append(keys, a.Key)
		case o.Kind == layout.KindFiller:
			left++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if left == 0 {
		keys = append(keys, initKeys...)
	}
	p.res.Deleted.Fillers += len(keys)
	if err := p.deleteKeys(ctx, keys); err != nil || p.opts.DryRun {
		return err
	}
	for _, r := range FreeRanges(tp.held, tp.startK) {
		if err := p.db.DeleteFillers(ctx, tp.t.ID, r.From, r.To); err != nil {
			return err
		}
	}
	return nil
}

// quarantined deletes the track's quarantined objects below its start and
// outside the holds.
func (p *pruner) quarantined(ctx context.Context, tp trackPrune, _ time.Time) error {
	var keys []string
	err := p.st.List(ctx, p.repPrefix(tp.t, layout.QuarantineDir), func(a cloud.Attrs) error {
		if k, ok := layout.ParseQuarantineName(path.Base(a.Key)); ok && k < tp.startK && !inHeld(tp.held, k, k) {
			keys = append(keys, a.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.res.Deleted.Quarantined += len(keys)
	return p.deleteKeys(ctx, keys)
}

// indexObjects deletes the track's index objects wholly below its start
// and outside the holds (they are a cache of the rows gone).
func (p *pruner) indexObjects(ctx context.Context, tp trackPrune, _ time.Time) error {
	var keys []string
	err := p.st.List(ctx, p.repPrefix(tp.t, layout.IndexDir), func(a cloud.Attrs) error {
		o, err := layout.Parse(a.Key)
		if err == nil && o.Kind == layout.KindIndex && o.ToK < tp.startK && !inHeld(tp.held, o.K, o.ToK) {
			keys = append(keys, a.Key)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.res.Deleted.IndexObjects += len(keys)
	return p.deleteKeys(ctx, keys)
}

// repPrefix is the prefix of a directory below the track's.
func (p *pruner) repPrefix(t index.Track, dir string) string {
	return p.opts.Channel + "/" + t.Rep + "/" + dir + "/"
}
