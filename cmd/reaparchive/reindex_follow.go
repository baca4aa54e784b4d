package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/reconcile"
)

// followFlags are reindex's --follow flags.
type followFlags struct {
	follow    bool
	interval  time.Duration
	fullEvery time.Duration
}

const followLong = `

With --follow, reindex keeps running and keeps the index current from the
store alone, for a serving node whose index no recorder writes (serve over
the same --index, in another process: the index is SQLite in WAL mode, one
writer and any number of readers). The first pass is a full reindex; then
every --interval (default: half the shortest segment duration) a fast pass
lists, per channel, <channel>/ (I-MPDs, representations, splice records),
and per representation only the keys of the K from a minute before its
newest indexed segment, and from a minute before the clock's K, to the
clock's K (a listing with the prefix of their common leading digits: at
most two listings of at most a few hundred keys each), then its init
segments, and indexes what the last pass did not list, as reindex does;
a new channel is listed whole. It also lists up to 4 of each track's gaps
in the index, in turn, each with one request starting at the gap: a copy
stored late into a gap (repair --fill-from, a slow encoder) is indexed
within ceil(gaps/4) passes. Every --full-every, a pass is a full reindex
again: it takes what fast passes do not look for (a copy of a K before a
track's first segment, a real copy of an encoder's filler). Every pass also follows what the store let go: a newer expiry
marker (<channel>/expired-<unix>.json, or the configured retention) removes
the rows before the archive's start outside the active holds, a splice
whose record is gone is undone in the index, and an init segment row whose
object is gone and that no row decodes with is deleted. It runs until
SIGINT/SIGTERM; --json prints one line per pass.`

// define defines the --follow flags on cmd.
func (ff *followFlags) define(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&ff.follow, "follow", false, "keep running: follow the store, one pass every --interval")
	durationFlag(fs, &ff.interval, "interval", 0, nonNegative, "with --follow: time between passes (0: half the shortest segment duration)")
	durationFlag(fs, &ff.fullEvery, "full-every", time.Hour, nonNegative, "with --follow: how often a pass is a full reindex (0: only the first)")
}

// check refuses the --follow flags without --follow.
func (ff *followFlags) check(cmd *cobra.Command) error {
	for _, name := range []string{"interval", "full-every"} {
		if !ff.follow && cmd.Flags().Changed(name) {
			return usagef("--%s is for --follow", name)
		}
	}
	return nil
}

// runFollow follows the store into ar's index until ctx ends. --json: a
// line per pass; else a line per pass that indexed something or found
// problems (with the problems), and errors of passes after the first in
// the log.
func (a *app) runFollow(ctx context.Context, ar *archive.Archive, opts reconcile.Options, ff *followFlags, asJSON bool) error {
	fo := reconcile.FollowOptions{Options: opts, Interval: ff.interval, FullEvery: ff.fullEvery}
	a.log.Info("following the store", "store", ar.Store.URL(), "index", a.indexPath, "interval", ff.interval, "full_every", ff.fullEvery)
	enc := json.NewEncoder(a.stdout)
	return reconcile.Follow(ctx, ar.Store, ar.DB, fo, func(p reconcile.FollowPass, err error) {
		if err != nil {
			a.log.Error("follow pass failed; the next pass is a full one", "pass", p.Pass, "err", err)
		}
		if asJSON {
			if err := enc.Encode(p); err != nil {
				a.log.Error("writing the pass", "err", err)
			}
			return
		}
		if p.Indexed == 0 && p.Splices == 0 && p.Undone == 0 && p.Removed == 0 && p.Problems == 0 && !p.Full {
			return
		}
		kind := "fast"
		if p.Full {
			kind = "full"
		}
		fmt.Fprintf(a.stdout, "pass %d (%s): %d indexed, %s applied, %s undone, %d expired rows removed, %s (%d list calls, %d keys listed, %.3f s)\n",
			p.Pass, kind, p.Indexed, plural(p.Splices, "splice"), plural(p.Undone, "splice"), p.Removed, plural(p.Problems, "problem"), p.ListCalls, p.Listed, p.Seconds)
		for _, c := range p.Channels {
			for _, pr := range c.Problems {
				fmt.Fprintf(a.stdout, "  %s: %s\n", c.Name, pr)
			}
		}
	})
}
