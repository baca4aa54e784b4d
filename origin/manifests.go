package origin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/manifest"
)

// doc is which manifest a request names.
type doc struct {
	hls bool
	rep string // an HLS media playlist; "" the MPD or the multivariant playlist
}

// Names of a channel's manifests (HLS media playlists are
// media-<rep><params>.m3u8).
const (
	mpdName    = "manifest.mpd"
	masterName = "master.m3u8"
)

// mediaName is the name of rep's HLS media playlist of the presentation p.
func mediaName(rep string, p params) string { return "media-" + rep + p.encode() + ".m3u8" }

// manifest answers GET /<channel>/<name>: the MPD, the HLS multivariant
// playlist or an HLS media playlist.
func (s *Server) manifest(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	ch, name := r.PathValue("channel"), r.PathValue("name")
	now := s.cfg.Now().UTC().Truncate(time.Second)
	d, p, err := parseDoc(name, r, now, s.defaults())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	key := ch + "/" + name + "\x00" + p.encode()
	if p.kind == live {
		s.hot.note(key, hotManifest{channel: ch, d: d, p: p, last: now})
	}
	b, hit, err := s.cache.get(now, key, func() (*built, error) {
		return s.build(r.Context(), ch, d, p, now)
	})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.cached(hit)
	b.send(w, r)
}

// parseDoc parses which manifest name names, and its presentation's
// parameters (the query; a media playlist's name carries them).
func parseDoc(name string, r *http.Request, now time.Time, def defaults) (doc, params, error) {
	switch {
	case name == mpdName:
		p, err := parseParams(r.URL.Query(), now, def)
		return doc{}, p, err
	case name == masterName:
		p, err := parseParams(r.URL.Query(), now, def)
		return doc{hls: true}, p, err
	case strings.HasPrefix(name, "media-") && strings.HasSuffix(name, ".m3u8"):
		rep, enc, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(name, "media-"), ".m3u8"), "~")
		if enc != "" {
			enc = "~" + enc
		}
		p, err := decodeParams(enc, now, def)
		return doc{hls: true, rep: rep}, p, err
	}
	return doc{}, params{}, errNotFound("no such manifest %q: want %s, %s or media-<rep>.m3u8", name, mpdName, masterName)
}

// defaults are the origin's defaults for a manifest request.
func (s *Server) defaults() defaults {
	return defaults{liveGaps: s.cfg.LiveGaps, canFill: s.cfg.Slate != nil}
}

// notFound is a 404 with the reason.
type notFound struct{ msg string }

func (e *notFound) Error() string { return e.msg }

func errNotFound(format string, a ...any) error { return &notFound{fmt.Sprintf(format, a...)} }

// presentation is what a manifest request presents.
type presentation struct {
	in      manifest.VoDInput
	final   bool    // a catch-up range that ended before the live edge
	minSegS float64 // shortest nominal segment duration, seconds
	channel string
}

// build builds the manifest d of channel's presentation p at now. It
// runs to its end whatever ctx says: the others of the second wait for it
// (cache.get), and each index read under a context that can end starts
// goroutines to watch it (database/sql, the SQLite driver), a build's
// some twenty reads as many.
func (s *Server) build(ctx context.Context, channel string, d doc, p params, now time.Time) (*built, error) {
	ctx = context.WithoutCancel(ctx)
	defer trace.StartRegion(ctx, "manifest build").End() // for go tool trace
	if s.cfg.OnBuild != nil {
		defer func(t0 time.Time) { s.cfg.OnBuild(time.Since(t0)) }(time.Now())
	}
	pr, err := s.presentSnapshot(ctx, channel, p, now, d.hls)
	if err != nil {
		return nil, err
	}
	cc := s.cacheControl(pr)
	if !d.hls {
		body, err := manifest.BuildVoD(pr.in)
		if err != nil {
			return nil, err
		}
		return s.cache.newBuilt(body, "application/dash+xml", cc), nil
	}
	pls, err := manifest.BuildHLS(pr.in, func(rep string) string { return mediaName(rep, p) })
	if err != nil {
		return nil, err
	}
	for _, pl := range pls {
		if pl.Rep == d.rep {
			return s.cache.newBuilt(pl.Body, "application/vnd.apple.mpegurl", cc), nil
		}
	}
	return nil, errNotFound("channel %s has no HLS track %q", channel, d.rep)
}

// presentSnapshot is present over one snapshot of the index: a build's
// some twenty reads take SQLite's read lock once, and agree with each
// other. A build that uses the memos (live ones; HLS start-over ones, for
// their numbers) holds memoMu from before the snapshot until it is done
// with them.
func (s *Server) presentSnapshot(ctx context.Context, channel string, p params, now time.Time, hls bool) (*presentation, error) {
	if movesMemos(p, hls) {
		s.memoMu.Lock()
		defer s.memoMu.Unlock()
	}
	db, err := s.cfg.DB.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	d := s.deps
	d.DB = db
	return s.present(ctx, d, channel, p, now, hls)
}

// cacheControl is how long a CDN may keep the manifest: a year for a
// catch-up range in the past, else at most half a segment duration.
func (s *Server) cacheControl(pr *presentation) string {
	if pr.final {
		return immutable
	}
	return "public, max-age=" + strconv.Itoa(int(math.Floor(pr.minSegS/2)))
}

// immutable is the Cache-Control of what never changes.
const immutable = "public, max-age=31536000, immutable"

// window is the range of the archive p presents at now, and whether it is
// final (a catch-up range ending before the live edge).
func (s *Server) window(p params, now time.Time) (from, to time.Time, final bool) {
	edge := now.Add(-s.cfg.EdgeLag)
	switch p.kind {
	case catchUp:
		if p.end.After(edge) {
			return p.start, edge, false
		}
		return p.start, p.end, true
	case startOver:
		return p.start, edge, false
	}
	return edge.Add(-s.cfg.Window), edge, false
}

// present loads, plans and presents the range p asks for, as export-vod
// does for a catch-up range and as a dynamic D-MPD otherwise.
func (s *Server) present(ctx context.Context, d export.Deps, channel string, p params, now time.Time, hls bool) (*presentation, error) {
	from, to, final := s.window(p, now)
	if !to.After(from) {
		return nil, errNotFound("nothing of %s is published yet: the live edge is %s", channel, to.Format(time.RFC3339))
	}
	var l *export.Loaded
	var err error
	if p.kind == live {
		l, err = d.LoadLive(ctx, s.rows, channel, from, to)
	} else {
		l, err = d.Load(ctx, channel, from, to)
	}
	if err != nil {
		return nil, loadError(err)
	}
	mode := p.gaps // live: GapsSplit (a Period per run, $Number$ = K) or GapsFill
	if mode == export.GapsFill && p.kind != catchUp {
		l.TrimRaggedEnd(liveTrackEnded)
	}
	plan := l.Plan
	if !hls && p.kind != catchUp {
		plan = l.GridPlan // a dynamic MPD lists its segments on the K*D grid
	}
	pl, err := plan(mode)
	if err != nil {
		return nil, loadError(err)
	}
	var res export.Result
	fills, err := d.Fill(ctx, pl, s.cfg.Slate, &res)
	if err != nil {
		return nil, err
	}
	periods, err := d.Present(ctx, pl, fills, export.Formats{DASH: !hls, HLS: hls}, p.events, &res)
	if err != nil {
		return nil, err
	}
	if hls {
		if err := export.SetHLSText(periods, textStem); err != nil {
			return nil, err
		}
	}
	pr := &presentation{final: final, minSegS: minSegDur(periods), channel: channel,
		in: manifest.VoDInput{Title: export.Title(channel, p.start, p.end), BaseURL: "../", Periods: periods, Contiguous: mode == export.GapsSplit}}
	if p.events != export.EventsInband {
		if pr.in.SCTE35, err = events.ForExport(ctx, d.DB, channel, from, to); err != nil {
			return nil, err
		}
	}
	if p.kind != catchUp {
		if err := s.makeDynamic(ctx, d, l, pr, p, now, hls); err != nil {
			return nil, err
		}
	}
	return pr, nil
}

// liveTrackEnded is how many Ks a track's last segment may be older than
// the newest of the channel's before a live presentation that fills gaps
// takes the track as ended (and fills it) rather than as late (and ends
// the presentation at its last segment: export.Loaded.TrimRaggedEnd).
const liveTrackEnded = 5

// loadError sorts export's errors into 404s and the rest.
func loadError(err error) error {
	var noK *export.NoCommonKError
	switch {
	case errors.Is(err, index.ErrNotFound), errors.Is(err, export.ErrNoSegments), errors.As(err, &noK):
		return errNotFound("%v", err)
	}
	return err
}

// makeDynamic makes pr live: titled by its channel, Periods named by
// their first K, the first one starting where its run began (so it keeps
// its start and id as the window slides) — in DASH at the epoch (P0) when
// only the beginning of the recording bounds that run, so that prune,
// which moves that beginning on every pass, does not move the Period —,
// in DASH each later one where the hole before it begins
// (export.LivePeriodStarts), a dynamic MPD on the epoch timeline; in HLS
// its segments and discontinuities numbered from the archive's start
// (seqMemo). (HLS keeps its later Periods at their first segments: a
// discontinuity needs no start, and a track a Period lacks is listed as
// gap entries from that start.)
func (s *Server) makeDynamic(ctx context.Context, d export.Deps, l *export.Loaded, pr *presentation, p params, now time.Time, hls bool) error {
	ps := pr.in.Periods
	var seq hlsSeq
	if hls {
		var err error
		if seq, err = s.seqs.seq(ctx, d, l, firstK(ps[0]), p.gaps); err != nil {
			return err
		}
	} else {
		export.LivePeriodStarts(ps)
	}
	if p.kind == live {
		start, unbounded, err := s.runs.start(ctx, d, l, *ps[0].StartK, p.gaps)
		if err != nil {
			return err
		}
		if unbounded && !hls {
			start = 0 // the epoch: prune, moving the recording's beginning, moves no Period
		}
		ps[0].StartK = &start
	}
	for i := range ps {
		ps[i].ID = "P" + strconv.FormatInt(*ps[i].StartK, 10)
	}
	pr.in.Title = pr.channel
	pr.in.Contiguous = false
	pr.in.Dynamic = &manifest.Dynamic{PublishTime: now, TimeShiftBufferDepth: s.cfg.Window,
		SuggestedPresentationDelay: s.liveDelay(pr.minSegS), DiscontinuitySequence: seq.disc, Holes: seq.holes}
	if p.kind == startOver {
		// The window reaches back to start, and players start there:
		// they count the delay back from the end of the last segment
		// listed (Shaka Player, dash.js), not from now. Counted from
		// now, Shaka played ahead of its seek range end by the edge lag,
		// and at a gap, where it may not jump past that end, it stalled
		// for the gap and the edge lag.
		pr.in.Dynamic.TimeShiftBufferDepth = now.Sub(p.start)
		pr.in.Dynamic.SuggestedPresentationDelay = max(lastEnd(ps).Sub(p.start), 0)
	}
	return nil
}

// movesMemos reports whether a build of p reads and moves the Server's
// memos: a live one all of them (rows, runs, and seqs in HLS), an HLS
// start-over its numbers (seqs), as present and makeDynamic use them.
func movesMemos(p params, hls bool) bool {
	return p.kind == live || p.kind == startOver && hls
}

// liveDelay is how far behind the wall clock players of a live
// presentation should play (MPD@suggestedPresentationDelay): the edge lag
// (a segment is listed once its start is that old) and two segment
// durations (one to wait for the next MPD, one of buffer). Players count
// their delay from the wall clock, and without it play closer to the end
// of the last listed segment than a refresh takes: Shaka Player, at its
// default 1.5 x minBufferTime, ran dry for 0.6-1.9 s (measured).
func (s *Server) liveDelay(segS float64) time.Duration {
	return s.cfg.EdgeLag + time.Duration(2*segS*float64(time.Second))
}

// firstK is the first K of a Period's tracks.
func firstK(vp manifest.VoDPeriod) int64 {
	k := int64(math.MaxInt64)
	for _, t := range vp.Tracks {
		if len(t.Segments) > 0 {
			k = min(k, t.Segments[0].K)
		}
	}
	return k
}

// lastEnd is where the last segment of periods ends on the K*D grid (as
// a dynamic MPD's SegmentTimeline lists it).
func lastEnd(periods []manifest.VoDPeriod) time.Time {
	var end time.Time
	for _, t := range periods[len(periods)-1].Tracks {
		ticks := (t.Segments[len(t.Segments)-1].LastK() + 1) * int64(t.SegDur)
		ts := int64(t.Timescale)
		e := time.Unix(ticks/ts, ticks%ts*int64(time.Second)/ts)
		if e.After(end) {
			end = e
		}
	}
	return end
}

// minSegDur is the shortest nominal segment duration of the periods'
// tracks, in seconds.
func minSegDur(periods []manifest.VoDPeriod) float64 {
	m := math.Inf(1)
	for _, vp := range periods {
		for _, t := range vp.Tracks {
			m = min(m, float64(t.SegDur)/float64(t.Timescale))
		}
	}
	return m
}
