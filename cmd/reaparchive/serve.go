package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/gcfloor"
	"github.com/reaparchive/reaparchive/origin"
)

// tokenEnv holds the origin's bearer token when --token is not given (a
// token on the command line is visible to every user of the host).
const tokenEnv = "REAPARCHIVE_SERVE_TOKEN"

// serveFlags are the origin's flags: serve's, and record's with a "serve-"
// prefix (record --serve ADDR).
type serveFlags struct {
	listen    string
	window    time.Duration
	edgeLag   time.Duration
	redirect  bool
	signTTL   time.Duration
	token     string
	exportTo  string
	slate     string // slate asset for gaps=fill
	liveGaps  string // gap mode of live and start-over by default
	buildNice int    // nice value of the thread live manifests are built ahead on
	buildRT   int    // its SCHED_FIFO priority while it builds; 0: none
	prefix    string // of the flags' names
}

// define defines the flags on fs, their names prefixed.
func (sf *serveFlags) define(fs *pflag.FlagSet, prefix string) {
	sf.prefix = prefix
	durationFlag(fs, &sf.window, prefix+"window", origin.DefaultWindow, positive, "live timeShiftBufferDepth: how far back a player of the live manifest may seek")
	durationFlag(fs, &sf.edgeLag, prefix+"edge-lag", origin.DefaultEdgeLag, positive, "how old a segment's start must be before live manifests list it (longer than D plus the slowest encoder's delay)")
	fs.BoolVar(&sf.redirect, prefix+"redirect", false, "answer segment and init requests with a 302 to a presigned URL of the store (s3://, gs:// only)")
	durationFlag(fs, &sf.signTTL, prefix+"sign-ttl", origin.DefaultSignTTL, positive, "how long a --redirect presigned URL is valid")
	fs.StringVar(&sf.token, prefix+"token", "", "bearer token manifest requests must carry (default: $"+tokenEnv+"; none: open)")
	fs.StringVar(&sf.exportTo, prefix+"export-to", "", "store URL the timeline page's exports are written to (none: the page cannot export)")
	fs.StringVar(&sf.slate, prefix+"slate", "", "slate asset (a store URL or directory, as export-vod --slate) that gaps=fill splices over gaps; its fillers are stored in the archive's store (none: gaps=fill is refused)")
	fs.IntVar(&sf.buildNice, prefix+"build-nice", origin.DefaultBuildNice, "nice value (-20..19, Linux) of the thread that builds live manifests ahead, so they keep their pace when clients load every core; below 0 needs CAP_SYS_NICE or RLIMIT_NICE (systemd: LimitNICE=-10), else they are built at the process's priority; 0: the process's")
	fs.IntVar(&sf.buildRT, prefix+"build-rt-priority", origin.DefaultBuildRealtime, "realtime priority (SCHED_FIFO 1..99, Linux) of the thread that builds live manifests ahead, while it builds (up to 20 ms a build), so that a busy core runs a build before anything else; needs CAP_SYS_NICE or RLIMIT_RTPRIO (systemd: LimitRTPRIO=1), else they are built at --"+prefix+"build-nice; 0: none")
	fs.StringVar(&sf.liveGaps, prefix+"live-gaps", string(export.GapsSplit), "how live and start-over manifests present a gap when the request does not say (&gaps=): split (a Period per run; players wait out the gap) or fill (slate fillers, needs --"+prefix+"slate)")
}

// check checks the flags that need no archive (usage errors, exit 2),
// before anything is opened.
func (sf *serveFlags) check() error {
	if sf.buildNice < -20 || sf.buildNice > 19 {
		return usagef("--%sbuild-nice %d: want a nice value from -20 to 19", sf.prefix, sf.buildNice)
	}
	if sf.buildRT < 0 || sf.buildRT > 99 {
		return usagef("--%sbuild-rt-priority %d: want a realtime priority from 1 to 99, or 0 for none", sf.prefix, sf.buildRT)
	}
	g, err := export.ParseGapMode(sf.liveGaps)
	if err != nil || g == export.GapsSignal {
		return usagef("--%slive-gaps %q: want split or fill", sf.prefix, sf.liveGaps)
	}
	if g == export.GapsFill && sf.slate == "" {
		return usagef("--%slive-gaps fill needs --%sslate URL", sf.prefix, sf.prefix)
	}
	return nil
}

// loadSlate loads --slate into cfg, with --live-gaps (checked by check).
func (sf *serveFlags) loadSlate(ctx context.Context, cfg *origin.Config) error {
	if err := sf.check(); err != nil {
		return err
	}
	cfg.LiveGaps = export.GapMode(sf.liveGaps)
	if sf.slate == "" {
		return nil
	}
	var err error
	if cfg.Slate, err = export.LoadSlate(ctx, sf.slate); err != nil {
		return fmt.Errorf("--%sslate: %w", sf.prefix, err)
	}
	return nil
}

// config is the origin's configuration over ar.
func (sf *serveFlags) config(ar *archive.Archive) origin.Config {
	tok := sf.token
	if tok == "" {
		tok = os.Getenv(tokenEnv)
	}
	return origin.Config{Store: ar.Store, DB: ar.DB, Log: ar.Log, Window: sf.window, EdgeLag: sf.edgeLag,
		Redirect: sf.redirect, SignTTL: sf.signTTL, Token: tok, ExportTo: sf.exportTo,
		BuildNice: sf.buildNice, BuildRealtime: sf.buildRT}
}

const serveLong = `serve is an HTTP origin over the archive: players and CDNs read the channels
straight from the store and index. Per channel:

  /<channel>/manifest.mpd              live D-MPD: dynamic, availabilityStartTime
                                       1970-01-01T00:00:00Z, $Number$ = K, a
                                       Period per run between gaps, the last
                                       --window to the live edge (segments
                                       older than --edge-lag); &gaps=fill (or
                                       --live-gaps fill): slate fillers over
                                       the gaps (--slate), so players never
                                       wait at one
  /<channel>/manifest.mpd?start=T      start-over: from T to the live edge
  /<channel>/manifest.mpd?start=T&end=T
                                       catch-up: the static VoD export-vod
                                       writes for [T, T) (&gaps=signal|split|fill,
                                       &events=inband|eventstream|both)
  /<channel>/master.m3u8 (same query)  HLS: EVENT playlists live, VOD catch-up
  /<channel>/<rep>/<K>.<ext>           segments and init segments, streamed
  /<channel>/<rep>/init-<hash>.<ext>   from the store (or --redirect)
  /healthz, /metrics                   health, Prometheus metrics
  /                                    timeline page: every channel's tracks,
                                       gaps, fillers, splices, SCTE-35; click
                                       to play, select to play, copy or export
                                       (--export-to URL); JSON at
                                       /api/<channel>/timeline?from=T&to=T

T is RFC 3339 or seconds since the epoch. Two origins over one archive
answer the same request in the same second with the same bytes. It runs
until SIGINT/SIGTERM. record --serve ADDR serves the same while recording.`

func (a *app) serveCmd() *cobra.Command {
	var sf serveFlags
	cmd := &cobra.Command{
		Use:   "serve --store URL --index PATH --listen ADDR [--window 2h] [--edge-lag 6s] [--redirect] [--token TOKEN]",
		Short: "Serve the archive over HTTP: live, start-over and catch-up DASH/HLS, and the segments",
		Long:  serveLong,
		Example: `  reaparchive serve --store file://./archive --index archive.db --listen 127.0.0.1:8081
  curl 'http://127.0.0.1:8081/news/manifest.mpd?start=2026-11-21T10:00:00Z&end=2026-11-21T11:00:00Z'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sf.listen == "" {
				return usagef("--listen ADDR is required")
			}
			if err := sf.check(); err != nil {
				return err
			}
			ar, closeFn, err := a.openArchive(cmd.Context(), readArchive)
			if err != nil {
				return err
			}
			defer closeFn()
			g, gctx := errgroup.WithContext(cmd.Context())
			if err := a.startOrigin(gctx, g, ar, &sf); err != nil {
				return err
			}
			return g.Wait()
		},
	}
	cmd.Flags().StringVar(&sf.listen, "listen", "", "address to serve on, e.g. 127.0.0.1:8081")
	sf.define(cmd.Flags(), "")
	return cmd
}

// startOrigin starts the origin on sf.listen in g, until ctx ends.
func (a *app) startOrigin(ctx context.Context, g *errgroup.Group, ar *archive.Archive, sf *serveFlags) error {
	cfg := sf.config(ar)
	if err := sf.loadSlate(ctx, &cfg); err != nil {
		return err
	}
	srv, err := origin.New(cfg)
	if errors.Is(err, origin.ErrCannotRedirect) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", sf.listen)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	a.log.Info("serving", "listen", ln.Addr().String(), "window", sf.window, "edge_lag", sf.edgeLag, "redirect", sf.redirect, "live_gaps", cfg.LiveGaps)
	g.Go(func() error {
		err := hs.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("serve: %w", err)
	})
	g.Go(func() error {
		srv.Prebuild(ctx) // the live manifests players read, a second ahead
		return nil
	})
	g.Go(func() error {
		gcfloor.Keep(ctx, gcfloor.Default, time.Second) // fewer collections while the heap is small (unless GOGC is set)
		return nil
	})
	g.Go(func() error {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		return hs.Shutdown(sctx)
	})
	return nil
}

// serveWhileRecording starts record's origin (--serve ADDR, if given); the
// returned func stops it once the recording has ended.
func (a *app) serveWhileRecording(ctx context.Context, ar *archive.Archive, sf *serveFlags) (stop func() error, err error) {
	if sf.listen == "" {
		return func() error { return nil }, nil
	}
	octx, cancel := context.WithCancel(ctx)
	var og errgroup.Group
	if err := a.startOrigin(octx, &og, ar, sf); err != nil {
		cancel()
		return nil, err
	}
	return func() error { cancel(); return og.Wait() }, nil
}
