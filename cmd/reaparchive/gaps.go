package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/repair"
)

// rangeFlags are --from/--to/--last of gaps and repair: optional, as
// export-vod's (RFC 3339, or the last DURATION up to now).
type rangeFlags struct {
	from, to string
	last     time.Duration
}

func (r *rangeFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&r.from, "from", "", "range start, RFC 3339 or epoch seconds (with --to)")
	f.StringVar(&r.to, "to", "", "range end, RFC 3339 or epoch seconds (with --from)")
	durationFlag(f, &r.last, "last", 0, positive, "range: the last DURATION up to now")
}

// times returns the range [from, to); both zero when no range is given
// (the whole archive).
func (r *rangeFlags) times() (from, to time.Time, err error) {
	switch {
	case r.last > 0 && (r.from != "" || r.to != ""):
		return from, to, usagef("give either --from/--to or --last, not both")
	case r.last > 0:
		to = time.Now()
		return to.Add(-r.last), to, nil
	case r.from == "" && r.to == "":
		return from, to, nil
	case r.from == "" || r.to == "":
		return from, to, usagef("give --from T and --to T together (or --last DURATION)")
	}
	if from, err = parseTimeFlag("from", r.from); err != nil {
		return from, to, err
	}
	if to, err = parseTimeFlag("to", r.to); err != nil {
		return from, to, err
	}
	if !to.After(from) {
		return from, to, usagef("empty range: --to %s is not after --from %s", r.to, r.from)
	}
	return from, to, nil
}

func (a *app) gapsCmd() *cobra.Command {
	var (
		channel string
		rf      rangeFlags
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "gaps --store URL --index PATH [--channel NAME] [--from T --to T | --last D] [--json]",
		Short: "List every gap (K missing from every source) per channel and track, with the sources tried",
		Long: `gaps lists, per channel and track, every run of epoch indexes K between the
first and the last stored segment that no source delivered: the K range, its
wall-clock span [from, to), its duration, and which sources were tried (what
the index recorded for those K: missing, rejected, and the latest reason).
--from/--to or --last keep the gaps overlapping that range (clipped to it).

--json prints {"gaps":[{"channel","rep","content_type","from","to","segments",
"from_time","to_time","duration_seconds","tried":[{"source","outcomes","detail"}]}]}.`,
		Example: `  reaparchive gaps --store file://./archive --index archive.db
  reaparchive gaps --store file://./archive --index archive.db --channel news --last 24h --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			from, to, err := rf.times()
			if err != nil {
				return err
			}
			ar, closeFn, err := a.openArchive(ctx, readArchive)
			if err != nil {
				return err
			}
			defer closeFn()
			var names []string
			if channel != "" {
				if err := checkChannel(ctx, ar.DB, channel); err != nil {
					return err
				}
				names = []string{channel}
			} else {
				chans, err := ar.DB.Channels(ctx)
				if err != nil {
					return err
				}
				for _, c := range chans {
					names = append(names, c.Name)
				}
			}
			all := []repair.Gap{}
			empty := map[string]bool{}
			for _, name := range names {
				has, err := hasSegments(ctx, ar.DB, name)
				if err != nil {
					return err
				}
				empty[name] = !has
				gaps, err := repair.Find(ctx, ar.DB, name, from, to)
				if err != nil {
					return err
				}
				all = append(all, gaps...)
			}
			if asJSON {
				return a.printJSON(struct {
					Gaps []repair.Gap `json:"gaps"`
				}{all})
			}
			printGaps(a, names, empty, all)
			return nil
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "only this channel (default: every channel)")
	rf.add(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printGaps(a *app, channels []string, empty map[string]bool, gaps []repair.Gap) {
	if len(channels) == 0 {
		fmt.Fprintln(a.stdout, "no channels recorded")
		return
	}
	for _, ch := range channels {
		if empty[ch] {
			fmt.Fprintf(a.stdout, "channel %s: no segments recorded\n", ch)
			continue
		}
		var n, segs, fillers int64
		var dur time.Duration
		tracks := map[string]bool{}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		for _, g := range gaps {
			if g.Channel != ch {
				continue
			}
			if n == 0 {
				fmt.Fprintf(a.stdout, "channel %s\n", ch)
				fmt.Fprintln(tw, "  REP\tK\tFROM\tTO\tDURATION\tTRIED")
			}
			n++
			tracks[g.Rep] = true
			segs += g.Segments
			dur += g.Duration
			k := fmt.Sprint(g.From)
			if g.To != g.From {
				k = fmt.Sprintf("%d-%d", g.From, g.To)
			}
			if g.Kind == repair.KindFiller {
				k += " (filler)" // stored, but only as an encoder's filler (slat)
				fillers += g.Segments
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", g.Rep, k, g.FromTime.Format(time.RFC3339), g.ToTime.Format(time.RFC3339), g.Duration, triedText(g.Tried))
		}
		tw.Flush()
		if n == 0 {
			fmt.Fprintf(a.stdout, "channel %s: no gaps\n", ch)
			continue
		}
		fmt.Fprintf(a.stdout, "  %s in %s: %s (%s) missing", plural(n, "gap"), plural(int64(len(tracks)), "track"), plural(segs, "segment"), dur)
		if fillers > 0 {
			fmt.Fprintf(a.stdout, ", %d of them stored only as an encoder filler (slat)", fillers)
		}
		fmt.Fprintln(a.stdout)
	}
}

// triedText is "a: missing 2; b: missing 1, rejected 1 (reason)".
func triedText(ts []repair.Tried) string {
	if len(ts) == 0 {
		return "(no source tried)"
	}
	var parts []string
	for _, t := range ts {
		var os []string
		for _, o := range []string{"missing", "rejected", "conflict", "duplicate", "stored"} {
			if n := t.Outcomes[o]; n > 0 {
				os = append(os, fmt.Sprintf("%s %d", o, n))
			}
		}
		parts = append(parts, t.Source+": "+strings.Join(os, ", "))
	}
	return strings.Join(parts, "; ")
}
