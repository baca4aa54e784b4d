package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/repair"
)

// repairFlags are the flags of repair.
type repairFlags struct {
	channelRange
	fillFrom string
	dryRun   bool
	asJSON   bool
	parallel int
}

// repairLong is repair's --help.
const repairLong = `repair fetches only the missing segments of the channel's gaps (all of them, or
those overlapping --from/--to or --last) from --fill-from:

  SOURCE             a source of the channel in --config (its mpd), or one
                     recorded in the index (its MPD URL)
  MPD_URL            a live or static MPD (http/https): an encoder or origin
                     that still has the segments in its time-shift window
  archive:STORE_URL  another archive, read by its layout (no listing, no index):
                     a recorder in another region, say

Each segment must match the track: the codec configuration of the track's
init around the gap, K, EPT and duration on the epoch grid (within one
sample) and an exact splice with the stored neighbours. It is then stored
create-only and indexed as if recorded, under the source name
repair.<name-or-host>. --parallel segments are fetched at once.

The report lists what was filled, what is still missing (the source does not
have it) and what was rejected, and why. The exit code is 0 only when nothing
it set out to fill is left; 1 when segments are still missing or were
rejected. Rerunning is harmless: filled segments are no longer gaps.
--dry-run fetches no segment (only the MPD) and writes nothing; it lists what
it would fetch from where, and exits 0.`

func (a *app) repairCmd() *cobra.Command {
	var rf repairFlags
	cmd := &cobra.Command{
		Use:   "repair --store URL --index PATH --channel NAME --fill-from SOURCE|MPD_URL|archive:STORE_URL [--from T --to T | --last D] [--dry-run] [--json]",
		Short: "Fill the gaps of a channel from another source: a live or static MPD, or another archive",
		Long:  repairLong,
		Example: `  reaparchive repair --store file://./archive --index archive.db --channel news --fill-from b --dry-run
  reaparchive repair --store file://./archive --index archive.db --channel news --last 2h \
    --fill-from http://origin.example/news/manifest.mpd
  reaparchive repair --store file://./archive --index archive.db --channel news --fill-from 'archive:s3://dr-archive?region=eu-west-1'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rf.requireChannel(); err != nil {
				return err
			}
			if rf.fillFrom == "" {
				return usagef("--fill-from is required: a source name, an MPD URL or archive:STORE_URL")
			}
			if rf.parallel < 1 {
				return usagef("--parallel %d: want at least 1", rf.parallel)
			}
			from, to, err := rf.times()
			if err != nil {
				return err
			}
			return a.runRepair(cmd.Context(), rf, from, to)
		},
	}
	f := cmd.Flags()
	rf.channelRange.add(cmd, "channel name")
	f.StringVar(&rf.fillFrom, "fill-from", "", "where to fetch missing segments: a source name (config or index), an MPD URL, or archive:STORE_URL")
	f.BoolVar(&rf.dryRun, "dry-run", false, "list what would be fetched from where; fetch no segment, write nothing")
	f.BoolVar(&rf.asJSON, "json", false, "print the report as JSON")
	f.IntVar(&rf.parallel, "parallel", repair.DefaultParallel, "segments fetched at once")
	return cmd
}

// runRepair fills the channel's gaps overlapping [from, to) and prints
// the report; anything left unfilled exits 1.
func (a *app) runRepair(ctx context.Context, rf repairFlags, from, to time.Time) error {
	ar, closeFn, err := a.openChannel(ctx, rf.channel)
	if err != nil {
		return err
	}
	defer closeFn()
	f, closeF, err := a.filler(ctx, ar, rf.channel, "--fill-from", rf.fillFrom)
	if err != nil {
		return err
	}
	defer closeF()
	rep, err := repair.Fill(ctx, ar, f, repair.Options{Channel: rf.channel, From: from, To: to, Parallel: rf.parallel, DryRun: rf.dryRun, Log: a.log})
	if err != nil {
		return err
	}
	if rf.asJSON {
		if err := a.printJSON(rep); err != nil {
			return err
		}
	} else {
		printRepair(a, rep)
	}
	if rf.dryRun || rep.Complete() {
		return nil
	}
	return exitCodeError{code: exitFailure, msg: fmt.Sprintf("%d segments still missing, %d rejected: %s could not fill them (see the report)",
		len(rep.Missing), len(rep.Rejected), rep.Source)}
}

// filler resolves a source argument (flag is its name, --fill-from or
// --with): a source name, an MPD URL or archive:STORE_URL.
func (a *app) filler(ctx context.Context, ar *archive.Archive, channel, flag, spec string) (repair.Filler, func(), error) {
	nop := func() {}
	if storeURL, ok := strings.CutPrefix(spec, "archive:"); ok {
		if storeURL == "" {
			return nil, nil, usagef("%s archive: needs a store URL, e.g. archive:s3://bucket?region=…", flag)
		}
		st, err := cloud.Open(ctx, storeURL)
		if err != nil {
			return nil, nil, usageError{fmt.Errorf("%s: %w", flag, err)}
		}
		if st.URL() == ar.Store.URL() {
			st.Close()
			return nil, nil, usagef("%s %s is this archive's own store", flag, spec)
		}
		return repair.NewStore(repair.NameFor(st.URL()), st), func() { st.Close() }, nil
	}
	name, mpdURL := "", spec
	if u, err := url.Parse(spec); err != nil || u.Scheme == "" || u.Host == "" {
		// A source name: the config's, else the one the index recorded.
		name = spec
		mpdURL = ""
		if cc, ok := a.cfg.channel(channel); ok {
			for _, s := range cc.Sources {
				if s.Name == spec {
					if s.MPD == "" {
						return nil, nil, usagef("%s %s: config source %s of channel %s is a push source; it has no MPD to fetch from", flag, spec, spec, channel)
					}
					mpdURL = s.MPD
				}
			}
		}
		if mpdURL == "" {
			var known []string
			ch, err := ar.DB.Channel(ctx, channel)
			if err != nil {
				return nil, nil, err
			}
			srcs, err := ar.DB.Sources(ctx, ch.ID)
			if err != nil {
				return nil, nil, err
			}
			for _, s := range srcs {
				if s.URL == "" || strings.HasPrefix(s.URL, "archive:") {
					continue
				}
				if s.Name == spec {
					mpdURL = s.URL
				}
				known = append(known, s.Name)
			}
			if mpdURL == "" {
				return nil, nil, usagef("%s %q is not a pull source of channel %s (in --config or the index: %s), an http(s) MPD URL, or archive:STORE_URL",
					flag, spec, channel, orNone(known))
			}
		}
	} else if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil, usagef("%s %q: an MPD URL must be http or https (another archive is archive:%s)", flag, spec, spec)
	}
	if name == "" {
		name = repair.NameFor(mpdURL)
	} else if !strings.HasPrefix(name, "repair.") {
		name = "repair." + name
	}
	m, err := repair.OpenMPD(ctx, name, mpdURL, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", flag, spec, err)
	}
	return m, nop, nil
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

func printRepair(a *app, r *repair.Report) {
	w := a.stdout
	if r.Wanted == 0 {
		fmt.Fprintf(w, "nothing to repair: channel %s has no gaps in the range\n", r.Channel)
		return
	}
	tracks := map[string]bool{}
	for _, g := range r.Gaps {
		tracks[g.Rep] = true
	}
	verb := "repairing"
	if r.DryRun {
		verb = "dry run: would repair"
	}
	fmt.Fprintf(w, "%s channel %s from %s (as source %s): %d missing segments in %d gaps of %d tracks\n",
		verb, r.Channel, r.Source, r.SourceName, r.Wanted, len(r.Gaps), len(tracks))
	line := func(what string, it repair.Item, extra string) {
		fmt.Fprintf(w, "  %-9s %s K %d (%s)%s\n", what, it.Rep, it.K, it.Time.Format(time.RFC3339), extra)
	}
	for _, it := range r.Planned {
		line("would get", it, " from "+it.From)
	}
	for _, it := range r.Filled {
		extra := " from " + it.From
		if it.Reason != "" {
			extra += ": " + it.Reason
		}
		line("filled", it, extra)
	}
	for _, it := range r.Missing {
		line("missing", it, ": "+it.Reason)
	}
	for _, it := range r.Rejected {
		line("rejected", it, ": "+it.Reason)
	}
	switch {
	case r.DryRun:
		fmt.Fprintf(w, "dry run: would fetch %d, %d unavailable, %d rejected; nothing was fetched or written\n", len(r.Planned), len(r.Missing), len(r.Rejected))
	case r.Complete():
		fmt.Fprintf(w, "filled %d of %d: no gap left\n", len(r.Filled), r.Wanted)
	default:
		fmt.Fprintf(w, "filled %d of %d; still missing %d (the source does not have them), rejected %d (they do not match the track): gaps remain\n",
			len(r.Filled), r.Wanted, len(r.Missing), len(r.Rejected))
	}
}
