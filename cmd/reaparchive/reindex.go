package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/reconcile"
)

func (a *app) reindexCmd() *cobra.Command {
	var (
		channel string
		asJSON  bool
		workers int
		noIdx   bool
		ff      followFlags
	)
	cmd := &cobra.Command{
		Use:   "reindex --store URL --index PATH [--channel NAME] [--json]",
		Short: "Rebuild the index from the store alone, or bring it up to date",
		Long: `reindex builds the SQLite index from the store (storage is the truth,
LAYOUT.md): it lists the store by prefix, one level at a time and paged,
reads every init segment and the newest I-MPD of each representation, and
for each media segment the index does not have yet its attributes (reap-ept,
reap-dur, reap-sha256, reap-init, reap-segdur), reading and parsing the
object only when they are missing, when it carries emsg events (indexed as
the recorder does) or when it is a segment of a text track (its cues are
checked as the recorder does; status counts the issues, verify lists them).
Where the store has index objects (<channel>/<rep>/index/, which record
writes for every complete hour), reindex takes those attributes from them
instead, for each object they list with the size the listing gives: one read
per representation and hour instead of one per object. An index object that
cannot be read is listed and ignored; --no-index-objects ignores them all.
It records where each channel's archive starts when retention pruned it
(its newest expiry marker, or now minus retention: of the channel in
--config, whichever is later): the K before it are then no gaps.
--index may name a new file or an
existing index: rows it has are kept, and only what is missing is added, in
batches, so an interrupted reindex continues where it stopped when run again.
Per-source delivery history (duplicates, conflicts, missing) lives only in
the index of the recorder that saw it and is not rebuilt.

Objects that cannot be indexed (not a segment of the track, an EPT that is
not the K of the key, the bytes contradicting reap-sha256) are listed; verify
exits 1 for them. Progress is shown on a terminal.` + followLong,
		Example: `  reaparchive reindex --store file://./archive --index rebuilt.db
  reaparchive reindex --store s3://archive?region=eu-west-1 --index archive.db --channel news --json
  reaparchive reindex --store s3://archive?region=eu-west-1 --index origin.db --follow`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if workers < 1 {
				return usagef("--workers %d: want at least 1", workers)
			}
			if err := ff.check(cmd); err != nil {
				return err
			}
			ar, closeFn, err := a.openArchive(ctx, rebuildIndex)
			if err != nil {
				return err
			}
			defer closeFn()
			opts := reconcile.Options{Channel: channel, Workers: workers, IgnoreIndexObjects: noIdx, Retention: a.cfg.retentions()}
			if isTerminal(a.stderr) {
				opts.Progress = progressLine(a.stderr, "reindex")
			}
			if ff.follow {
				return a.runFollow(ctx, ar, opts, &ff, asJSON)
			}
			res, err := reconcile.Reindex(ctx, ar.Store, ar.DB, opts)
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(res)
			}
			a.printReindex(res)
			return nil
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "only this channel (default: every channel in the store)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the summary as JSON")
	cmd.Flags().IntVar(&workers, "workers", 16, "objects read at once")
	cmd.Flags().BoolVar(&noIdx, "no-index-objects", false, "read every object's attributes, not the store's index objects")
	ff.define(cmd)
	return cmd
}

// printReindex prints a reindex's summary, a line per channel and one per
// problem.
func (a *app) printReindex(res reconcile.ReindexResult) {
	if len(res.Channels) == 0 {
		fmt.Fprintln(a.stdout, "no channels in the store")
	}
	for _, c := range res.Channels {
		fmt.Fprintf(a.stdout, "channel %s: %s, %s (%d new), %s: %d indexed, %d already indexed, %d read for lack of attributes or for their events or cues, %s applied, %s, %s; attributes of %d read from the store, of %d from %s\n",
			c.Name, plural(c.Tracks, "track"), plural(c.Inits, "init segment"), c.NewInits, plural(c.Objects, "media object"),
			c.Indexed, c.AlreadyIndexed, c.BodiesRead, plural(c.Splices, "splice"), plural(c.Events, "emsg event"), plural(c.TextIssues, "text issue"),
			c.AttributesRead, c.FromIndexObjects, plural(c.IndexObjects, "index object"))
		for _, p := range c.Problems {
			fmt.Fprintf(a.stdout, "  %s\n", p)
		}
	}
}

// progressLine returns a reconcile progress callback that keeps one line on
// a terminal up to date.
func progressLine(w io.Writer, what string) func(reconcile.Progress) {
	return func(p reconcile.Progress) {
		fmt.Fprintf(w, "\r\033[K%s %s: %d objects listed, %d done", what, p.Channel, p.Listed, p.Done)
		if p.Final {
			fmt.Fprint(w, "\r\033[K")
		}
	}
}
