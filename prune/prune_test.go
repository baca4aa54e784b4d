package prune_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/internal/testenv/mpdtest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/prune"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const (
	channel = "news"
	segD    = 2 * time.Second
)

// k0 is a K a little in the future, so that the objects written now are
// older than every horizon the tests prune at (inits are only deleted
// when stored before the horizon).
func k0() int64 { return time.Now().Add(5*time.Minute).UnixNano() / int64(segD) }

func kTime(k int64) time.Time { return time.Unix(0, k*int64(segD)).UTC() }

// recorded is an archive with segments K0..K0+9 of both tracks.
func recorded(t *testing.T, kind testenv.StoreKind) (*archivetest.Env, int64) {
	t.Helper()
	e, _ := archivetest.OpenOn(t, kind, channel, segD)
	k := k0()
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k, k+9)
	return e, k
}

// hold writes an active hold record of [from, to) into the store.
func hold(t *testing.T, e *archivetest.Env, id string, from, to time.Time) {
	t.Helper()
	r := &layout.HoldRecord{Version: layout.HoldRecordVersion, ID: id, Channel: channel, From: from, To: to, Reason: "test", Created: time.Now().UTC()}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.Create(context.Background(), layout.HoldKey(channel, id), b, nil); err != nil {
		t.Fatal(err)
	}
}

// ks are the K of rep's segment rows.
func ks(t *testing.T, e *archivetest.Env, rep string) []int64 {
	t.Helper()
	segs, err := e.DB.Segments(context.Background(), e.Track(t, rep).ID, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, g := range segs {
		out = append(out, g.K)
	}
	return out
}

// mediaKs are the K of rep's media objects in the store.
func mediaKs(t *testing.T, e *archivetest.Env, rep string) []int64 {
	t.Helper()
	var out []int64
	for _, key := range e.Keys(t, channel+"/"+rep+"/") {
		if o, err := layout.Parse(key); err == nil && o.Kind == layout.KindMedia {
			out = append(out, o.K)
		}
	}
	return out
}

// verifyClean fails unless verify --read-data finds no mismatch.
func verifyClean(t *testing.T, e *archivetest.Env) reconcile.Report {
	t.Helper()
	rep, err := reconcile.Verify(context.Background(), e.Store, e.DB, reconcile.VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != 0 {
		for _, c := range rep.Channels {
			for _, p := range c.Problems {
				t.Log(p)
			}
		}
		t.Fatalf("verify: %d mismatches", rep.Mismatches)
	}
	return rep
}

// TestPrune: a prune deletes the segments that end at or before the
// horizon, outside the holds, and their rows; what no remaining segment
// needs goes too; a dry run changes nothing; a second run finds nothing
// left (idempotent); verify is clean after every run.
func TestPrune(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		now       int64 // K whose start is Now, relative to K0
		retention time.Duration
		hold      [2]int64 // held K range [from, to) relative to K0, if to > from
		dryRun    bool
		want      []int64 // K left, relative to K0
		deleted   int     // segment objects deleted (dry run: that would be)
		inits     int     // init objects left per rep
	}{
		{name: "retention", now: 10, retention: 10 * time.Second, want: mpdtest.KRange(5, 9), deleted: 10, inits: 1},
		{name: "dry run", now: 10, retention: 10 * time.Second, dryRun: true, want: mpdtest.KRange(0, 9), deleted: 10, inits: 1},
		{name: "hold", now: 10, retention: 10 * time.Second, hold: [2]int64{1, 3}, want: []int64{1, 2, 5, 6, 7, 8, 9}, deleted: 6, inits: 1},
		{name: "horizon mid-segment keeps it", now: 10, retention: 9 * time.Second, want: mpdtest.KRange(5, 9), deleted: 10, inits: 1},
		{name: "all expired", now: 30, retention: time.Second, want: nil, deleted: 20, inits: 0},
		{name: "all expired but held", now: 30, retention: time.Second, hold: [2]int64{8, 9}, want: []int64{8}, deleted: 18, inits: 1},
	}
	for _, kind := range []string{"file", "s3"} {
		for _, tc := range cases {
			t.Run(kind+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				e, k := recorded(t, testenv.Store(kind))
				if tc.hold[1] > tc.hold[0] {
					hold(t, e, "00000000000000aa", kTime(k+tc.hold[0]), kTime(k+tc.hold[1]))
				}
				opts := prune.Options{Channel: channel, Retention: tc.retention, Now: kTime(k + tc.now), DryRun: tc.dryRun}
				res, err := prune.Channel(context.Background(), e.Store, e.DB, opts)
				if err != nil {
					t.Fatal(err)
				}
				want := make([]int64, 0, len(tc.want))
				for _, w := range tc.want {
					want = append(want, k+w)
				}
				if res.Deleted.Segments != tc.deleted || !res.Complete {
					t.Errorf("deleted %d segment objects (complete %v), want %d: %+v", res.Deleted.Segments, res.Complete, tc.deleted, res)
				}
				for _, rep := range archivetest.Reps {
					if got := mediaKs(t, e, rep); !slices.Equal(got, want) {
						t.Errorf("%s: store holds K %v, want %v", rep, got, want)
					}
					if tc.dryRun {
						continue
					}
					if got := ks(t, e, rep); !slices.Equal(got, want) {
						t.Errorf("%s: index holds K %v, want %v", rep, got, want)
					}
					if got := len(e.InitKeys(t, rep)); got != tc.inits {
						t.Errorf("%s: %d init objects, want %d", rep, got, tc.inits)
					}
				}
				verifyClean(t, e)
				again, err := prune.Channel(context.Background(), e.Store, e.DB, opts)
				if err != nil {
					t.Fatal(err)
				}
				if !tc.dryRun && again.Deleted.Objects != 0 {
					t.Errorf("second run deleted %+v, want nothing", again.Deleted)
				}
			})
		}
	}
}

// TestHeldRanges: a hold [from, to) keeps every segment that overlaps it.
func TestHeldRanges(t *testing.T) {
	t.Parallel()
	tr := index.Track{Timescale: 90000, SegDur: 180000}
	at := func(s float64) time.Time { return time.Unix(0, int64(s*float64(time.Second))).UTC() }
	cases := []struct {
		name  string
		holds [][2]float64 // seconds
		want  []index.Range
	}{
		{name: "aligned", holds: [][2]float64{{10, 20}}, want: []index.Range{{From: 5, To: 9}}},
		{name: "inside one segment", holds: [][2]float64{{10.5, 11}}, want: []index.Range{{From: 5, To: 5}}},
		{name: "unaligned", holds: [][2]float64{{9, 21}}, want: []index.Range{{From: 4, To: 10}}},
		{name: "merged", holds: [][2]float64{{10, 20}, {20, 24}, {0, 2}}, want: []index.Range{{From: 0, To: 0}, {From: 5, To: 11}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var hs []*layout.HoldRecord
			for _, h := range tc.holds {
				hs = append(hs, &layout.HoldRecord{From: at(h[0]), To: at(h[1])})
			}
			got := prune.HeldRanges(tr, hs)
			if len(got) != len(tc.want) {
				t.Fatalf("held %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("held %v, want %v", got, tc.want)
				}
			}
		})
	}
}

// errInjected is the fault the crash tests inject.
var errInjected = errors.New("injected fault")

// TestPruneInterrupted: a prune that fails after its mark, in the middle of
// its deletes, leaves a store that verify finds consistent (the vanished
// objects are expired, not missing) and that reindexes into an index
// without gaps; the next prune finishes it, and verify is clean.
func TestPruneInterrupted(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"file", "s3"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			e, k := recorded(t, testenv.Store(kind))
			ctx := context.Background()
			var deletes atomic.Int64
			// The second delete request fails: on a file store one key
			// is gone, on S3 (one DeleteObjects request per track here)
			// the first track's segments.
			e.Store.InjectFaults(func(op string) error {
				if op == "delete" && deletes.Add(1) > 1 {
					return errInjected
				}
				return nil
			})
			opts := prune.Options{Channel: channel, Retention: 10 * time.Second, Now: kTime(k + 10)}
			if _, err := prune.Channel(ctx, e.Store, e.DB, opts); !errors.Is(err, errInjected) {
				t.Fatalf("prune with a failing store: %v, want the injected fault", err)
			}
			e.Store.InjectFaults(nil)
			for _, rep := range archivetest.Reps { // every track is marked before anything is deleted
				if x, ok, err := e.DB.Expiry(ctx, e.Track(t, rep).ID); err != nil || !ok || x.StartK != k+5 {
					t.Errorf("%s: start %+v %v (%v) after the interrupted prune, want K %d", rep, x, ok, err, k+5)
				}
			}
			rep := verifyClean(t, e)
			// On a file store the fault falls between two keys of a track,
			// whose rows then outlive their objects (expired); on S3 the
			// first track's request deleted its objects and rows and the
			// second track's deleted nothing.
			if kind == "file" && rep.Expired == 0 {
				t.Errorf("verify of the half-pruned store found nothing expired")
			}
			checkReindex(t, e, k+5)
			res, err := prune.Channel(ctx, e.Store, e.DB, opts)
			if err != nil || !res.Complete {
				t.Fatalf("second prune: %v (complete %v)", err, res.Complete)
			}
			for _, rep := range archivetest.Reps {
				if got := mediaKs(t, e, rep); !slices.Equal(got, mpdtest.KRange(k+5, k+9)) {
					t.Errorf("%s: store holds K %v after the second prune", rep, got)
				}
			}
			if rep := verifyClean(t, e); rep.Expired != 0 {
				t.Errorf("verify after the second prune: %d expired rows left", rep.Expired)
			}
		})
	}
}

// checkReindex rebuilds a fresh index from e's store and checks that it
// starts at startK without gaps.
func checkReindex(t *testing.T, e *archivetest.Env, startK int64) {
	t.Helper()
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := reconcile.Reindex(ctx, e.Store, db, reconcile.Options{Channel: channel}); err != nil {
		t.Fatal(err)
	}
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range tracks {
		x, ok, err := db.Expiry(ctx, tr.ID)
		if err != nil || !ok || x.StartK != startK {
			t.Errorf("%s: reindexed archive start %v %v (%v), want K %d", tr.Rep, x, ok, err, startK)
		}
		gaps, err := db.Gaps(ctx, tr.ID, math.MinInt64, math.MaxInt64)
		if err != nil || len(gaps) != 0 {
			t.Errorf("%s: reindexed gaps %v (%v), want none", tr.Rep, gaps, err)
		}
	}
}

// TestPruneSharedBucket: two recorders, each with its own index, on one
// bucket. One prunes; the other's verify counts what it deleted as
// expired (the store's expiry marker says so), not missing; its own prune
// then finishes without errors, and both verify clean.
func TestPruneSharedBucket(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.Store("s3").URL(t)
	a := archivetest.Open(t, url, filepath.Join(t.TempDir(), "a.db"), channel, segD)
	b := archivetest.Open(t, url, filepath.Join(t.TempDir(), "b.db"), channel, segD)
	k := k0()
	sim := testenv.NewSim(t, simulate.Options{})
	a.Fill(t, "enc1", sim, k, k+9)
	b.Fill(t, "enc2", sim, k, k+9)
	opts := prune.Options{Channel: channel, Retention: 10 * time.Second, Now: kTime(k + 10)}
	if _, err := prune.Channel(ctx, a.Store, a.DB, opts); err != nil {
		t.Fatal(err)
	}
	if rep := verifyClean(t, b); rep.Expired != 2*5 {
		t.Errorf("verify of the other index: %d expired, want 10", rep.Expired)
	}
	res, err := prune.Channel(ctx, b.Store, b.DB, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted.Segments != 10 || !res.Complete {
		t.Errorf("second recorder's prune: %+v", res)
	}
	for _, e := range []*archivetest.Env{a, b} {
		verifyClean(t, e)
		for _, rep := range archivetest.Reps {
			if got := ks(t, e, rep); !slices.Equal(got, mpdtest.KRange(k+5, k+9)) {
				t.Errorf("%s: index holds K %v", rep, got)
			}
			if n := len(e.InitKeys(t, rep)); n != 1 {
				t.Errorf("%s: %d inits left, want 1", rep, n)
			}
		}
	}
	if keys := a.Keys(t, channel+"/"+layout.ExpiryPrefix); len(keys) != 1 || !strings.HasSuffix(keys[0], ".json") {
		t.Errorf("expiry markers %v, want one", keys)
	}
}

// TestPruneKeepsInitsAhead: a recorder whose index ends before another
// recorder's (sharing the store) keeps the init segments that the other's
// newer segments decode with, though no row of its own index needs them
// any more: decided from the segments in storage.
func TestPruneKeepsInitsAhead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.Store("s3").URL(t)
	behind := archivetest.Open(t, url, filepath.Join(t.TempDir(), "behind.db"), channel, segD)
	ahead := archivetest.Open(t, url, filepath.Join(t.TempDir(), "ahead.db"), channel, segD)
	k := k0()
	sim := testenv.NewSim(t, simulate.Options{})
	behind.Fill(t, "a", sim, k, k+4)
	ahead.Fill(t, "b", sim, k+5, k+9)
	res, err := prune.Channel(ctx, behind.Store, behind.DB, prune.Options{Channel: channel, Retention: 10 * time.Second, Now: kTime(k + 10)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Deleted.Segments != 10 || res.Deleted.Inits != 0 {
		t.Errorf("deleted %+v, want the 10 segments and no init", res.Deleted)
	}
	for _, rep := range archivetest.Reps {
		if n := len(ahead.InitKeys(t, rep)); n != 1 {
			t.Errorf("%s: %d init segments left, want 1", rep, n)
		}
	}
	verifyClean(t, ahead)
}

// TestMinFreeHorizon: the horizon that frees a number of bytes is the end
// of the oldest segments (of every track) that hold that many.
func TestMinFreeHorizon(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, k := recorded(t, testenv.Store("file"))
	size := func(n int64) int64 { // of K0..K0+n-1, both tracks
		var s int64
		for _, rep := range archivetest.Reps {
			for i := range n {
				g, _ := e.Segment(t, rep, k+i)
				s += g.Size
			}
		}
		return s
	}
	cases := []struct {
		name string
		need int64
		want time.Time
	}{
		{name: "one byte", need: 1, want: kTime(k + 1)},
		{name: "three segments", need: size(3), want: kTime(k + 3)},
		{name: "three and a byte", need: size(3) + 1, want: kTime(k + 4)},
		{name: "more than all", need: size(10) + 1, want: kTime(k + 20)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, ok, err := prune.MinFreeHorizon(ctx, e.DB, tc.need, kTime(k+20))
			if err != nil || !ok || !h.Equal(tc.want) {
				t.Fatalf("horizon %s %v (%v), want %s", h, ok, err, tc.want)
			}
		})
	}
}
