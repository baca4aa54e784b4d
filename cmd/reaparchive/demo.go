package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
)

func (a *app) demoCmd() *cobra.Command {
	var (
		dir string
		dur time.Duration
	)
	cmd := &cobra.Command{
		Use:   "demo [--dir ./reaparchive-demo] [--for 1m]",
		Short: "Record two simulated redundant encoders (one losing segments) and export the result as VoD",
		Long: `demo starts two simulated REaP encoders on loopback ports, "primary" and
"backup"; primary loses every 5th segment of video and backup every 7th of
audio, so neither alone is complete. It records both into a file store and
SQLite index under --dir for --for, exports the recorded range as a static
DASH presentation, prints the status and the MPD's path, and an ffprobe
command to check it.`,
		Example: `  reaparchive demo
  reaparchive demo --dir /tmp/demo --for 30s`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, f := range []string{"store", "index", "config"} {
				if cmd.Flags().Changed(f) {
					return usagef("demo makes its own store and index under --dir; --%s is not used", f)
				}
			}
			abs, err := filepath.Abs(dir)
			if err != nil {
				return err
			}
			if err := cleanDemoDir(abs); err != nil {
				return err
			}
			return a.runDemo(cmd.Context(), abs, dur)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "./reaparchive-demo", "directory for the demo archive, index and export; emptied first if an earlier demo made it")
	hideArchiveFlags(cmd)
	durationFlag(cmd.Flags(), &dur, "for", time.Minute, positive, "how long to record")
	return cmd
}

// runDemo records the simulated encoders into a new archive in dir for
// dur, prints its status and exports the recorded range.
func (a *app) runDemo(ctx context.Context, abs string, dur time.Duration) error {
	start := time.Now()
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	var sources []pull.MPDSource
	for _, s := range []struct{ name, drop string }{{"primary", "rep:video:every:5"}, {"backup", "rep:audio:every:7"}} {
		srv, ln, err := startSimulator(simFlags{listen: "127.0.0.1:0", drop: s.drop, segDur: 2 * time.Second}, start)
		if err != nil {
			return err
		}
		servers = append(servers, srv)
		mpd := "http://" + ln.Addr().String() + "/manifest.mpd"
		sources = append(sources, pull.MPDSource{Name: s.name, MPDURL: mpd})
		fmt.Fprintf(a.stdout, "simulated encoder %-8s %s (drops %s)\n", s.name, mpd, s.drop)
	}
	storeURL := "file://" + filepath.ToSlash(filepath.Join(abs, "store"))
	indexPath := filepath.Join(abs, "index.db")
	st, err := cloud.Open(ctx, storeURL)
	if err != nil {
		return err
	}
	defer st.Close()
	db, err := index.Open(ctx, indexPath)
	if err != nil {
		return err
	}
	defer db.Close()
	ar := archive.New(st, db, a.log)
	fmt.Fprintf(a.stdout, "recording channel demo for %s into %s ...\n", dur, abs)
	recStart := time.Now()
	if err := a.recordDemo(ctx, ar, sources, dur); err != nil {
		return err
	}
	return a.exportDemo(context.WithoutCancel(ctx), ar, abs, recStart, time.Now(), storeURL, indexPath)
}

// recordDemo records the demo channel from sources for dur and prints
// what it stored.
func (a *app) recordDemo(ctx context.Context, ar *archive.Archive, sources []pull.MPDSource, dur time.Duration) error {
	stats := &pull.Stats{}
	err := pull.Record(ctx, ar, pull.Options{Channel: "demo", Sources: sources, For: dur, Stats: stats})
	if err != nil && ctx.Err() == nil {
		return err
	}
	fmt.Fprintf(a.stdout, "recorded: %d stored, %d duplicates, %d conflicts, %d rejected, %d missing deliveries\n\n",
		stats.Stored.Load(), stats.Duplicates.Load(), stats.Conflicts.Load(), stats.Rejected.Load(), stats.Missing.Load())
	return nil
}

// exportDemo prints the demo channel's status and exports [recStart-4s,
// recEnd) into the store's vod/demo.mpd.
func (a *app) exportDemo(ctx context.Context, ar *archive.Archive, abs string, recStart, recEnd time.Time, storeURL, indexPath string) error {
	rep, err := ar.Status(ctx, "demo")
	if err != nil {
		return err
	}
	printStatus(a, rep)
	res, err := exportDeps(ar).VoD(ctx, export.Options{Channel: "demo", From: recStart.Add(-4 * time.Second), To: recEnd,
		Out: "file://" + filepath.ToSlash(filepath.Join(abs, "store", "vod", "demo.mpd"))})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nexported %d segments (%d gaps, %s) to\n  %s\ncheck it with:\n  ffprobe -v error -show_entries stream=codec_name,width,height,sample_rate -of compact %s\n  ffmpeg -v error -i %s -f null -\n",
		res.Segments, res.Gaps, res.Duration, res.MPD, res.MPD, res.MPD)
	fmt.Fprintf(a.stdout, "inspect the archive with:\n  reaparchive status --store %s --index %s\n", storeURL, indexPath)
	fmt.Fprintf(a.stdout, "serve it to players (timeline page at http://127.0.0.1:8080/) with:\n  reaparchive serve --store %s --index %s --listen 127.0.0.1:8080\n", storeURL, indexPath)
	return nil
}

// demoMarker marks a directory the demo made: only such a directory is
// emptied by the next demo.
const demoMarker = ".reaparchive-demo"

// cleanDemoDir makes dir an empty demo directory: it creates it, or empties
// it when an earlier demo made it; any other non-empty directory (or a
// file) is refused, untouched.
func cleanDemoDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return usagef("--dir %s: %v", dir, err)
	case len(entries) == 0:
	default:
		if _, err := os.Stat(filepath.Join(dir, demoMarker)); err != nil {
			return usagef("--dir %s is not empty and was not made by demo: choose another --dir (demo empties only its own directories)", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("emptying the earlier demo directory: %w", err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, demoMarker), []byte("made by reaparchive demo; the next demo with this --dir empties this directory\n"), 0o644)
}

// hideArchiveFlags hides the inherited --store, --index and --config from
// cmd's help (cmd makes its own archive).
func hideArchiveFlags(cmd *cobra.Command) {
	def := cmd.HelpFunc()
	cmd.SetHelpFunc(func(c *cobra.Command, args []string) {
		for _, f := range []string{"store", "index", "config"} {
			if fl := c.InheritedFlags().Lookup(f); fl != nil {
				fl.Hidden = true
			}
		}
		def(c, args)
	})
}
