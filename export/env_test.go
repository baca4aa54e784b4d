package export_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// Test fixtures: a channel with the simulator's 2 s segments, numbered from
// an epoch index in 2026 so that EPTs need 64-bit tfdts.
const (
	testChannel = "ch1"
	segD        = 2 * time.Second
	k0          = int64(888_000_000) // 2026-04-12T…Z at D = 2 s

	videoSegDur = 180000 // D*T, video timescale 90000
	audioSegDur = 96000  // D*T, audio timescale 48000
)

var reps = archivetest.Reps

// env is an archive over a file store and an index in a temporary
// directory, recorded through archive and exported through x.
type env struct {
	*archivetest.Env
	dir      string // the test's temporary directory
	storeDir string
	store    *cloud.Store
	db       *index.DB
	a        *archive.Archive
	ch       *archive.Channel
	x        export.Deps
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvOn(tb, testenv.Store("file"))
}

// newEnvOn is newEnv with the store of the given kind (a new directory or
// bucket); storeDir is set for file stores only.
func newEnvOn(tb testing.TB, kind testenv.StoreKind) *env {
	tb.Helper()
	r, dir := archivetest.OpenOn(tb, kind, testChannel, segD)
	return &env{Env: r, dir: dir, storeDir: r.StoreDir, store: r.Store, db: r.DB, a: r.Archive, ch: r.Channel,
		x: export.Deps{Store: r.Store, DB: r.DB, Log: r.Archive.Log, Now: r.Archive.Now}}
}

// timing is the EPT and duration of the archived segment K of rep.
func (e *env) timing(rep string, k int64) (ept, dur uint64, ok bool) {
	ctx := context.Background()
	t, err := e.db.Track(ctx, e.ch.Info.ID, rep)
	if err != nil {
		return 0, 0, false
	}
	s, ok, err := e.db.Segment(ctx, t.ID, k)
	return s.EPT, s.Duration, ok && err == nil
}

// kTime is the wall-clock start of segment K (D = 2 s).
func kTime(k int64) time.Time { return time.Unix(0, k*int64(segD)).UTC() }

func fileURL(p string) string { return "file://" + filepath.ToSlash(p) }

func (e *env) export(t *testing.T, o export.Options) export.Result {
	t.Helper()
	if o.Channel == "" {
		o.Channel = testChannel
	}
	res, err := e.x.VoD(context.Background(), o)
	if err != nil {
		t.Fatalf("VoD: %v", err)
	}
	return res
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mediaKey(rep string, k int64) string { return layout.MediaKey(testChannel, rep, k, "m4s") }

func segDurOf(rep string) uint64 {
	if rep == simulate.AudioRep {
		return audioSegDur
	}
	return videoSegDur
}
