package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/indexobj"
	"github.com/reaparchive/reaparchive/reconcile"
)

// removeTempFiles removes, before the recorder writes, the temporary files
// that writes interrupted by a crash left under the recorded channels of a
// file store (verify counts them).
func (a *app) removeTempFiles(ctx context.Context, st *cloud.Store, channels []string, start time.Time) error {
	for _, name := range channels {
		n, size, err := st.RemoveTempFiles(ctx, name+"/", start)
		if err != nil {
			return fmt.Errorf("channel %s: %w", name, err)
		}
		if n > 0 {
			a.log.Info("removed temporary files of interrupted writes", "channel", name, "files", n, "bytes", size)
		}
	}
	return nil
}

// recoverUnclean, when the index lock named a dead holder (a recorder that
// did not stop cleanly), takes into the index what its interrupted writes
// left in the store of the recorded channels: objects stored durably whose
// index rows were not written yet (LAYOUT.md, Read and write ordering). It
// is `reindex --channel` of each of them, which indexes only the objects
// without rows; it costs one listing of each channel, and only after an
// unclean stop. After a clean stop it does nothing.
func (a *app) recoverUnclean(ctx context.Context, ar *archive.Archive, channels []string, dead *index.Holder) error {
	if dead == nil {
		return nil
	}
	a.log.Warn("the last recorder on this index did not stop cleanly: indexing the objects it left without index rows",
		"holder", dead.String())
	for _, name := range channels {
		if ok, err := channelInStore(ctx, ar.Store, name); err != nil || !ok {
			if err != nil {
				return fmt.Errorf("recovery of channel %s: %w", name, err)
			}
			continue
		}
		res, err := reconcile.Reindex(ctx, ar.Store, ar.DB, reconcile.Options{Channel: name})
		if err != nil {
			return fmt.Errorf("recovery after an unclean stop: %w", err)
		}
		for _, rc := range res.Channels {
			a.log.Info("recovery after an unclean stop", "channel", rc.Name, "objects", rc.Objects, "indexed", rc.Indexed, "new_inits", rc.NewInits)
			for _, p := range rc.Problems {
				a.log.Warn("recovery after an unclean stop: not indexed", "channel", rc.Name, "problem", p.String())
			}
		}
	}
	return nil
}

// channelInStore says whether the store holds anything under <name>/.
func channelInStore(ctx context.Context, st *cloud.Store, name string) (bool, error) {
	found, errStopListing := false, errors.New("stop listing")
	err := st.ListDir(ctx, name+"/", func(cloud.Attrs) error {
		found = true
		return errStopListing
	})
	if errors.Is(err, errStopListing) {
		err = nil
	}
	return found, err
}

// recordedChannels names the channels record writes: --channel, or every
// channel of the config and of the pull jobs.
func (a *app) recordedChannels(channel string, jobs []pull.Options) []string {
	if channel != "" {
		return []string{channel}
	}
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, j := range jobs {
		add(j.Channel)
	}
	for _, c := range a.cfg.Channels {
		add(c.Name)
	}
	return out
}

// watchIndex returns the context of the pull recorders: with pull set, it
// is cancelled (cause index.ErrLost, logged) within a second of the index
// file being deleted or replaced, so that they stop instead of recording
// into a file no one will open again. Pushes get 503 from then on.
func (a *app) watchIndex(ctx context.Context, ar *archive.Archive, pull bool) context.Context {
	if !pull {
		return ctx
	}
	pctx, stop := context.WithCancelCause(ctx)
	go func() {
		if err := ar.DB.Watch(pctx, time.Second); err != nil {
			a.log.Error("index lost: stopping the pull recorders", "err", err)
			stop(err)
		}
	}()
	return pctx
}

// indexObjectsEvery is how often record writes the index objects of the
// hours completed since (package indexobj).
const indexObjectsEvery = 10 * time.Minute

// startIndexObjects writes, now and then every indexObjectsEvery until
// ctx ends, the index objects of the complete hours of every channel of
// the index (LAYOUT.md, Index objects). A failed pass is logged; the next
// one tries again. stop ends it and waits for it.
func (a *app) startIndexObjects(ctx context.Context, ar *archive.Archive) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w := indexobj.New(ar.Store, ar.DB, 0, a.log)
		tick := time.NewTicker(indexObjectsEvery)
		defer tick.Stop()
		for {
			res, err := w.All(ctx, time.Now())
			switch {
			case err != nil && ctx.Err() == nil:
				a.log.Warn("index objects: pass failed; the next one tries again", "err", err)
			case res.Objects > 0:
				a.log.Info("index objects written", "objects", res.Objects, "segments", res.Entries)
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
