package main

import (
	"context"
	"fmt"
	"time"

	"github.com/reaparchive/reaparchive/archive"
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
func (a *app) recordedChannels(channel string, jobs []archive.PullOptions) []string {
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
