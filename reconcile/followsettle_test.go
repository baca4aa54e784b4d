package reconcile_test

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/prune"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/repair"
	"github.com/reaparchive/reaparchive/simulate"
)

// kTime is the start of K at D = 2 s.
func kTime(k int64) time.Time { return time.Unix(k*2, 0).UTC() }

// newFollower is a Follower of f's store into a new index, after its
// first (full) pass.
func newFollower(t *testing.T, f *fixture) (*reconcile.Follower, *index.DB) {
	t.Helper()
	db := openIndex(t, filepath.Join(f.dir, "follower.db"))
	fo := reconcile.NewFollower(f.store, db, reconcile.FollowOptions{Options: reconcile.Options{Channel: channel}, FullEvery: time.Hour})
	if p, err := fo.Pass(t.Context()); err != nil || !p.Full {
		t.Fatalf("first pass: %+v, %v; want a full one", p, err)
	}
	return fo, db
}

// fastPass runs a pass of fo that must be a fast one.
func fastPass(t *testing.T, fo *reconcile.Follower, what string) reconcile.FollowPass {
	t.Helper()
	p, err := fo.Pass(t.Context())
	if err != nil || p.Full {
		t.Fatalf("%s: %+v, %v; want a fast pass", what, p, err)
	}
	return p
}

// followerClean fails unless verify finds the follower's index db in
// line with f's store, with nothing expired left in it.
func followerClean(t *testing.T, f *fixture, db *index.DB) {
	t.Helper()
	rep, err := reconcile.Verify(t.Context(), f.store, db, reconcile.VerifyOptions{Options: reconcile.Options{Channel: channel}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != 0 || rep.Expired != 0 {
		for _, c := range rep.Channels {
			for _, p := range c.Problems {
				t.Log(p)
			}
		}
		t.Errorf("verify of the follower's index: %d mismatches, %d expired; want none", rep.Mismatches, rep.Expired)
	}
}

// TestFollowPrune prunes the recorder's archive (marker, objects, rows,
// and what no segment needs: an expired splice) while a follower follows
// it, on a file store and on S3 (MinIO), with and without a hold: the
// next fast pass removes the follower's rows before the archive's start
// outside the hold, keeps the held ones, drops the expired splice, and
// leaves an index that verify finds clean and that agrees with the
// recorder's; so does the full pass of a follower started again on that
// index (a full pass is a Reindex, which keeps rows as they are).
func TestFollowPrune(t *testing.T) {
	t.Parallel()
	for _, kind := range []testenv.StoreKind{testenv.Store("file"), testenv.Store("s3")} {
		for _, tt := range []struct {
			name          string
			held, restart bool
		}{{"no hold", false, false}, {"hold", true, false}, {"restarted follower", true, true}} {
			t.Run(kind.Name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				testFollowPrune(t, kind, tt.held, tt.restart)
			})
		}
	}
}

func testFollowPrune(t *testing.T, kind testenv.StoreKind, held, restart bool) {
	ctx := t.Context()
	base := time.Now().Unix()/2 - 60
	f := record(t, kind, span(base-40, base+9)...)
	spliceIt(t, f, base-38, base-36) // ends before the horizon: prune deletes it
	fo, db := newFollower(t, f)
	start, heldKs := base-20, []int64(nil)
	if held {
		heldKs = span(base-30, base-26)
		rec := &layout.HoldRecord{Version: layout.HoldRecordVersion, ID: "0123456789abcdef", Channel: channel,
			From: kTime(base - 30), To: kTime(base - 25), Reason: "test", Created: time.Now().UTC()}
		data, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.Create(ctx, layout.HoldKey(channel, rec.ID), data, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := prune.Channel(ctx, f.store, f.db, prune.Options{Channel: channel, Horizon: kTime(start)}); err != nil {
		t.Fatal(err)
	}
	if restart {
		fo = reconcile.NewFollower(f.store, db, reconcile.FollowOptions{Options: reconcile.Options{Channel: channel}, FullEvery: time.Hour})
	}
	p, err := fo.Pass(ctx)
	if err != nil || p.Full != restart {
		t.Fatalf("the pass after the prune: %+v, %v; want full %v", p, err, restart)
	}
	if want := int64(len(reps) * (20 - len(heldKs))); p.Removed != want || p.Undone != 1 {
		t.Errorf("the pass after the prune removed %d rows and %d splices; want %d rows, 1 splice (%+v)", p.Removed, p.Undone, want, p)
	}
	for _, rep := range reps {
		for k := base - 40; k < start; k++ {
			_, ok := segmentOf(t, db, rep, k)
			if want := slices.Contains(heldKs, k); ok != want {
				t.Errorf("%s K %d (archive start %d, held %v): in the follower's index %v, want %v", rep, k, start, heldKs, ok, want)
			}
		}
	}
	if sps, err := db.Splices(ctx, 1); err != nil || len(sps) != 0 {
		t.Errorf("the follower's splices after the expired one was pruned: %+v, %v; want none", sps, err)
	}
	followerClean(t, f, db)
	sameIndex(t, dump(t, f.db), dump(t, db))
	if p = fastPass(t, fo, "once more"); p.Removed != 0 || p.Undone != 0 {
		t.Errorf("a pass with no new marker: %+v; want nothing removed", p)
	}
}

// TestFollowSpliceUndo undoes a splice in the recorder's archive (index,
// record, replacements) while a follower follows it, on a file store and
// on S3 (MinIO), then splices the range again: each is reflected by the
// next fast pass, the follower's rows name the objects the store holds
// (verify is clean) and agree with the recorder's.
func TestFollowSpliceUndo(t *testing.T) {
	t.Parallel()
	for _, kind := range []testenv.StoreKind{testenv.Store("file"), testenv.Store("s3")} {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			testFollowSpliceUndo(t, kind)
		})
	}
}

func testFollowSpliceUndo(t *testing.T, kind testenv.StoreKind) {
	base := time.Now().Unix()/2 - 60
	f := record(t, kind, span(base, base+9)...)
	fo, db := newFollower(t, f)
	steps := []struct {
		what        string
		do          func()
		applied     int
		undone      int
		wantSpliced bool
	}{
		{"splice", func() { spliceIt(t, f, base+2, base+4) }, 1, 0, true},
		{"undo", func() { undoIt(t, f) }, 0, 1, false},
		{"splice again", func() { spliceIt(t, f, base+3, base+5) }, 1, 0, true},
		{"undo again", func() { undoIt(t, f) }, 0, 1, false},
	}
	for _, s := range steps {
		s.do()
		p := fastPass(t, fo, s.what)
		if p.Splices != s.applied || p.Undone != s.undone {
			t.Errorf("%s: %d splices applied, %d undone; want %d, %d (%+v)", s.what, p.Splices, p.Undone, s.applied, s.undone, p)
		}
		for _, rep := range reps {
			if g, ok := segmentOf(t, db, rep, base+4); !ok || isSpliced(g.Key) != s.wantSpliced {
				t.Errorf("%s: %s K %d is %+v; want spliced %v", s.what, rep, base+4, g, s.wantSpliced)
			}
		}
		followerClean(t, f, db)
		sameIndex(t, dump(t, f.db), dump(t, db))
	}
}

// undoIt undoes the latest splice of f's channel (as `reaparchive splice
// --undo` does, in the recorder's index).
func undoIt(t *testing.T, f *fixture) {
	t.Helper()
	if _, err := repair.UndoSplice(t.Context(), f.archive(), repair.UndoOptions{Channel: channel,
		From: time.Unix(0, 0), To: time.Unix(math.MaxInt32, 0)}); err != nil {
		t.Fatal(err)
	}
}

// TestFollowGoneInit deletes an init segment no segment decodes with (as
// prune does once the segments that needed it expired) while a follower
// follows the store, on a file store and on S3 (MinIO): the next fast pass
// deletes its row, and verify finds the follower's index clean.
func TestFollowGoneInit(t *testing.T) {
	t.Parallel()
	for _, kind := range []testenv.StoreKind{testenv.Store("file"), testenv.Store("s3")} {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			base := time.Now().Unix()/2 - 60
			f := record(t, kind, span(base, base+9)...)
			data, err := f.sim.Init(simulate.VideoRep)
			if err != nil {
				t.Fatal(err)
			}
			data = testenv.ModifiedVideoInit(t, data) // an encoder restart's, say
			sum := sha256.Sum256(data)
			key := layout.InitKey(channel, simulate.VideoRep, hex.EncodeToString(sum[:]))
			if err := f.store.Create(ctx, key, data, nil); err != nil {
				t.Fatal(err)
			}
			fo, db := newFollower(t, f)
			if !hasInit(t, db, key) {
				t.Fatalf("the first pass did not index %s", key)
			}
			if err := f.store.Delete(ctx, key); err != nil {
				t.Fatal(err)
			}
			fastPass(t, fo, "after the delete")
			if hasInit(t, db, key) {
				t.Errorf("the follower's index still has %s, deleted from the store", key)
			}
			followerClean(t, f, db)
		})
	}
}

// hasInit reports whether db has a row of the init segment key.
func hasInit(t *testing.T, db *index.DB, key string) bool {
	t.Helper()
	ch, err := db.Channel(t.Context(), channel)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.Track(t.Context(), ch.ID, simulate.VideoRep)
	if err != nil {
		t.Fatal(err)
	}
	ins, err := db.Inits(t.Context(), tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(ins, func(in index.Init) bool { return in.Key == key })
}

// TestFollowLateCopy stores copies hours late into gaps of the archive (as
// repair --fill-from and a second recorder do, through OfferSegment), far
// behind the K a fast pass lists around the newest segment and the clock,
// while a follower follows it, on a file store, S3 (MinIO) and GCS
// (fake-gcs-server): one gap is indexed by the next fast pass; more gaps
// than a pass lists (FollowGapLists) by the passes after, in turn; each
// pass within its bound of List calls.
func TestFollowLateCopy(t *testing.T) {
	t.Parallel()
	for _, kind := range []testenv.StoreKind{testenv.Store("file"), testenv.Store("s3"), testenv.Store("gs")} {
		for _, tt := range []struct {
			name   string
			gaps   int
			passes int // fast passes until every late copy is indexed
		}{{"one gap", 1, 1}, {"more gaps than a pass lists", 6, 2}} {
			t.Run(kind.Name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				testFollowLateCopy(t, kind, tt.gaps, tt.passes)
			})
		}
	}
}

func testFollowLateCopy(t *testing.T, kind testenv.StoreKind, gaps, passes int) {
	base := time.Now().Unix()/2 - 60
	var late []int64 // K 200 s and more before the newest, one every 20 K
	for i := range gaps {
		late = append(late, base-100-int64(20*i))
	}
	f := record(t, kind, span(base-250, base+9, late...)...)
	fo, db := newFollower(t, f)
	f.offer(t, late...)
	indexed := func() (n int) {
		for _, k := range late {
			if _, ok := segmentOf(t, db, simulate.VideoRep, k); ok {
				n++
			}
		}
		return n
	}
	for i := 1; i <= passes; i++ {
		p := fastPass(t, fo, "after the late copies")
		// <ch>/, per track one block around its newest K and the clock's,
		// FollowGapLists gaps (one request each), its inits.
		if maxCalls := int64(1 + len(reps)*(2+reconcile.FollowGapLists+1)); p.ListCalls > maxCalls {
			t.Errorf("pass %d made %d List calls, want at most %d", i, p.ListCalls, maxCalls)
		}
		if want := min(gaps, i*reconcile.FollowGapLists); indexed() != want {
			t.Errorf("after %d fast passes %d of %d late copies are indexed, want %d", i, indexed(), gaps, want)
		}
	}
	followerClean(t, f, db)
	sameIndex(t, dump(t, f.db), dump(t, db))
}
