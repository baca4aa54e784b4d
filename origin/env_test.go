package origin_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestMain runs the tests, or, with REAPARCHIVE_BENCH_HAMMER set, is the
// load generator of BenchmarkOriginManifest24h8Tracks (hammerMain).
func TestMain(m *testing.M) {
	if url := os.Getenv(hammerEnv); url != "" {
		os.Exit(hammerMain(url))
	}
	os.Exit(testenv.Main(m))
}

// Fixtures: the simulator's 2 s segments from an epoch index in 2026.
const (
	channel = "ch1"
	segD    = 2 * time.Second
	k0      = int64(888_000_000)
	lastK   = k0 + 20
	gapK    = k0 + 12 // both encoders lost it
)

// kTime is the wall-clock start of segment K.
func kTime(k int64) time.Time { return time.Unix(0, k*int64(segD)).UTC() }

// liveNow is a clock at which every recorded K is past the edge lag.
var liveNow = kTime(lastK + 1).Add(origin.DefaultEdgeLag + 300*time.Millisecond)

// recorded is an archive of K k0..lastK but gapK from encoder a, with
// encoder b's copies of a few K (a second encoder), recorded through
// archive.
func recorded(tb testing.TB) *archivetest.Env {
	tb.Helper()
	e, _ := archivetest.OpenOn(tb, testenv.Store("file"), channel, segD)
	e.Fill(tb, "a", testenv.NewSim(tb, simulate.Options{}), k0, lastK, gapK)
	e.Fill(tb, "b", testenv.NewSim(tb, simulate.Options{}), k0+5, k0+8)
	return e
}

// reindexed is a second index over e's store, rebuilt from storage alone.
func reindexed(tb testing.TB, e *archivetest.Env) *index.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(tb.TempDir(), "reindexed.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := reconcile.Reindex(ctx, e.Store, db, reconcile.Options{Channel: channel}); err != nil {
		tb.Fatal(err)
	}
	return db
}

// clock is a settable clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// newServer is an origin over e's store and db at the clock's time (unless
// cfg has its own clock).
func newServer(tb testing.TB, e *archivetest.Env, db *index.DB, c *clock, cfg origin.Config) *origin.Server {
	tb.Helper()
	cfg.Store, cfg.DB = e.Store, db
	if cfg.Now == nil {
		cfg.Now = c.now
	}
	s, err := origin.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// get sends a request to h and returns the response and its body.
func get(tb testing.TB, h http.Handler, method, target string, hdr map[string]string) (*http.Response, []byte) {
	tb.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res, body
}

// mustGet is get of a GET that must answer 200.
func mustGet(tb testing.TB, h http.Handler, target string) []byte {
	tb.Helper()
	res, body := get(tb, h, http.MethodGet, target, nil)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", target, res.StatusCode, bytes.TrimSpace(body))
	}
	return body
}

// originConfig is the configuration of the tests' origins.
func originConfig() origin.Config { return origin.Config{} }
