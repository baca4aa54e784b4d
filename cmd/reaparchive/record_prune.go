package main

import (
	"context"
	"errors"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/prune"
)

const (
	// pruneEvery is how often record prunes the channels with a policy.
	pruneEvery = 10 * time.Second
	// pruneUnneededEvery is how often a pass also deletes what no
	// remaining segment needs (inits, I-MPDs, …): that looks at every
	// remaining row of a track, so it runs less often.
	pruneUnneededEvery = 10 * time.Minute
	// pruneMaxSegments bounds the segment rows one pass deletes.
	pruneMaxSegments = 5000
)

// startPruning prunes the recorded channels that have a retention policy
// (flag for all of them, else their retention: in the config; with
// retention_min_free every one, when the disk is nearly full) now and
// then every pruneEvery until ctx ends, a bounded amount per pass. A failed
// pass is logged; the next one finishes it. stop ends it and waits.
func (a *app) startPruning(ctx context.Context, ar *archive.Archive, channels []string, flag time.Duration) (stop func()) {
	policies := a.policiesOf(channels, flag)
	if len(policies) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(pruneEvery)
		defer tick.Stop()
		var lastFull time.Time
		for {
			full := time.Since(lastFull) >= pruneUnneededEvery
			if a.prunePass(ctx, ar, policies, full) && full {
				lastFull = time.Now()
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}

// prunePass prunes every channel once; ok is false if one failed.
func (a *app) prunePass(ctx context.Context, ar *archive.Archive, policies map[string]time.Duration, full bool) (ok bool) {
	minFreeH, err := a.minFreeHorizon(ctx, ar)
	if err != nil {
		a.log.Warn("prune: pass failed; the next one tries again", "err", err)
		return false
	}
	ok = true
	for name, d := range policies {
		if d == 0 && minFreeH.IsZero() {
			continue // only retention_min_free, and the disk has room
		}
		opts := prune.Options{Channel: name, Retention: d, Horizon: minFreeH, MaxSegments: pruneMaxSegments, SkipUnneeded: !full, Log: a.log}
		res, err := prune.Channel(ctx, ar.Store, ar.DB, opts)
		switch {
		case errors.Is(err, index.ErrNotFound):
			// not recorded yet
		case err != nil && ctx.Err() == nil:
			ok = false
			a.log.Warn("prune: pass failed; the next one finishes it", "channel", name, "err", err)
		case err == nil && res.Deleted.Objects > 0:
			a.log.Info("pruned", "channel", name, "retention", d, "horizon", res.Horizon.Format(time.RFC3339),
				"objects", res.Deleted.Objects, "segments", res.Deleted.Segments, "complete", res.Complete)
		}
	}
	return ok
}
