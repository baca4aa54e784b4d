package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/archive"
)

func (a *app) statusCmd() *cobra.Command {
	var (
		channel string
		asJSON  bool
	)
	cmd := &cobra.Command{
		Use:   "status --store URL --index PATH [--channel NAME] [--json]",
		Short: "Show per channel and track: first/last segment, gaps, duplicates and conflicts",
		Long: `status prints, per channel, one line per track (Representation):

  REP         the Representation id
  TYPE        video, audio, text or metadata
  FIRST LAST  the first and the last stored epoch index K
  FROM TO     the wall-clock span [FROM, TO): the start of the first stored
              segment and the end of the last one (exclusive, so
              export-vod --from FROM --to TO exports every stored segment)
  SEGMENTS    stored segments
  GAPS        K between FIRST and LAST that no source delivered
  DUPLICATES  later copies of a stored K with the same timing
  CONFLICTS   later copies of a stored K with different timing

then each gap's K range, the K stored only as an encoder's filler (styp
brand slat), for each text track how many issues the cue check found in
its stored segments ("text issues": cues out of order or overlapping,
segments off the epoch grid, malformed cues; verify lists them), where a
track ended cleanly (its last segment carried lmsg: "ended at K … (lmsg)"),
and per source and track its deliveries: stored
first, duplicates (bit-identical among them), conflicts, missing, rejected,
and how many of them were fillers.
A channel with no stored segment says "no segments recorded".

--json prints {"channels":[{"name","preferred_source","tracks":[{"rep",
"content_type","codecs","first","last","first_time","last_time","end_time",
"segments","gaps":[{"from","to"}],"duplicates","conflicts","sources":[{"name",
"stored","duplicates","identical","conflicts","missing","rejected","fillers"}],
"fillers","ended","ended_time","text_issues"}]}]}:
first and last are K, first_time and last_time the starts of those
segments, end_time the end of the last one (RFC 3339); ended is the K of
the last segment with lmsg and ended_time its end (absent if none);
text_issues is the cue check's count (text tracks only).

With a retention policy (retention: in --config) status prints it and where
the archive starts ("retention 7d: archive starts at …"); --json has the
channel's "retention" (as configured) and each track's "archive_start"
(RFC 3339: its first stored segment, or the start the last prune set if
later; segments before it are expired, a hold may keep some) and "pruned"
(true once a prune set the start).`,
		Example: `  reaparchive status --store file://./archive --index archive.db
  reaparchive status --store file://./archive --index archive.db --channel news --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
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
			rep, err := ar.Status(ctx, channel)
			if err != nil {
				return err
			}
			a.addRetention(&rep)
			if asJSON {
				return a.printJSON(rep)
			}
			printStatus(a, rep)
			return nil
		},
	}
	cmd.Flags().StringVar(&channel, "channel", "", "only this channel")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStatus(a *app, rep archive.StatusReport) {
	if len(rep.Channels) == 0 {
		fmt.Fprintln(a.stdout, "no channels recorded")
		return
	}
	for _, ch := range rep.Channels {
		if !recorded(ch) {
			fmt.Fprintf(a.stdout, "channel %s: no segments recorded\n", ch.Name)
			continue
		}
		fmt.Fprintf(a.stdout, "channel %s\n", ch.Name)
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  REP\tTYPE\tFIRST\tLAST\tFROM\tTO\tSEGMENTS\tGAPS\tDUPLICATES\tCONFLICTS")
		for _, t := range ch.Tracks {
			gaps := 0
			for _, g := range t.Gaps {
				gaps += int(g.To - g.From + 1)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%d\t%s\t%s\t%d\t%d\t%d\t%d\n", t.Rep, t.ContentType, t.First, t.Last, t.FirstTime, t.EndTime, t.Segments, gaps, t.Duplicates, t.Conflicts)
		}
		tw.Flush()
		printRetention(a, ch)
		for _, t := range ch.Tracks {
			for _, g := range t.Gaps {
				if g.From == g.To {
					fmt.Fprintf(a.stdout, "  gap %s: K %d\n", t.Rep, g.From)
				} else {
					fmt.Fprintf(a.stdout, "  gap %s: K %d-%d\n", t.Rep, g.From, g.To)
				}
			}
			if t.Fillers > 0 {
				fmt.Fprintf(a.stdout, "  fillers %s: %d K stored only as an encoder filler (slat)\n", t.Rep, t.Fillers)
			}
			if t.TextIssues != nil {
				fmt.Fprintf(a.stdout, "  text issues %s: %d (cue order, grid alignment, malformed cues; verify lists them)\n", t.Rep, *t.TextIssues)
			}
			if t.Ended != nil {
				fmt.Fprintf(a.stdout, "  %s ended at K %d, %s (lmsg)", t.Rep, *t.Ended, t.EndedTime)
				if *t.Ended < t.Last {
					fmt.Fprintf(a.stdout, "; recording went on to K %d", t.Last) // the encoder started again
				}
				fmt.Fprintln(a.stdout)
			}
			for _, s := range t.Sources {
				fmt.Fprintf(a.stdout, "  source %s %s: stored %d, duplicates %d (%d bit-identical), conflicts %d, missing %d, rejected %d",
					s.Name, t.Rep, s.Stored, s.Duplicates, s.Identical, s.Conflicts, s.Missing, s.Rejected)
				if s.Fillers > 0 {
					fmt.Fprintf(a.stdout, ", fillers %d", s.Fillers)
				}
				fmt.Fprintln(a.stdout)
			}
		}
	}
}

// addRetention adds the channels' retention policies (the config's).
func (a *app) addRetention(rep *archive.StatusReport) {
	for i := range rep.Channels {
		if c, ok := a.cfg.channel(rep.Channels[i].Name); ok {
			rep.Channels[i].Retention = c.Retention
		}
	}
}

// printRetention says where the channel's archive starts, when it has a
// retention policy or was pruned.
func printRetention(a *app, ch archive.ChannelStatus) {
	start, pruned := "", false
	for _, t := range ch.Tracks {
		if t.ArchiveStart != "" && (start == "" || t.ArchiveStart < start) {
			start = t.ArchiveStart
		}
		pruned = pruned || t.Pruned
	}
	switch {
	case ch.Retention != "":
		fmt.Fprintf(a.stdout, "  retention %s: archive starts at %s\n", ch.Retention, start)
	case pruned:
		fmt.Fprintf(a.stdout, "  pruned: archive starts at %s\n", start)
	}
}

// recorded reports whether any track of the channel has a segment.
func recorded(ch archive.ChannelStatus) bool {
	for _, t := range ch.Tracks {
		if t.Segments > 0 {
			return true
		}
	}
	return false
}
