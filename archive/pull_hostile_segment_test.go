package archive_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestPullHostileSegments: a source that serves deeply nested box headers
// as its video segments gets them refused, quickly and with little memory,
// and the recorder keeps recording its audio. Before the fix the 10⁶-level
// segment killed the process (stack overflow in mp4ff) and each
// 20,000-level one took GBs (7.2 GB RSS in issue 10). Not parallel: it
// measures the process's allocations.
func TestPullHostileSegments(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
	}{
		{"1e6 nested moof", testenv.NestedBoxes(1_000_000, "moof", "moof", nil)},
		{"20k nested traf", testenv.NestedBoxes(20_000, "moof", "traf", make([]byte, 8))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			src := startHostileSim(t, "evil", tc.body)
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			stats, _, err := e.pull(t, context.Background(), pull.Options{For: 5 * time.Second, SegmentTimeout: 3 * time.Second}, src.simSource)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatalf("record: %v", err)
			}
			if src.hostile.Load() == 0 {
				t.Fatal("no hostile segment was fetched")
			}
			if stats.Rejected.Load() == 0 {
				t.Errorf("no segment rejected after %d hostile ones were served", src.hostile.Load())
			}
			st := trackStatus(t, e)
			if n := st[simulate.VideoRep].Segments; n != 0 {
				t.Errorf("%d hostile video segments stored", n)
			}
			if n := st[simulate.AudioRep].Segments; n == 0 {
				t.Error("no audio recorded beside the hostile video")
			}
			// Fetching and refusing a few segments of 160 KB and 8 MB, and
			// recording 5 s of audio, is well under 256 MB of allocations.
			t.Logf("%d hostile segments, %d rejected, %d MB allocated", src.hostile.Load(), stats.Rejected.Load(), (after.TotalAlloc-before.TotalAlloc)>>20)
			if n := after.TotalAlloc - before.TotalAlloc; n > 256<<20 {
				t.Errorf("recording allocated %d MB for %d hostile segments", n>>20, src.hostile.Load())
			}
		})
	}
}

// hostileSim serves the simulator's MPD, inits and audio, and body for
// every video media segment.
type hostileSim struct {
	*simSource
	hostile atomic.Int64
}

func startHostileSim(t *testing.T, name string, body []byte) *hostileSim {
	t.Helper()
	h := &hostileSim{simSource: &simSource{name: name, sim: testenv.NewSim(t, simulate.Options{}), codes: map[int]int{}}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/"+simulate.VideoRep+"/") && strings.HasSuffix(r.URL.Path, ".m4s") {
			h.hostile.Add(1)
			w.Header().Set("Content-Type", "video/mp4")
			_, _ = w.Write(body)
			return
		}
		h.simSource.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	h.url = srv.URL + "/manifest.mpd"
	return h
}
