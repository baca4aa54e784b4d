// Package origin serves the archive over HTTP, as the origin a CDN or a
// player reads: per channel a live D-MPD (and HLS playlists) with a
// time-shift window, start-over and catch-up presentations selected by
// start/end query parameters, and the archived objects themselves. Every
// manifest is a function of the request, the index and the clock truncated
// to the second, so origins over one archive answer alike; what an origin
// keeps in memory (the manifests of this second and the next, the live
// windows' index rows, where the live window's first run began) only saves
// work.
//
// Manifests are built by export's Load, Plan, Present steps and manifest's
// builders (catch-up is what export-vod writes for the range); objects are
// streamed from the store (or redirected to a presigned URL).
package origin

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
)

// Defaults of Config.
const (
	DefaultWindow  = 2 * time.Hour
	DefaultEdgeLag = 6 * time.Second
	DefaultSignTTL = 15 * time.Minute
	// DefaultBuildNice is serve's --build-nice (Config.BuildNice): live
	// manifests are built ahead at a higher priority than segment
	// requests, where the process may.
	DefaultBuildNice = -10
	// DefaultBuildRealtime is serve's --build-rt-priority
	// (Config.BuildRealtime): live manifests are built ahead before
	// anything else the cores run, where the process may.
	DefaultBuildRealtime = 1
)

// Config is what an origin serves and how.
type Config struct {
	Store *cloud.Store
	DB    *index.DB
	Log   *slog.Logger     // nil: no logging
	Now   func() time.Time // nil: time.Now
	// Window is the live presentation's timeShiftBufferDepth; 0 is
	// DefaultWindow.
	Window time.Duration
	// EdgeLag is how old a segment's start must be before a live
	// presentation lists it: long enough for every encoder's copy to have
	// been indexed, so a published timeline never changes; 0 is
	// DefaultEdgeLag.
	EdgeLag time.Duration
	// Redirect answers object requests with a 302 to a presigned URL of
	// the store (S3, GCS), valid for SignTTL (0: DefaultSignTTL).
	Redirect bool
	SignTTL  time.Duration
	// Reread is how many of the newest Ks of a live window are read
	// from the index again on a build that reads the rows of a track,
	// besides those its change log names; 0 is export.DefaultReread.
	Reread int64
	// PrebuildLead is how long before a second Prebuild builds its live
	// manifests; 0 is DefaultPrebuildLead.
	PrebuildLead time.Duration
	// BuildNice is the nice value of the OS thread Prebuild builds on
	// (Linux; 0: the process's). Below 0 its builds keep their pace when
	// clients and segment requests load every core, as a live manifest
	// must: the kernel then preempts that thread less (BENCHMARKS.md,
	// origin). It needs CAP_SYS_NICE or an RLIMIT_NICE that allows it
	// (systemd: LimitNICE=); refused, Prebuild logs so once and builds at
	// the process's priority.
	BuildNice int
	// BuildRealtime is the SCHED_FIFO priority (1-99, Linux; 0: none) of
	// Prebuild's thread while it builds, for up to 20 ms a build (a
	// longer one, which reads a whole window, finishes at BuildNice). The
	// kernel then runs a build before every thread of the normal policy
	// and does not switch it out for them: at a nice value alone it still
	// waited for a busy core up to a scheduler tick (BENCHMARKS.md,
	// origin). It needs CAP_SYS_NICE or an RLIMIT_RTPRIO that allows it
	// (systemd: LimitRTPRIO=); refused, Prebuild logs so once and builds
	// at BuildNice.
	BuildRealtime int
	// Token, when set, is the bearer token manifest requests must carry
	// (Authorization: Bearer TOKEN).
	Token string
	// ExportTo is the store URL the timeline page's exports go to; ""
	// refuses them (timeline_export.go).
	ExportTo string
	// Slate is the slate asset gaps=fill splices over gaps (nil: gaps=fill
	// is refused). Its fillers are stored, create-only, in the archive's
	// store, as export-vod --gaps fill stores them.
	Slate *export.Slate
	// LiveGaps is how live and start-over presentations present a gap when
	// the request does not say: export.GapsSplit ("" too: a Period per run,
	// the SegmentTimeline shows the gap) or export.GapsFill (slate fillers
	// over it, which needs Slate).
	LiveGaps export.GapMode
	// OnBuild, when set, is called with the time each manifest build
	// took (a request's that missed the per-second cache, or Prebuild's):
	// benchmarks take its percentiles. It must be safe for concurrent use.
	OnBuild func(time.Duration)
}

// ErrCannotRedirect is New's error for Redirect on a store that cannot
// presign URLs.
var ErrCannotRedirect = errors.New("origin: --redirect needs an s3:// or gs:// store")

// Server is an origin over one archive. It is an http.Handler.
type Server struct {
	cfg     Config
	deps    export.Deps
	mux     *http.ServeMux
	metrics *metrics
	cache   *cache
	runs    *runMemo
	seqs    *seqMemo
	rows    *export.LiveRows // the live windows' index rows
	hot     *hotSet          // live manifests to build ahead (Prebuild)
	// memoMu is held by a build that reads and moves the memos above
	// (rows, runs, seqs: a live build, an HLS start-over) from before its index
	// snapshot begins until it is done with them, so that the memos only
	// move to newer states of the index: each build's reads are one
	// snapshot (index.DB.Snapshot), and one that began before another's
	// but reached the memos after it would find them ahead of its index
	// and read everything again.
	memoMu sync.Mutex
}

// New checks cfg and makes its Server.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil || cfg.DB == nil {
		return nil, errors.New("origin: no store or index")
	}
	if cfg.Redirect && !cfg.Store.CanSign() {
		return nil, fmt.Errorf("%w: %s %w", ErrCannotRedirect, cfg.Store, cloud.ErrCannotSign)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Window = cmpOr(cfg.Window, DefaultWindow)
	cfg.EdgeLag = cmpOr(cfg.EdgeLag, DefaultEdgeLag)
	cfg.SignTTL = cmpOr(cfg.SignTTL, DefaultSignTTL)
	cfg.PrebuildLead = cmpOr(cfg.PrebuildLead, DefaultPrebuildLead)
	if err := checkLiveGaps(&cfg); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, deps: export.Deps{Store: cfg.Store, DB: cfg.DB, Log: cfg.Log, Now: cfg.Now},
		metrics: newMetrics(), cache: newCache(), runs: newRunMemo(), seqs: newSeqMemo(), rows: export.NewLiveRows(), hot: newHotSet()}
	s.rows.Reread = cfg.Reread
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.mux.HandleFunc("GET /{channel}/{name}", s.manifest)
	s.mux.HandleFunc("GET /{channel}/{rep}/{path...}", s.object)
	s.handleTimeline() // the timeline page and its API (timeline_page.go)
	return s, nil
}

// ErrFillNeedsSlate is New's error for LiveGaps fill without a Slate.
var ErrFillNeedsSlate = errors.New("origin: live gaps fill needs a slate (--slate)")

// checkLiveGaps checks cfg.LiveGaps ("" is split).
func checkLiveGaps(cfg *Config) error {
	switch cfg.LiveGaps {
	case "", export.GapsSplit:
		cfg.LiveGaps = export.GapsSplit
	case export.GapsFill:
		if cfg.Slate == nil {
			return ErrFillNeedsSlate
		}
	default:
		return fmt.Errorf("origin: live gaps %q: want split or fill", cfg.LiveGaps)
	}
	return nil
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// Registry is the Prometheus registry of the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// ServeHTTP answers one request: CORS, then the route, measured.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setCORS(w.Header())
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.metrics.serve(s.mux, w, r)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cfg.DB.Channels(r.Context()); err != nil {
		http.Error(w, "index: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ok")
}

// setCORS lets browser players on any origin read manifests and objects.
func setCORS(h http.Header) {
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Range, If-None-Match, If-Range")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag, Date, Location")
	h.Set("Access-Control-Max-Age", "86400")
}
