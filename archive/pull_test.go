package archive_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// simSource is a simulated encoder served over HTTP on loopback.
type simSource struct {
	name string
	url  string // its MPD
	sim  *simulate.Server

	mu    sync.Mutex
	codes map[int]int // responses by status code
}

func (s *simSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
	s.sim.ServeHTTP(rec, r)
	s.mu.Lock()
	s.codes[rec.code]++
	s.mu.Unlock()
}

func (s *simSource) count(code int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.codes[code]
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

func startSim(tb testing.TB, name string, opts simulate.Options) *simSource {
	tb.Helper()
	s := &simSource{name: name, sim: testenv.NewSim(tb, opts), codes: map[int]int{}}
	srv := httptest.NewServer(s)
	tb.Cleanup(srv.Close)
	s.url = srv.URL + "/manifest.mpd"
	return s
}

// testLogger logs to the test's output (shown with -v or on failure).
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// pull records the sources into e's archive with opts (Channel and Sources
// filled in) and returns the stats and how long it took.
func (e *env) pull(t *testing.T, ctx context.Context, opts pull.Options, srcs ...*simSource) (*pull.Stats, time.Duration, error) {
	t.Helper()
	opts.Channel = testChannel
	for _, s := range srcs {
		opts.Sources = append(opts.Sources, pull.MPDSource{Name: s.name, MPDURL: s.url})
	}
	if opts.Stats == nil {
		opts.Stats = &pull.Stats{}
	}
	a := archive.New(e.store, e.db, testLogger(t))
	start := time.Now()
	err := pull.Record(ctx, a, opts)
	return opts.Stats, time.Since(start), err
}

// nowK is the epoch index of the segment the wall clock is in.
func nowK() int64 { return time.Now().UnixNano() / int64(segD) }

// checkConsistent checks that the index and the store agree: every segment
// row's object exists with the indexed size and sha256, and every media
// object of the channel has a row naming it.
func checkConsistent(t *testing.T, e *env) {
	t.Helper()
	ctx := context.Background()
	tracks, err := e.db.Tracks(ctx, e.ch.Info.ID)
	if err != nil {
		t.Fatal(err)
	}
	byRep := map[string]index.Track{}
	rows := 0
	for _, tr := range tracks {
		byRep[tr.Rep] = tr
		err := e.db.ForEachSegment(ctx, tr.ID, 0, 1<<62, func(s index.Segment) error {
			rows++
			if s.Key != layout.MediaKey(testChannel, tr.Rep, s.K, tr.Ext) {
				t.Errorf("%s %d: row key %s", tr.Rep, s.K, s.Key)
			}
			data, err := e.store.Get(ctx, s.Key)
			if err != nil {
				t.Errorf("%s %d: indexed, but the object: %v", tr.Rep, s.K, err)
				return nil
			}
			if int64(len(data)) != s.Size || sha(data) != s.SHA256 {
				t.Errorf("%s %d: object has %d bytes sha256 %.12s, index says %d bytes %.12s", tr.Rep, s.K, len(data), sha(data), s.Size, s.SHA256)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	objects := 0
	err = e.store.List(ctx, testChannel+"/", func(a cloud.Attrs) error {
		o, err := layout.Parse(a.Key)
		if err != nil {
			t.Errorf("unexpected key %s: %v", a.Key, err)
			return nil
		}
		if o.Kind != layout.KindMedia {
			return nil
		}
		objects++
		tr, ok := byRep[o.Rep]
		if !ok {
			t.Errorf("object %s of an unknown track", a.Key)
			return nil
		}
		s, ok, err := e.db.Segment(ctx, tr.ID, o.K)
		if err != nil {
			return err
		}
		if !ok || s.Key != a.Key {
			t.Errorf("object %s has no index row", a.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if objects != rows {
		t.Errorf("%d media objects, %d segment rows", objects, rows)
	}
}

// trackStatus returns the status of every track of the test channel by rep.
func trackStatus(t *testing.T, e *env) map[string]archive.TrackStatus {
	t.Helper()
	rep, err := e.a.Status(context.Background(), testChannel)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]archive.TrackStatus{}
	for _, ts := range rep.Channels[0].Tracks {
		out[ts.Rep] = ts
	}
	if len(out) != 2 {
		t.Fatalf("tracks %v; want video and audio", out)
	}
	return out
}

func sourceStatus(ts archive.TrackStatus, name string) archive.SourceStatus {
	for _, s := range ts.Sources {
		if s.Name == name {
			return s
		}
	}
	return archive.SourceStatus{}
}

// byOutcome returns, for K in [first, last] of rep, the outcome of each
// source's delivery ("" when it has none).
func (e *env) byOutcome(t *testing.T, rep string, first, last int64) map[int64]map[string]index.Outcome {
	t.Helper()
	names := map[int64]string{}
	srcs, err := e.db.Sources(context.Background(), e.ch.Info.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range srcs {
		names[s.ID] = s.Name
	}
	out := map[int64]map[string]index.Outcome{}
	for k := first; k <= last; k++ {
		out[k] = map[string]index.Outcome{}
		for _, d := range e.deliveries(t, rep, k) {
			if prev, ok := out[k][names[d.SourceID]]; ok {
				t.Errorf("%s %d: two deliveries from %s (%s, %s)", rep, k, names[d.SourceID], prev, d.Outcome)
			}
			out[k][names[d.SourceID]] = d.Outcome
		}
	}
	return out
}

// expectComplete checks that both tracks have at least min segments and no
// gap, and no conflicts or rejected deliveries.
func expectComplete(t *testing.T, e *env, minSegs int64) map[string]archive.TrackStatus {
	t.Helper()
	st := trackStatus(t, e)
	for rep, ts := range st {
		if ts.Segments < minSegs {
			t.Errorf("%s: %d segments (K %d..%d); want at least %d", rep, ts.Segments, ts.First, ts.Last, minSegs)
		}
		if len(ts.Gaps) != 0 || ts.Segments != ts.Last-ts.First+1 {
			t.Errorf("%s: gaps %v in K %d..%d (%d segments)", rep, ts.Gaps, ts.First, ts.Last, ts.Segments)
		}
		if ts.Conflicts != 0 {
			t.Errorf("%s: %d conflicts", rep, ts.Conflicts)
		}
		for _, s := range ts.Sources {
			if s.Rejected != 0 || s.Conflicts != 0 {
				t.Errorf("%s: source %+v", rep, s)
			}
		}
	}
	return st
}

// TestPullComplementaryDrops: each source loses segments the other has; the
// archive has them all, once, and each loss is a missing delivery.
func TestPullComplementaryDrops(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := startSim(t, "a", simulate.Options{Drop: func(rep string, k int64) bool { return rep == simulate.VideoRep && k%3 == 0 }})
	b := startSim(t, "b", simulate.Options{Drop: func(rep string, k int64) bool { return rep == simulate.AudioRep && k%3 == 1 }})
	stats, took, err := e.pull(t, context.Background(), pull.Options{For: 8 * time.Second, SegmentTimeout: 4 * time.Second}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded in %v: %d stored, %d duplicates, %d missing", took, stats.Stored.Load(), stats.Duplicates.Load(), stats.Missing.Load())
	st := expectComplete(t, e, 4)
	var stored int64
	for rep, ts := range st {
		stored += ts.Segments
		for k, by := range e.byOutcome(t, rep, ts.First, ts.Last) {
			dropper, keeper := "", ""
			switch {
			case rep == simulate.VideoRep && k%3 == 0:
				dropper, keeper = "a", "b"
			case rep == simulate.AudioRep && k%3 == 1:
				dropper, keeper = "b", "a"
			}
			if dropper == "" {
				continue
			}
			if by[dropper] != index.Missing && by[dropper] != "" {
				t.Errorf("%s %d: %s dropped it, its delivery is %q", rep, k, dropper, by[dropper])
			}
			if by[keeper] != index.Stored {
				t.Errorf("%s %d: deliveries %v; want stored from %s", rep, k, by, keeper)
			}
		}
		if m := sourceStatus(ts, map[string]string{simulate.VideoRep: "a", simulate.AudioRep: "b"}[rep]).Missing; m == 0 {
			t.Errorf("%s: no missing deliveries from the source that drops", rep)
		}
	}
	if stats.Stored.Load() != stored || stats.Rejected.Load() != 0 || stats.Conflicts.Load() != 0 {
		t.Errorf("stats: %d stored (index has %d), %d rejected, %d conflicts", stats.Stored.Load(), stored, stats.Rejected.Load(), stats.Conflicts.Load())
	}
	if a.count(http.StatusNotFound) == 0 || b.count(http.StatusNotFound) == 0 {
		t.Errorf("the simulators answered no 404: %v %v", a.codes, b.codes)
	}
	checkConsistent(t, e)
}

// TestPullSameDrop: a segment both sources lose is exactly the gap.
func TestPullSameDrop(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	drop := nowK() + 2
	dropFn := func(_ string, k int64) bool { return k == drop }
	a := startSim(t, "a", simulate.Options{Drop: dropFn})
	b := startSim(t, "b", simulate.Options{Drop: dropFn, Variant: 1})
	if _, _, err := e.pull(t, context.Background(), pull.Options{For: 8 * time.Second, SegmentTimeout: 4 * time.Second}, a, b); err != nil {
		t.Fatal(err)
	}
	for rep, ts := range trackStatus(t, e) {
		want := []index.Range{{From: drop, To: drop}}
		if fmt.Sprint(ts.Gaps) != fmt.Sprint(want) || ts.First >= drop || ts.Last <= drop {
			t.Errorf("%s: K %d..%d, gaps %v; want exactly %v", rep, ts.First, ts.Last, ts.Gaps, want)
		}
		if ts.Segments != ts.Last-ts.First {
			t.Errorf("%s: %d segments in K %d..%d; want all but one", rep, ts.Segments, ts.First, ts.Last)
		}
		by := e.byOutcome(t, rep, drop, drop)[drop]
		if by["a"] != index.Missing || by["b"] != index.Missing {
			t.Errorf("%s %d: deliveries %v; want missing from both", rep, drop, by)
		}
		// Every other K: one stored, one interchangeable duplicate.
		if ts.Duplicates+2 < ts.Segments {
			t.Errorf("%s: %d duplicates for %d segments", rep, ts.Duplicates, ts.Segments)
		}
		for _, s := range ts.Sources {
			if s.Identical != 0 {
				t.Errorf("%s: %s has %d bit-identical duplicates of a different variant", rep, s.Name, s.Identical)
			}
		}
	}
	checkConsistent(t, e)
}

// TestPullSourceDown: a source that is down for a while in the middle
// rejoins by itself; the other covers the outage, so there is no gap.
func TestPullSourceDown(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	start := time.Now()
	downFrom, downTo := 3*time.Second, 6*time.Second
	a := startSim(t, "a", simulate.Options{Start: start})
	b := startSim(t, "b", simulate.Options{Start: start, Down: []simulate.Interval{{From: downFrom, To: downTo}}})
	if _, _, err := e.pull(t, context.Background(), pull.Options{For: 10 * time.Second}, a, b); err != nil {
		t.Fatal(err)
	}
	if b.count(http.StatusServiceUnavailable) == 0 {
		t.Fatalf("source b was never seen down: %v", b.codes)
	}
	up := start.Add(downTo)
	for rep, ts := range expectComplete(t, e, 4) {
		rejoined := 0
		for k, by := range e.byOutcome(t, rep, ts.First, ts.Last) {
			avail := time.Unix(0, (k+1)*int64(segD))
			if by["a"] != index.Stored && by["b"] != index.Stored {
				t.Errorf("%s %d: deliveries %v; want one stored", rep, k, by)
			}
			if avail.After(up) && (by["b"] == index.Stored || by["b"] == index.Duplicate) {
				rejoined++
			}
		}
		if rejoined == 0 {
			t.Errorf("%s: no delivery from b of a segment available after its outage ended (%v)", rep, up.Sub(start))
		}
	}
	checkConsistent(t, e)
}

// TestPullLaggingSource: a source whose clock is 1.5 s behind publishes
// every segment late; within the segment timeout that is not "missing".
func TestPullLaggingSource(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := startSim(t, "a", simulate.Options{})
	b := startSim(t, "b", simulate.Options{ClockOffset: -1500 * time.Millisecond, Variant: 1})
	stats, took, err := e.pull(t, context.Background(), pull.Options{For: 8 * time.Second}, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Missing.Load() != 0 {
		t.Errorf("%d missing deliveries", stats.Missing.Load())
	}
	if b.count(http.StatusNotFound) == 0 {
		t.Logf("note: the lagging source never answered 404 (responses %v)", b.codes)
	}
	for rep, ts := range expectComplete(t, e, 4) {
		if s := sourceStatus(ts, "b"); s.Missing != 0 || s.Stored+s.Duplicates < ts.Segments-1 {
			t.Errorf("%s: lagging source %+v for %d segments", rep, s, ts.Segments)
		}
		if s := sourceStatus(ts, "a"); s.Missing != 0 {
			t.Errorf("%s: source a %+v", rep, s)
		}
	}
	if took > 14*time.Second {
		t.Errorf("recording for 8 s took %v", took)
	}
	checkConsistent(t, e)
}

// TestPullCancel: cancelling the context stops a recording promptly, and
// what was recorded is consistent in store and index.
func TestPullCancel(t *testing.T) {
	t.Parallel()
	for _, phase := range []time.Duration{5 * time.Millisecond, 40 * time.Millisecond} {
		t.Run(phase.String(), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			a := startSim(t, "a", simulate.Options{Drop: func(rep string, k int64) bool { return k%2 == 0 }})
			b := startSim(t, "b", simulate.Options{Variant: 1, ClockOffset: -300 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Cancel just after a segment boundary, while segments are in flight.
			cancelAt := time.Unix(0, (nowK()+3)*int64(segD)).Add(phase)
			timer := time.AfterFunc(time.Until(cancelAt), cancel)
			defer timer.Stop()
			done := make(chan error, 1)
			var took time.Duration
			go func() {
				_, d, err := e.pull(t, ctx, pull.Options{}, a, b)
				took = d
				done <- err
			}()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Errorf("RecordPull = %v; want context.Canceled", err)
				}
			case <-time.After(time.Until(cancelAt) + 5*time.Second):
				t.Fatal("RecordPull did not return within 5 s of the cancel")
			}
			if late := time.Since(cancelAt); late > 2*time.Second {
				t.Errorf("RecordPull returned %v after the cancel (ran %v)", late, took)
			}
			st := trackStatus(t, e)
			for rep, ts := range st {
				if ts.Segments < 2 {
					t.Errorf("%s: only %d segments before the cancel", rep, ts.Segments)
				}
			}
			checkConsistent(t, e)
			// Every delivery row that says stored has its segment row.
			for rep, ts := range st {
				for k, by := range e.byOutcome(t, rep, ts.First-1, ts.Last+1) {
					stored := 0
					for _, o := range by {
						if o == index.Stored {
							stored++
						}
					}
					if _, ok := e.Segment(t, rep, k); ok != (stored == 1) || stored > 1 {
						t.Errorf("%s %d: deliveries %v, indexed %v", rep, k, by, ok)
					}
				}
			}
			keys := e.Keys(t, testChannel+"/")
			sort.Strings(keys)
			t.Logf("%d objects after cancel", len(keys))
		})
	}
}

// TestPullRestartPeriod: a source announces an encoder restart with a new
// video init as a second Period starting during the recording. Every K is
// recorded (addressed in the Period that holds it), and each segment row
// names the init of its own Period, although the MPD lists the new init
// from the start.
func TestPullRestartPeriod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	restart := nowK() + 3
	src := startSim(t, "a", simulate.Options{RestartAt: restart, RestartInit: func(rep string, init []byte) []byte {
		if rep == simulate.VideoRep {
			return testenv.ModifiedVideoInit(t, init)
		}
		return init
	}})
	if _, _, err := e.pull(t, context.Background(), pull.Options{For: 10 * time.Second}, src); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for rep, ts := range expectComplete(t, e, 4) {
		if ts.First >= restart || ts.Last < restart {
			t.Fatalf("%s: K %d..%d do not span the restart at %d", rep, ts.First, ts.Last, restart)
		}
		inits, err := e.db.Inits(ctx, e.Track(t, rep).ID)
		if err != nil {
			t.Fatal(err)
		}
		byHash := map[string]int64{}
		for _, in := range inits {
			byHash[in.Hash] = in.ID
		}
		before, after := byHash[sha(testenv.MustInit(t, src.sim, rep))], byHash[sha(testenv.MustInit(t, src.sim, rep))]
		if rep == simulate.VideoRep {
			after = byHash[sha(testenv.ModifiedVideoInit(t, testenv.MustInit(t, src.sim, rep)))]
		}
		if before == 0 || after == 0 {
			t.Fatalf("%s: inits %+v lack the Periods' inits", rep, inits)
		}
		for k := ts.First; k <= ts.Last; k++ {
			seg, ok := e.Segment(t, rep, k)
			want := before
			if k >= restart {
				want = after
			}
			if ok && seg.InitID != want {
				t.Errorf("%s %d: init %d, want %d (the init of the Period that holds K; restart at %d)", rep, k, seg.InitID, want, restart)
			}
		}
	}
	checkConsistent(t, e)
}

// TestPullRenamedRepresentation: after an encoder restart announced as a
// new Period, the audio Representation has another id. The old id is a
// track that ends at the restart and the new one a track that starts
// there; no K after the old Period's end is asked of the source for the
// old id (no missing delivery).
func TestPullRenamedRepresentation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	restart := nowK() + 2
	sim := testenv.NewSim(t, simulate.Options{RestartAt: restart})
	const renamed = simulate.AudioRep + "2"
	src := &simSource{name: "a", sim: sim, codes: map[int]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/manifest.mpd" {
			body, err := sim.MPD()
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			head, p1, ok := strings.Cut(string(body), `<Period id="P1"`)
			if !ok {
				t.Errorf("simulator MPD without Period P1:\n%s", body)
			}
			w.Write([]byte(head + `<Period id="P1"` + strings.Replace(p1, `id="`+simulate.AudioRep+`"`, `id="`+renamed+`"`, 1)))
			return
		}
		r.URL.Path = strings.Replace(r.URL.Path, "/"+renamed+"/", "/"+simulate.AudioRep+"/", 1)
		src.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	src.url = srv.URL + "/manifest.mpd"
	stats, _, err := e.pull(t, context.Background(), pull.Options{For: 8 * time.Second, SegmentTimeout: 3 * time.Second}, src)
	if err != nil {
		t.Fatal(err)
	}
	if n := stats.Missing.Load(); n != 0 {
		t.Errorf("%d missing deliveries; want none (the old audio id is not asked for K after its Period)", n)
	}
	rep, err := e.a.Status(context.Background(), testChannel)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]archive.TrackStatus{}
	for _, ts := range rep.Channels[0].Tracks {
		got[ts.Rep] = ts
	}
	old, nw, video := got[simulate.AudioRep], got[renamed], got[simulate.VideoRep]
	if old.Segments == 0 || old.Last != restart-1 || nw.Segments == 0 || nw.First != restart || video.First > old.First || video.Last < nw.Last {
		t.Errorf("audio K %d..%d, %s K %d..%d, video K %d..%d: want audio to end at %d and %s to start there", old.First, old.Last, renamed, nw.First, nw.Last, video.First, video.Last, restart-1, renamed)
	}
	for _, ts := range got {
		if len(ts.Gaps) != 0 || ts.Segments != ts.Last-ts.First+1 {
			t.Errorf("%s: gaps %v in K %d..%d", ts.Rep, ts.Gaps, ts.First, ts.Last)
		}
	}
	checkConsistent(t, e)
}
