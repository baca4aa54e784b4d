package archive_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// lockedBuffer is a log sink safe for concurrent writers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// pullWithin runs pull.Record of one source at mpdURL into e's archive and
// fails the test if it has not returned within bound. It returns the log.
func (e *env) pullWithin(t *testing.T, ctx context.Context, opts pull.Options, mpdURL string, bound time.Duration) string {
	t.Helper()
	logs := &lockedBuffer{}
	a := archive.New(e.store, e.db, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo})))
	opts.Channel = testChannel
	opts.Sources = []pull.MPDSource{{Name: "a", MPDURL: mpdURL}}
	done := make(chan error, 1)
	began := time.Now()
	go func() { done <- pull.Record(ctx, a, opts) }()
	select {
	case err := <-done:
		if err != nil && ctx.Err() == nil {
			t.Errorf("RecordPull: %v", err)
		}
		t.Logf("RecordPull returned after %v", time.Since(began))
	case <-time.After(bound):
		t.Fatalf("RecordPull (For %v) did not return within %v; log:\n%s", opts.For, bound, logs.String())
	}
	return logs.String()
}

// TestPullHostileMPD: a source whose MPD hung dash-mpd v0.16.0 forever
// (issue 10 item 3: the 6-byte body ">\n    ") no longer keeps the recorder
// from stopping at For or at cancellation, and the error names the cause.
func TestPullHostileMPD(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		body   string
		For    time.Duration
		cancel time.Duration
	}{
		{"6-byte body, For 2s", ">\n    ", 2 * time.Second, 0},
		{"6-byte body, cancelled", ">\n    ", 0, 1500 * time.Millisecond},
		{"raw > in element text, For 2s", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic">x>y</MPD>`, 2 * time.Second, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/dash+xml")
				_, _ = w.Write([]byte(c.body))
			}))
			t.Cleanup(srv.Close)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if c.cancel > 0 {
				timer := time.AfterFunc(c.cancel, cancel)
				defer timer.Stop()
			}
			logs := e.pullWithin(t, ctx, pull.Options{For: c.For}, srv.URL+"/manifest.mpd", 6*time.Second)
			if !strings.Contains(logs, "unescaped '>' in character data") {
				t.Errorf("the log does not name the MPD's fault:\n%s", logs)
			}
		})
	}
}

// manyRepsSource serves a dynamic MPD with n video Representations ($Number$,
// D = 2 s), the simulator's video init for each after delay, and 404 for
// media. It counts init requests and the most served at once.
type manyRepsSource struct {
	n     int
	delay time.Duration
	init  []byte

	inits, active, maxActive atomic.Int64
}

func (s *manyRepsSource) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/manifest.mpd":
		var reps strings.Builder
		for i := range s.n {
			fmt.Fprintf(&reps, `<Representation id="v%d" bandwidth="%d" width="640" height="360"/>`, i, 100000+i)
		}
		w.Header().Set("Content-Type", "application/dash+xml")
		fmt.Fprintf(w, `<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z" timeShiftBufferDepth="PT60S" minimumUpdatePeriod="PT2S" minBufferTime="PT2S" profiles="urn:mpeg:dash:profile:isoff-live:2011">
<Period id="p0" start="PT0S"><AdaptationSet id="1" contentType="video" mimeType="video/mp4" codecs="avc1.64001e">
<SegmentTemplate media="$RepresentationID$/$Number$.cmfv" initialization="$RepresentationID$/init.cmfv" timescale="90000" duration="180000" startNumber="0"/>
%s</AdaptationSet></Period></MPD>`, reps.String())
	case strings.HasSuffix(r.URL.Path, "/init.cmfv"):
		s.inits.Add(1)
		now := s.active.Add(1)
		defer s.active.Add(-1)
		for {
			m := s.maxActive.Load()
			if now <= m || s.maxActive.CompareAndSwap(m, now) {
				break
			}
		}
		time.Sleep(s.delay)
		_, _ = w.Write(s.init)
	default:
		http.NotFound(w, r)
	}
}

// TestPullManyRepresentations (issue 10 item 6): a source declaring 10,000
// Representations is refused with an error naming the count, without
// fetching a single init, and For still ends the recording; with 64, the
// inits are fetched concurrently and the recording ends at For.
func TestPullManyRepresentations(t *testing.T) {
	t.Parallel()
	video := testenv.MustInit(t, testenv.NewSim(t, simulate.Options{}), simulate.VideoRep)
	cases := []struct {
		name       string
		reps       int
		delay      time.Duration
		wantLog    string
		wantInits  int64
		wantTracks int
	}{
		{"10000 refused", 10000, 0, "declares 10000 Representations; at most 256", 0, 0},
		{"64 concurrently", 64, 100 * time.Millisecond, "following source", 64, 64},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			src := &manyRepsSource{n: c.reps, delay: c.delay, init: video}
			srv := httptest.NewServer(src)
			t.Cleanup(srv.Close)
			opts := pull.Options{For: 2 * time.Second, SegmentTimeout: time.Second}
			logs := e.pullWithin(t, context.Background(), opts, srv.URL+"/manifest.mpd", 6*time.Second)
			if !strings.Contains(logs, c.wantLog) {
				t.Errorf("log lacks %q:\n%.3000s", c.wantLog, logs)
			}
			if got := src.inits.Load(); got != c.wantInits {
				t.Errorf("%d init requests; want %d", got, c.wantInits)
			}
			if c.wantInits > 1 && src.maxActive.Load() < 2 {
				t.Errorf("at most %d init request at once; want them concurrent", src.maxActive.Load())
			}
			tracks, err := e.db.Tracks(context.Background(), e.ch.Info.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(tracks) != c.wantTracks {
				t.Errorf("%d tracks described; want %d", len(tracks), c.wantTracks)
			}
		})
	}
}

// TestPullCatchUp (issue 10 item 9): what the archive lacks within the
// source's time-shift window is fetched when the recorder starts again
// after a stop, and when a source rejoins after an outage longer than the
// segment timeout; gaps then reports none.
func TestPullCatchUp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// runs are recordings of the given lengths, with pause between them.
		runs    []time.Duration
		pause   time.Duration
		down    []simulate.Interval
		timeout time.Duration
	}{
		{"restart", []time.Duration{4 * time.Second, 4 * time.Second}, 6 * time.Second, nil, 0},
		{"rejoin", []time.Duration{13 * time.Second}, 0, []simulate.Interval{{From: 2 * time.Second, To: 9 * time.Second}}, time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			a := startSim(t, "a", simulate.Options{Start: time.Now(), Down: c.down})
			var missedFrom, missedTo int64 // K no recording followed live
			for i, d := range c.runs {
				if i > 0 {
					missedFrom = nowK()
					time.Sleep(c.pause)
					missedTo = nowK() - 1
				}
				if _, _, err := e.pull(t, context.Background(), pull.Options{For: d, SegmentTimeout: c.timeout}, a); err != nil {
					t.Fatal(err)
				}
			}
			if c.down != nil && a.count(http.StatusServiceUnavailable) == 0 {
				t.Fatalf("the source was never seen down: %v", a.codes)
			}
			for rep, ts := range expectComplete(t, e, 4) {
				if missedTo > missedFrom && (ts.First > missedFrom || ts.Last < missedTo) {
					t.Errorf("%s: K %d..%d does not span the stop %d..%d", rep, ts.First, ts.Last, missedFrom, missedTo)
				}
			}
			checkConsistent(t, e)
		})
	}
}
