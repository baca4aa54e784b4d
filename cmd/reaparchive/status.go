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
		Args:  noArgs,
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
		for _, t := range ch.Tracks {
			for _, g := range t.Gaps {
				if g.From == g.To {
					fmt.Fprintf(a.stdout, "  gap %s: K %d\n", t.Rep, g.From)
				} else {
					fmt.Fprintf(a.stdout, "  gap %s: K %d-%d\n", t.Rep, g.From, g.To)
				}
			}
			for _, s := range t.Sources {
				fmt.Fprintf(a.stdout, "  source %s %s: stored %d, duplicates %d (%d bit-identical), conflicts %d, missing %d, rejected %d\n",
					s.Name, t.Rep, s.Stored, s.Duplicates, s.Identical, s.Conflicts, s.Missing, s.Rejected)
			}
		}
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
