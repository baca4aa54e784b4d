package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/archive"
)

func (a *app) exportCmd() *cobra.Command {
	var (
		o          archive.ExportOptions
		from, to   string
		last       time.Duration
		asJSON     bool
		formatList string
	)
	cmd := &cobra.Command{
		Use:   "export-vod --store URL --index PATH --channel NAME (--from T --to T | --last DURATION) --out URL [--copy] [--base-url URL]",
		Short: "Publish a static DASH presentation of a time range of the archive",
		Long: `export-vod writes a static DASH MPD (SegmentTimeline, presentationTimeOffset so
the VoD starts at 0) for every segment overlapping [--from, --to) or the last
--last DURATION. --out is a store URL: ending in .mpd it names the MPD,
otherwise it is a directory that gets manifest.mpd.

By default the MPD references the archived objects in place (zero copy); when
--out is not in the archive's store give --base-url, the URL the archive's
objects are served from. --copy writes a self-contained package instead.
Missing segments are gaps in the SegmentTimeline. The same archive and range
give a byte-identical MPD.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if o.Channel == "" {
				return usagef("--channel is required")
			}
			if o.Out == "" {
				return usagef("--out is required")
			}
			if formatList != "dash" {
				return usagef("--format %q: only dash is supported", formatList)
			}
			switch {
			case last > 0 && (from != "" || to != ""):
				return usagef("give either --from/--to or --last, not both")
			case last > 0:
				o.To = time.Now()
				o.From = o.To.Add(-last)
			case from != "" && to != "":
				var err error
				if o.From, err = time.Parse(time.RFC3339, from); err != nil {
					return usagef("--from %q: want RFC 3339 time such as 2026-11-21T10:00:00Z", from)
				}
				if o.To, err = time.Parse(time.RFC3339, to); err != nil {
					return usagef("--to %q: want RFC 3339 time such as 2026-11-21T11:00:00Z", to)
				}
			default:
				return usagef("give --from T --to T, or --last DURATION")
			}
			ar, closeFn, err := a.openArchive(ctx, true)
			if err != nil {
				return err
			}
			defer closeFn()
			res, err := ar.ExportVoD(ctx, o)
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(a.stdout).Encode(res)
			}
			fmt.Fprintf(a.stdout, "wrote %s: %d tracks, %d segments, %d gaps, %d periods, %s\n", res.MPD, res.Tracks, res.Segments, res.Gaps, res.Periods, res.Duration)
			if res.Copied > 0 {
				fmt.Fprintf(a.stdout, "copied %d objects beside it\n", res.Copied)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Channel, "channel", "", "channel name")
	f.StringVar(&from, "from", "", "range start, RFC 3339")
	f.StringVar(&to, "to", "", "range end, RFC 3339")
	f.DurationVar(&last, "last", 0, "range: the last DURATION up to now")
	f.StringVar(&o.Out, "out", "", "where to write: a store URL (…/name.mpd, or a directory)")
	f.BoolVar(&o.Copy, "copy", false, "copy the referenced objects beside the MPD (self-contained package)")
	f.StringVar(&o.BaseURL, "base-url", "", "URL the archive's objects are served from (zero-copy export outside the archive's store)")
	f.StringVar(&formatList, "format", "dash", "output formats (dash)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
