package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/repair"
)

// spliceFlags are the flags of splice.
type spliceFlags struct {
	channelRange
	with       string
	sourceName string
	id         string
	undo       bool
	asJSON     bool
	parallel   int
}

// spliceLong is splice's --help.
const spliceLong = `splice replaces every stored segment of the channel overlapping --from/--to
(or --last) with the copy of the same K from --with:

  SOURCE             a source of the channel in --config (its mpd), or one
                     recorded in the index (its MPD URL)
  MPD_URL            a live or static MPD (http/https)
  archive:STORE_URL  another archive, read by its layout

Every replacement must fit the segment it replaces: the same codec
configuration, timescale and track ID, EPT and duration on the track's grid
for its K, an exact join with the neighbours (and, for video, a sync sample
first). If any K does not, nothing is written: the report lists each K and
why, and the exit code is 1. K that are gaps in the archive stay gaps.

Nothing is overwritten or deleted: the replacements go to
<channel>/<rep>/splice-<id>/<K>.<ext>, init segments the store lacks to their
usual keys, and a record <channel>/splice-<id>.json; the index's segment rows
then point at the replacements, and keep what they were in its history. The
originals stay at their keys. Exports play the replacements.

--undo undoes the latest active splice of the channel overlapping
--from/--to (or the one --id names): the segment rows are restored and the
splice's objects deleted, so the store and the index are as before it.
--json prints the report.`

func (a *app) spliceCmd() *cobra.Command {
	var sf spliceFlags
	cmd := &cobra.Command{
		Use:   "splice --store URL --index PATH --channel NAME --from T --to T --with SOURCE|MPD_URL|archive:STORE_URL | --undo (--id ID | --from T --to T)",
		Short: "Replace a range of a channel with segments from another source (a blackout, a corrected feed); --undo restores it",
		Long:  spliceLong,
		Example: `  reaparchive splice --store file://./archive --index archive.db --channel news \
    --from 2026-11-21T10:00:00Z --to 2026-11-21T10:05:00Z --with http://backup.example/news/manifest.mpd
  reaparchive splice --store file://./archive --index archive.db --channel news --undo --id 0123456789abcdef`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sf.requireChannel(); err != nil {
				return err
			}
			from, to, err := sf.times()
			if err != nil {
				return err
			}
			if err := sf.check(from); err != nil {
				return err
			}
			return a.runSplice(cmd.Context(), sf, from, to)
		},
	}
	f := cmd.Flags()
	sf.channelRange.add(cmd, "channel name")
	f.StringVar(&sf.with, "with", "", "where the replacements come from: a source name (config or index), an MPD URL, or archive:STORE_URL")
	f.StringVar(&sf.sourceName, "source-name", "", "reap-source of the replacements (default splice.<source>)")
	f.BoolVar(&sf.undo, "undo", false, "undo a splice: the latest active one overlapping --from/--to, or --id")
	f.StringVar(&sf.id, "id", "", "with --undo: the splice to undo")
	f.BoolVar(&sf.asJSON, "json", false, "print the report as JSON")
	f.IntVar(&sf.parallel, "parallel", repair.DefaultParallel, "segments fetched at once")
	return cmd
}

// check checks the flags that go with --undo, or without it (from is
// the range's start, zero when none is given).
func (sf *spliceFlags) check(from time.Time) error {
	if sf.undo {
		switch {
		case sf.with != "" || sf.sourceName != "":
			return usagef("--undo takes no --with or --source-name")
		case sf.id == "" && from.IsZero():
			return usagef("--undo needs --id ID or --from T --to T (the range of the splice to undo)")
		case sf.id != "" && !from.IsZero():
			return usagef("give --undo either --id or --from/--to, not both")
		case sf.id != "":
			if err := layout.ValidSpliceID(sf.id); err != nil {
				return usageError{fmt.Errorf("--id: %w", err)}
			}
		}
		return nil
	}
	switch {
	case sf.id != "":
		return usagef("--id is for --undo")
	case sf.with == "":
		return usagef("--with is required: a source name, an MPD URL or archive:STORE_URL")
	case from.IsZero():
		return usagef("--from T --to T (or --last D) is required: the range to replace")
	case sf.parallel < 1:
		return usagef("--parallel %d: want at least 1", sf.parallel)
	}
	if sf.sourceName != "" {
		if err := layout.ValidName("source", sf.sourceName); err != nil {
			return usageError{fmt.Errorf("--source-name: %w", err)}
		}
	}
	return nil
}

// runSplice splices [from, to) of the channel, or undoes a splice, and
// prints the report; a refused splice exits 1.
func (a *app) runSplice(ctx context.Context, sf spliceFlags, from, to time.Time) error {
	ar, closeFn, err := a.openChannel(ctx, sf.channel)
	if err != nil {
		return err
	}
	defer closeFn()
	var rep *repair.SpliceReport
	if sf.undo {
		rep, err = repair.UndoSplice(ctx, ar, repair.UndoOptions{Channel: sf.channel, ID: sf.id, From: from, To: to, Log: a.log})
	} else {
		f, closeF, ferr := a.filler(ctx, ar, sf.channel, "--with", sf.with)
		if ferr != nil {
			return ferr
		}
		defer closeF()
		rep, err = repair.Splice(ctx, ar, f, repair.SpliceOptions{Channel: sf.channel, From: from, To: to,
			SourceName: sf.sourceName, Parallel: sf.parallel, Log: a.log})
	}
	rejected := errors.Is(err, repair.ErrSpliceRejected)
	if err != nil && !rejected {
		if errors.Is(err, repair.ErrNoSplice) || errors.Is(err, index.ErrSpliceUndone) || errors.Is(err, index.ErrSpliceConflict) {
			return exitCodeError{code: exitFailure, msg: err.Error()}
		}
		return err
	}
	if sf.asJSON {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else {
		printSplice(a.stdout, rep, rejected)
	}
	if rejected {
		return exitCodeError{code: exitFailure, msg: err.Error()}
	}
	return nil
}

func printSplice(w io.Writer, r *repair.SpliceReport, rejected bool) {
	span := fmt.Sprintf("K %d-%d (%s to %s)", r.FromK, r.ToK, r.From.Format(time.RFC3339), r.To.Format(time.RFC3339))
	switch {
	case r.Undone:
		verb := "undid"
		if r.Resumed {
			verb = "finished undoing"
		}
		fmt.Fprintf(w, "%s splice %s of channel %s, %s, from %s: restored %d segment rows, deleted %d objects\n",
			verb, r.ID, r.Channel, span, r.Source, r.Restored, r.Deleted)
		return
	case rejected:
		fmt.Fprintf(w, "splice of channel %s %s from %s refused: nothing was written\n", r.Channel, span, r.Source)
		line := func(what string, it repair.Item) {
			from := ""
			if it.From != "" {
				from = " from " + it.From
			}
			fmt.Fprintf(w, "  %-8s %s K %d (%s)%s: %s\n", what, it.Rep, it.K, it.Time.Format(time.RFC3339), from, it.Reason)
		}
		for _, it := range r.Missing {
			line("missing", it)
		}
		for _, it := range r.Rejected {
			line("rejected", it)
		}
		return
	}
	fmt.Fprintf(w, "spliced channel %s %s from %s as source %s: splice %s\n", r.Channel, span, r.Source, r.SourceName, r.ID)
	for _, t := range r.Tracks {
		gaps := "no gaps"
		if len(t.Gaps) > 0 {
			var gs []string
			for _, g := range t.Gaps {
				if g.From == g.To {
					gs = append(gs, fmt.Sprint(g.From))
				} else {
					gs = append(gs, fmt.Sprintf("%d-%d", g.From, g.To))
				}
			}
			gaps = "not in the archive, left as gaps: K " + strings.Join(gs, ", ")
		}
		fmt.Fprintf(w, "  %-10s replaced %d segments under %s; %s\n", t.Rep, t.Replaced, t.Dir, gaps)
	}
	if len(r.InitsCreated) > 0 {
		fmt.Fprintf(w, "  init segments added: %s\n", strings.Join(r.InitsCreated, ", "))
	}
	fmt.Fprintf(w, "  record %s; the originals are unchanged; undo: reaparchive splice --channel %s --undo --id %s\n", r.Record, r.Channel, r.ID)
}
