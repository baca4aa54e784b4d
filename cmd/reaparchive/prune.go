package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/prune"
)

// parseRetention parses a retention policy: a duration (parseDuration)
// of more than zero.
func parseRetention(s string) (time.Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: must be more than zero: %s", s, durationExamples)
	}
	return d, nil
}

// retentionPolicies are the retention policies of the channels only, or
// of every channel of the index: --retention (flag) wins over the
// config's retention:. A channel without a policy is left out.
func (a *app) retentionPolicies(ctx context.Context, ar *archive.Archive, only string, flag time.Duration) (map[string]time.Duration, error) {
	names := []string{only}
	if only == "" {
		chans, err := ar.DB.Channels(ctx)
		if err != nil {
			return nil, err
		}
		names = names[:0]
		for _, c := range chans {
			names = append(names, c.Name)
		}
	}
	return a.policiesOf(names, flag), nil
}

// policiesOf are the retention policies of the channels names: flag (if
// set) or the config's; a channel without one is left out, unless the
// config has retention_min_free (its policy is then 0: only the disk's
// free space prunes it).
func (a *app) policiesOf(names []string, flag time.Duration) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, n := range names {
		d := a.cfg.retention(n)
		if flag > 0 {
			d = flag
		}
		if d > 0 || (a.cfg.minFree != minFree{}) {
			out[n] = d
		}
	}
	return out
}

// pruneReport is prune's --json output.
type pruneReport struct {
	DryRun   bool           `json:"dry_run"`
	Channels []prune.Result `json:"channels"`
}

func (a *app) pruneCmd() *cobra.Command {
	var (
		channel   string
		retention time.Duration
		dryRun    bool
		asJSON    bool
	)
	cmd := &cobra.Command{
		Use:   "prune --store URL --index PATH [--channel NAME] [--retention D] [--dry-run] [--json]",
		Short: "Delete what the channels' retention policies let go (one-shot, for cron)",
		Long: `prune applies each channel's retention policy (retention: in --config, or
--retention for every channel pruned) once: it deletes the media segments
that end at or before now minus the retention (the horizon), except inside
active holds, then what no remaining segment needs (init segments, I-MPDs
superseded for every representation they describe, slate fillers,
quarantined objects, splices whose range has expired, index objects), and
the index rows that follow. It is crash-safe and idempotent: an
interrupted prune finishes on the next run (LAYOUT.md, Retention and
deletion order). record prunes the same way while it runs.

--dry-run counts what would be deleted and changes nothing. On a terminal
prune shows its progress on stderr; otherwise it is quiet. It prints per
channel what it deleted and where each track's archive now starts; --json
prints {"dry_run", "channels":[{"channel","retention","horizon","dry_run",
"complete","deleted":{"objects","segments","inits","impds","fillers",
"quarantined","splices","index_objects","markers"},"holds","tracks":[{"rep",
"archive_start_k","archive_start","held_segments"}]}]}.

Exit 0 when every channel was pruned, 1 when one failed (the others are
still pruned; run it again), 2 on bad usage (also when no channel has a
policy).`,
		Example: `  reaparchive prune --config archive.yaml
  reaparchive prune --store file://./archive --index archive.db --channel news --retention 7d --dry-run`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runPrune(cmd.Context(), channel, retention, dryRun, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&channel, "channel", "", "only this channel (default: every channel with a policy)")
	durationFlag(f, &retention, "retention", 0, positive, "keep this long (7d, 36h, 2m), for every channel pruned (default: retention: of each channel in --config)")
	f.BoolVar(&dryRun, "dry-run", false, "count what would be deleted; delete nothing")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	return cmd
}

func (a *app) runPrune(ctx context.Context, channel string, retention time.Duration, dryRun, asJSON bool) error {
	ar, closeFn, err := a.openArchive(ctx, readArchive)
	if err != nil {
		return err
	}
	defer closeFn()
	if channel != "" {
		if err := checkChannel(ctx, ar.DB, channel); err != nil {
			return err
		}
	}
	policies, err := a.retentionPolicies(ctx, ar, channel, retention)
	if err != nil {
		return err
	}
	if len(policies) == 0 {
		return usagef("no retention policy: give --retention, or retention: for the channel (or retention_min_free:) in --config")
	}
	minFreeH, err := a.minFreeHorizon(ctx, ar)
	if err != nil {
		return err
	}
	rep := pruneReport{DryRun: dryRun, Channels: []prune.Result{}}
	var failed []string
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		if policies[name] == 0 && minFreeH.IsZero() {
			continue // only retention_min_free, and the disk has room
		}
		opts := prune.Options{Channel: name, Retention: policies[name], Horizon: minFreeH, DryRun: dryRun, Log: a.log}
		if isTerminal(a.stderr) {
			opts.Progress = pruneProgress(a.stderr, name)
		}
		res, err := prune.Channel(ctx, ar.Store, ar.DB, opts)
		if opts.Progress != nil {
			fmt.Fprint(a.stderr, "\r\033[K")
		}
		if err != nil {
			a.log.Error("prune failed; run it again to finish", "channel", name, "err", err)
			failed = append(failed, name)
		}
		rep.Channels = append(rep.Channels, res)
	}
	if asJSON {
		err = a.printJSON(rep)
	} else {
		printPrune(a.stdout, rep)
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return exitCodeError{code: exitFailure, msg: fmt.Sprintf("prune of %v failed (see the log); run it again to finish", failed)}
	}
	return nil
}

// pruneProgress shows on a terminal how many objects were deleted.
func pruneProgress(w io.Writer, channel string) func(int) {
	return func(n int) { fmt.Fprintf(w, "\r\033[Kprune %s: %d objects deleted", channel, n) }
}

func printPrune(w io.Writer, rep pruneReport) {
	verb := "deleted"
	if rep.DryRun {
		verb = "would delete"
	}
	for _, c := range rep.Channels {
		d := c.Deleted
		fmt.Fprintf(w, "channel %s: retention %s, horizon %s: %s %s (%d segments, %d inits, %d I-MPDs, %d fillers, %d quarantined, %d splices, %d index objects, %d old expiry markers)\n",
			c.Channel, c.Retention, c.Horizon.Format(time.RFC3339), verb, plural(int64(d.Objects), "object"),
			d.Segments, d.Inits, d.IMPDs, d.Fillers, d.Quarantined, d.Splices, d.IndexObjects, d.Markers)
		for _, t := range c.Tracks {
			fmt.Fprintf(w, "  %s: archive starts at %s (K %d)", t.Rep, t.ArchiveStart, t.ArchiveStartK)
			if t.HeldSegments > 0 {
				fmt.Fprintf(w, "; %s before it kept by %s", plural(t.HeldSegments, "segment"), plural(int64(c.Holds), "hold"))
			}
			fmt.Fprintln(w)
		}
		if !c.Complete && !c.DryRun {
			fmt.Fprintln(w, "  not finished: run prune again")
		}
	}
}
