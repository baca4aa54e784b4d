package main

import (
	"context"
	"fmt"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/cloud"
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
