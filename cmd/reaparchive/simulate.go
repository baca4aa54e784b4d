package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/reaparchive/reaparchive"
	"github.com/reaparchive/reaparchive/simulate"
)

type simFlags struct {
	listen      string
	drop        string
	down        string
	clockOffset time.Duration
	variant     int
	segDur      time.Duration
}

func (a *app) simulateCmd() *cobra.Command {
	var sf simFlags
	var dur time.Duration
	cmd := &cobra.Command{
		Use:   "simulate [--listen 127.0.0.1:8081] [--drop SPEC] [--down SPEC] [--clock-offset D]",
		Short: "Serve a simulated REaP encoder (I-MPD and segments on the epoch timeline) for tests and demos",
		Long: `simulate loops the built-in H.264 + AAC CMAF asset on the epoch timeline and
serves it as a REaP source: the I-MPD at /manifest.mpd and segments at
/<rep>/<K>.<ext>, where K is the epoch index.

--drop SPEC       drop segments: "every:N" (K%N==0), "every:N:R", "k:123,456",
                  "rep:video:every:N"; several separated by ';'
--down SPEC       be down (HTTP 503) for intervals after start: "20s-30s,45s-50s"
--clock-offset D  run the simulated encoder's clock ahead (or behind, negative)
--variant N       serve interchangeable but not bit-identical bytes`,
		Example: `  reaparchive simulate --listen 127.0.0.1:8081
  reaparchive simulate --listen 127.0.0.1:8082 --drop 'rep:video:every:5' --down 20s-30s --for 5m`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if dur > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, dur)
				defer cancel()
			}
			srv, ln, err := startSimulator(sf, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "simulated REaP source: http://%s/manifest.mpd\n", ln.Addr())
			a.log.Info("simulator listening", "mpd", "http://"+ln.Addr().String()+"/manifest.mpd")
			<-ctx.Done()
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return srv.Shutdown(sctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&sf.listen, "listen", "127.0.0.1:8081", "address to listen on")
	f.StringVar(&sf.drop, "drop", "", "segments to drop (see above)")
	f.StringVar(&sf.down, "down", "", "intervals to be down (see above)")
	durationFlag(f, &sf.clockOffset, "clock-offset", 0, anySign, "offset of the simulated encoder clock")
	f.IntVar(&sf.variant, "variant", 0, "byte variant (0: canonical)")
	durationFlag(f, &sf.segDur, "segment-duration", 2*time.Second, positive, "segment duration D")
	durationFlag(f, &dur, "for", 0, positive, "serve for this long, then stop")
	return cmd
}

// startSimulator starts a simulated source on sf.listen and returns its
// server and listener.
func startSimulator(sf simFlags, start time.Time) (*http.Server, net.Listener, error) {
	video, err := reaparchive.Assets.ReadFile("testdata/video.cmfv")
	if err != nil {
		return nil, nil, err
	}
	audio, err := reaparchive.Assets.ReadFile("testdata/audio.cmfa")
	if err != nil {
		return nil, nil, err
	}
	drop, err := simulate.ParseDrop(sf.drop)
	if err != nil {
		return nil, nil, usagef("--drop: %v", err)
	}
	down, err := simulate.ParseIntervals(sf.down)
	if err != nil {
		return nil, nil, usagef("--down: %v", err)
	}
	sim, err := simulate.New(simulate.Options{Video: video, Audio: audio, SegmentDuration: sf.segDur, Drop: drop,
		ClockOffset: sf.clockOffset, Down: down, Start: start, Variant: sf.variant})
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", sf.listen)
	if err != nil {
		return nil, nil, fmt.Errorf("simulate: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	return srv, ln, nil
}
