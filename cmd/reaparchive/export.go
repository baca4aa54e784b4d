package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/export"
)

// exportFlags are export-vod's flags.
type exportFlags struct {
	o                        export.Options
	from, to                 string
	last                     time.Duration
	asJSON                   bool
	formatList, gaps, evMode string
}

// exportLong is export-vod --help.
const exportLong = `export-vod writes a static DASH MPD (SegmentTimeline, presentationTimeOffset so
the VoD starts at 0) and/or an HLS presentation (--format dash,hls: a
multivariant playlist and one fMP4 media playlist per track, with EXT-X-MAP,
EXT-X-PROGRAM-DATE-TIME from the epoch timeline, audio and subtitles as
renditions) for every segment overlapping [--from, --to) or the last --last
DURATION. --out is a store URL: ending in .mpd (or .m3u8) it names the MPD
(the multivariant playlist) and the other format gets the same name with its
extension; otherwise it is a directory that gets manifest.mpd and
manifest.m3u8. Media playlists are <name>-<rep>.m3u8 beside them.

By default the presentation references the archived objects in place (zero
copy); when --out is not in the archive's store give --base-url, the URL the
archive's objects are served from. --copy writes a self-contained package
instead. The same archive and range give byte-identical output. On a
terminal it shows its progress on stderr (objects written of the total).

A zero-copy export first writes a hold on its range (holds --help): prune
keeps the objects the presentation references until the hold is released
(holds release). It prints the hold's id. --copy exports need none and write
none; --no-hold writes none for those who manage holds themselves.

A gap is an epoch index K between the first and the last K of the range
that a track has no segment for. --gaps says how gaps are presented:

  signal (default)  one Period over the gap: a hole in the track's DASH
                    SegmentTimeline (a track with holes is addressed by a
                    SegmentList: players ignore S@n), EXT-X-GAP segments in
                    HLS. Players must jump the hole.
  split             the Period ends before the gap and a new one starts after
                    it (start and presentationTimeOffset at its first K), an
                    EXT-X-DISCONTINUITY in HLS. A K that any track misses is
                    a gap of the whole presentation: the other tracks'
                    segments at that K are left out, so every Period has
                    every track, each continuous.
  fill              every K a track misses gets a filler segment made from
                    the slate (--slate), re-timed to K; each run of fillers
                    is a Period (an EXT-X-DISCONTINUITY run with its own
                    EXT-X-MAP) of its own, so the timeline is continuous.

--slate is a store URL or a local directory holding the slate asset: one
single-track fragmented MP4 (CMAF track) file per content type (*.cmfv,
*.cmfa, *.cmft, *.mp4, *.m4v, *.m4a), encoded with the channel's settings
(codec, timescale, frame rate, sample rate, channels; a video GOP that
divides the segment duration), e.g. testdata/slate/. Fillers are stored
create-only at <channel>/<rep>/filler/<K>-<slate id>.m4s with their init at
<channel>/<rep>/filler/init-<hash>.mp4 and recorded in the index, so
reruns reuse them. An encoder restart with a new codec configuration inside
the range always starts a new Period (an HLS discontinuity).

--events says how the events (emsg boxes) of the range are signalled:
inband gives each AdaptationSet whose segments carry events an
InbandEventStream per scheme; eventstream writes the SCTE-35 events as an
MPD EventStream per Period (urn:scte:scte35:2014:xml+bin, Signal/Binary)
and as EXT-X-DATERANGE tags (SCTE35-OUT/-IN/-CMD) in the media playlists;
both (default) does both. Events before the range are left out; a break
still open at the range end has no Event@duration and only a
PLANNED-DURATION.

It prints what it wrote; --json prints {"channel","from","to","mpd","hls",
"tracks","segments","gaps","periods","fillers","fillers_created","omitted",
"copied","duration_seconds","hold_id"}: mpd and hls are where it wrote them (a local
path on a file store, else the URL; absent for a format not asked for), from
and to the range (RFC 3339), gaps the holes in the tracks, omitted the
segments left out, copied the objects --copy wrote, hold_id the id of the
hold on the range (absent when none was written).`

func (a *app) exportCmd() *cobra.Command {
	var f exportFlags
	cmd := &cobra.Command{
		Use:   "export-vod --store URL --index PATH --channel NAME (--from T --to T | --last DURATION) --out URL [--format dash,hls] [--gaps signal|split|fill [--slate URL]] [--events inband|eventstream|both] [--copy] [--base-url URL] [--no-hold]",
		Short: "Publish a static DASH and/or HLS presentation of a time range of the archive",
		Long:  exportLong,
		Example: `  reaparchive export-vod --store file://./archive --index archive.db --channel news \
    --last 1h --out file://./archive/vod/last-hour.mpd
  reaparchive export-vod --store file://./archive --index archive.db --channel news \
    --from 2026-11-21T10:00:00Z --to 2026-11-21T11:00:00Z --format dash,hls --out file:///srv/vod/match/ --copy
  reaparchive export-vod --store s3://archive?region=eu-west-1 --index news.db --channel news \
    --last 2h --gaps fill --slate testdata/slate --out s3://archive/vod/news.mpd?region=eu-west-1 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.parse(); err != nil {
				return err
			}
			if isTerminal(a.stderr) {
				f.o.Progress = exportProgress(a.stderr)
			}
			res, err := a.exportVoD(cmd.Context(), f.o)
			if err != nil {
				return exportFlagError(err, f.o)
			}
			if f.asJSON {
				return a.printJSON(exportJSON(f.o, res))
			}
			a.printExport(f.o, res)
			return nil
		},
	}
	f.define(cmd.Flags())
	return cmd
}

// define defines the flags on fs.
func (f *exportFlags) define(fs *pflag.FlagSet) {
	o := &f.o
	fs.StringVar(&o.Channel, "channel", "", "channel name")
	fs.StringVar(&f.from, "from", "", "range start, RFC 3339 or epoch seconds")
	fs.StringVar(&f.to, "to", "", "range end, RFC 3339 or epoch seconds")
	durationFlag(fs, &f.last, "last", 0, positive, "range: the last DURATION up to now")
	fs.StringVar(&o.Out, "out", "", "where to write: a store URL (…/name.mpd, …/name.m3u8, or a directory)")
	fs.BoolVar(&o.Copy, "copy", false, "copy the referenced objects beside the MPD (self-contained package)")
	fs.BoolVar(&o.NoHold, "no-hold", false, "write no hold on the range for a zero-copy export (you manage holds yourself)")
	fs.StringVar(&o.BaseURL, "base-url", "", "URL the archive's objects are served from (zero-copy export outside the archive's store)")
	fs.StringVar(&f.formatList, "format", "dash", "output formats: dash, hls or dash,hls")
	fs.StringVar(&f.evMode, "events", "both", "how events are signalled: inband (InbandEventStream), eventstream (SCTE-35 as MPD EventStream and EXT-X-DATERANGE) or both")
	fs.StringVar(&f.gaps, "gaps", "signal", "how gaps are presented: signal, split or fill")
	fs.StringVar(&o.Slate, "slate", "", "slate asset for --gaps fill: a store URL or directory with one CMAF track file per content type")
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
}

// parse checks the flags and fills in f.o from them.
func (f *exportFlags) parse() error {
	o := &f.o
	if o.Channel == "" {
		return usagef("--channel is required")
	}
	if o.Out == "" {
		return usagef("--out is required")
	}
	if err := f.parseFormats(); err != nil {
		return err
	}
	evs, err := export.ParseEventsMode(f.evMode)
	if err != nil {
		return usagef("--events: %v", err)
	}
	o.Events = evs
	mode, err := export.ParseGapMode(f.gaps)
	if err != nil {
		return usagef("--gaps: %v", err)
	}
	o.Gaps = mode
	switch {
	case mode == export.GapsFill && o.Slate == "":
		return usagef("--gaps fill needs --slate URL")
	case mode != export.GapsFill && o.Slate != "":
		return usagef("--slate is only used with --gaps fill")
	}
	return f.parseRange()
}

// parseFormats parses --format into f.o.Formats.
func (f *exportFlags) parseFormats() error {
	f.o.Formats = nil
	for _, s := range strings.Split(f.formatList, ",") {
		s = strings.ToLower(strings.TrimSpace(s))
		if s != export.FormatDASH && s != export.FormatHLS {
			return usagef("--format %q: want dash, hls or dash,hls", f.formatList)
		}
		if !slices.Contains(f.o.Formats, s) {
			f.o.Formats = append(f.o.Formats, s)
		}
	}
	return nil
}

// parseRange parses --from/--to or --last into f.o's range.
func (f *exportFlags) parseRange() error {
	o := &f.o
	switch {
	case f.last > 0 && (f.from != "" || f.to != ""):
		return usagef("give either --from/--to or --last, not both")
	case f.last > 0:
		o.To = time.Now()
		o.From = o.To.Add(-f.last)
	case f.from != "" && f.to != "":
		var err error
		if o.From, err = parseTimeFlag("from", f.from); err != nil {
			return err
		}
		if o.To, err = parseTimeFlag("to", f.to); err != nil {
			return err
		}
	default:
		return usagef("give --from T --to T, or --last DURATION")
	}
	return nil
}

// exportProgress shows on a terminal how far an export is, on one line
// that is cleared when it is done.
func exportProgress(w io.Writer) func(export.Progress) {
	return func(p export.Progress) {
		switch {
		case p.Step == export.StepDone:
			fmt.Fprint(w, "\r\033[K")
		case p.Total == 0:
			fmt.Fprintf(w, "\r\033[Kexport-vod: %s", p.Step)
		default:
			fmt.Fprintf(w, "\r\033[Kexport-vod: %s, %d of %d objects written (%.0f %%)", p.Step, p.Done, p.Total, p.Percent())
		}
	}
}

// exportVoD opens the archive read-only and exports o with its SCTE-35
// events.
func (a *app) exportVoD(ctx context.Context, o export.Options) (export.Result, error) {
	ar, closeFn, err := a.openArchive(ctx, readArchive)
	if err != nil {
		return export.Result{}, err
	}
	defer closeFn()
	if err := checkChannel(ctx, ar.DB, o.Channel); err != nil {
		return export.Result{}, err
	}
	return events.VoD(ctx, exportDeps(ar), o)
}

// exportDeps are what an export of ar reads and writes.
func exportDeps(ar *archive.Archive) export.Deps {
	return export.Deps{Store: ar.Store, DB: ar.DB, Log: ar.Log, Now: ar.Now}
}

// exportFlagError words the export's errors about its options with the
// flags that set them.
func exportFlagError(err error, o export.Options) error {
	var out *export.OutError
	var outside *export.OutsideStoreError
	var cp *export.CopyError
	var noK *export.NoCommonKError
	switch {
	case errors.Is(err, export.ErrEmptyRange):
		return fmt.Errorf("export: empty range: --to %s is not after --from %s", o.To.Format(time.RFC3339), o.From.Format(time.RFC3339))
	case errors.Is(err, export.ErrNoOut):
		return errors.New("export: no --out URL")
	case errors.Is(err, export.ErrFillNeedsSlate):
		return errors.New("export: --gaps fill needs --slate")
	case errors.Is(err, export.ErrSlateNeedsFill):
		return errors.New("export: --slate is only used with --gaps fill")
	case errors.As(err, &outside):
		return fmt.Errorf("export: --out %s is not in the archive's store %s: give --base-url with the URL the archive's objects are served from, or --copy", outside.Out, outside.Store)
	case errors.As(err, &out) && out.Out == "":
		return fmt.Errorf("export: --out: %w", out.Err)
	case errors.As(err, &out):
		return fmt.Errorf("export: --out %q: %w", out.Out, out.Err)
	case errors.As(err, &cp):
		return fmt.Errorf("export --copy: %w", cp.Err)
	case errors.As(err, &noK) && noK.Split:
		return fmt.Errorf("export: no K from %d to %d has a segment of every track (--gaps split)", noK.FirstK, noK.LastK)
	}
	return err
}

// printExport prints what an export wrote.
func (a *app) printExport(o export.Options, res export.Result) {
	first := res.MPD
	if first == "" {
		first = res.HLS
	}
	fmt.Fprintf(a.stdout, "wrote %s: %s, %s, %s, %s, %s\n", first, plural(int64(res.Tracks), "track"), plural(int64(res.Segments), "segment"),
		plural(int64(res.Gaps), "gap"), plural(int64(res.Periods), "period"), res.Duration)
	if res.MPD != "" && res.HLS != "" {
		fmt.Fprintf(a.stdout, "wrote %s (HLS)\n", res.HLS)
	}
	if res.Fillers > 0 {
		fmt.Fprintf(a.stdout, "spliced %s (%d new) from slate %s\n", plural(int64(res.Fillers), "filler segment"), res.FillersCreated, o.Slate)
	}
	if res.Omitted > 0 {
		fmt.Fprintf(a.stdout, "left out %s at Ks another track misses (--gaps split)\n", plural(int64(res.Omitted), "segment"))
	}
	if res.HLSText > 0 {
		fmt.Fprintf(a.stdout, "wrote %s for HLS (fMP4 WebVTT as segmented WebVTT text)\n", plural(int64(res.HLSText), "WebVTT file"))
	}
	if len(res.HLSLeftOut) > 0 {
		fmt.Fprintf(a.stdout, "left out of HLS, which has no place for timed metadata: %s\n", strings.Join(res.HLSLeftOut, ", "))
	}
	if res.Copied > 0 {
		fmt.Fprintf(a.stdout, "copied %s beside it\n", plural(int64(res.Copied), "object"))
	}
	if res.HoldID != "" {
		fmt.Fprintf(a.stdout, "held %s [%s, %s) as hold %s: prune keeps what the presentation references until 'reaparchive holds release --channel %s --id %s'\n",
			o.Channel, rfc3339(o.From), rfc3339(o.To), res.HoldID, o.Channel, res.HoldID)
	}
}

// exportReport is export-vod --json (README: export-vod).
type exportReport struct {
	Channel         string   `json:"channel"`
	From            string   `json:"from"`
	To              string   `json:"to"`
	MPD             string   `json:"mpd,omitempty"`
	HLS             string   `json:"hls,omitempty"`
	Tracks          int      `json:"tracks"`
	Segments        int      `json:"segments"`
	Gaps            int      `json:"gaps"`
	Periods         int      `json:"periods"`
	Fillers         int      `json:"fillers"`
	FillersCreated  int      `json:"fillers_created"`
	Omitted         int      `json:"omitted"`
	HLSLeftOut      []string `json:"hls_left_out,omitempty"` // tracks HLS has no place for (timed metadata)
	Copied          int      `json:"copied"`
	DurationSeconds float64  `json:"duration_seconds"`
	HoldID          string   `json:"hold_id,omitempty"` // the hold on the range of a zero-copy export
}

func exportJSON(o export.Options, res export.Result) exportReport {
	return exportReport{Channel: o.Channel, From: o.From.UTC().Format(time.RFC3339), To: o.To.UTC().Format(time.RFC3339),
		MPD: res.MPD, HLS: res.HLS, Tracks: res.Tracks, Segments: res.Segments, Gaps: res.Gaps, Periods: res.Periods,
		Fillers: res.Fillers, FillersCreated: res.FillersCreated, Omitted: res.Omitted, HLSLeftOut: res.HLSLeftOut, Copied: res.Copied,
		DurationSeconds: res.Duration.Seconds(), HoldID: res.HoldID}
}
