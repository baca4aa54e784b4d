package main

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/archive"
)

func (a *app) recordCmd() *cobra.Command {
	var (
		channel string
		sources []string
		dur     time.Duration
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "record --store URL --index PATH --channel NAME --source NAME=MPD_URL [--source NAME=MPD_URL ...] [--for DURATION]",
		Short: "Record a channel from redundant REaP sources into the archive",
		Long: `record follows the live MPD of every source of a channel, fetches each new
segment of every Representation from every source as it becomes available, and
keeps the first valid copy of each epoch index K. Later copies are counted as
duplicates (same timing) or conflicts (different timing); a segment a source
does not have within --segment-timeout is recorded as missing from it.
It stops on SIGINT/SIGTERM or after --for, finishing in-flight segments.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			jobs, err := a.pullJobs(channel, sources)
			if err != nil {
				return err
			}
			ar, closeFn, err := a.openArchive(ctx, false)
			if err != nil {
				return err
			}
			defer closeFn()
			g, gctx := errgroup.WithContext(ctx)
			for _, j := range jobs {
				j.For, j.SegmentTimeout = dur, timeout
				stats := &archive.PullStats{}
				j.Stats = stats
				g.Go(func() error {
					start := time.Now()
					err := ar.RecordPull(gctx, j)
					a.log.Info("recording ended", "channel", j.Channel, "elapsed", time.Since(start).Round(time.Second),
						"stored", stats.Stored.Load(), "duplicates", stats.Duplicates.Load(), "conflicts", stats.Conflicts.Load(),
						"rejected", stats.Rejected.Load(), "missing_deliveries", stats.Missing.Load())
					if errors.Is(err, context.Canceled) && ctx.Err() != nil {
						return nil // stopped by a signal: a clean stop
					}
					return err
				})
			}
			return g.Wait()
		},
	}
	f := cmd.Flags()
	f.StringVar(&channel, "channel", "", "channel name (all channels of --config when omitted)")
	f.StringArrayVar(&sources, "source", nil, "pull source NAME=MPD_URL (repeatable)")
	f.DurationVar(&dur, "for", 0, "record for this long, then stop (default: until SIGINT/SIGTERM)")
	f.DurationVar(&timeout, "segment-timeout", 0, "how long to retry a segment after it is due before recording it missing from a source (default 3×D, at least 6s)")
	return cmd
}

// pullJobs resolves which channels to record from flags and config.
func (a *app) pullJobs(channel string, sources []string) ([]archive.PullOptions, error) {
	var jobs []archive.PullOptions
	if channel == "" {
		if len(sources) > 0 {
			return nil, usagef("--source needs --channel")
		}
		for _, ch := range a.cfg.Channels {
			j := archive.PullOptions{Channel: ch.Name}
			for _, s := range ch.Sources {
				j.Sources = append(j.Sources, archive.PullSource{Name: s.Name, MPDURL: s.MPD})
			}
			jobs = append(jobs, j)
		}
		if len(jobs) == 0 {
			return nil, usagef("no channel: give --channel NAME --source NAME=MPD_URL, or channels in --config")
		}
	} else {
		j := archive.PullOptions{Channel: channel}
		if cc, ok := a.cfg.channel(channel); ok && len(sources) == 0 {
			for _, s := range cc.Sources {
				j.Sources = append(j.Sources, archive.PullSource{Name: s.Name, MPDURL: s.MPD})
			}
		}
		for _, s := range sources {
			name, u, err := splitNameValue("--source", s)
			if err != nil {
				return nil, err
			}
			j.Sources = append(j.Sources, archive.PullSource{Name: name, MPDURL: u})
		}
		jobs = append(jobs, j)
	}
	for _, j := range jobs {
		if len(j.Sources) == 0 {
			return nil, usagef("channel %q has no sources: give --source NAME=MPD_URL", j.Channel)
		}
		for _, s := range j.Sources {
			u, err := url.Parse(s.MPDURL)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, usagef("source %s: %q is not an http(s) MPD URL", s.Name, s.MPDURL)
			}
		}
	}
	return jobs, nil
}
