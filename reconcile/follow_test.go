package reconcile_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/repair"
	"github.com/reaparchive/reaparchive/simulate"
)

// offer records ks of both tracks from f's encoder into f's archive, as
// the recorder sharing the bucket does while a follower follows it.
func (f *fixture) offer(t *testing.T, ks ...int64) {
	t.Helper()
	ctx := context.Background()
	ch, err := f.archive().OpenChannel(ctx, channel, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range reps {
		for _, k := range ks {
			data, err := f.sim.Segment(rep, k)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: rep, Data: data, ExpectK: k}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (f *fixture) archive() *archive.Archive { return archive.New(f.store, f.db, nil) }

// span is from..to, without skip.
func span(from, to int64, skip ...int64) []int64 {
	var ks []int64
	for k := from; k <= to; k++ {
		if !slices.Contains(skip, k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// TestFollow follows a recording into a second index, pass by pass, on a
// file store and on S3 (MinIO): the first pass indexes what the store has;
// a fast pass indexes new segments with a bounded number of List calls that
// never list the channel's old segments; a late copy behind the newest
// segment and a splice are picked up; and in the end the follower's index
// agrees with the recorder's.
func TestFollow(t *testing.T) {
	t.Parallel()
	for _, kind := range []testenv.StoreKind{testenv.Store("file"), testenv.Store("s3")} {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			testFollow(t, kind)
		})
	}
}

func testFollow(t *testing.T, kind testenv.StoreKind) {
	ctx := t.Context()
	now := time.Now()
	base := now.Unix()/2 - 60 // K of a minute before the clock's, at D = 2 s
	old := span(base-1000, base-941)
	gap := base + 5
	f := record(t, kind, append(old, span(base, base+9, gap)...)...)
	db := openIndex(t, filepath.Join(f.dir, "follower.db"))
	clock := now
	fo := reconcile.NewFollower(f.store, db, reconcile.FollowOptions{Options: reconcile.Options{Channel: channel}, FullEvery: time.Hour,
		Now: func() time.Time { return clock }})
	pass := func(what string, wantFull bool, wantIndexed int64) reconcile.FollowPass {
		t.Helper()
		p, err := fo.Pass(ctx)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if p.Full != wantFull || p.Indexed != wantIndexed {
			t.Fatalf("%s: full %v, %d indexed; want full %v, %d indexed (%+v)", what, p.Full, p.Indexed, wantFull, wantIndexed, p)
		}
		return p
	}
	has := func(what string, ks ...int64) {
		t.Helper()
		for _, rep := range reps {
			for _, k := range ks {
				if _, ok := segmentOf(t, db, rep, k); !ok {
					t.Errorf("%s: the follower's index lacks %s K %d", what, rep, k)
				}
			}
		}
	}

	full := pass("first pass", true, int64(2*(len(old)+9)))
	has("first pass", span(base, base+9, gap)...)
	pass("nothing new", false, 0)

	f.offer(t, span(base+10, base+12)...)
	p := pass("new segments", false, 6)
	has("new segments", base+10, base+11, base+12)
	// <ch>/, then per track at most two blocks of K around its newest and
	// around the clock's K (here one range), its one gap (between the old
	// segments and the new), and its inits.
	if maxCalls := int64(1 + len(reps)*(2+1+1)); p.ListCalls > maxCalls {
		t.Errorf("a fast pass made %d List calls, want at most %d", p.ListCalls, maxCalls)
	}
	// It lists the I-MPD, the inits and the K of the last hundreds, never the
	// old ones (a full pass lists them all).
	recent := int64(1 + len(reps)*(1+12+reconcile.FollowGapPage))
	if p.Listed > recent || full.Listed < int64(len(reps)*(len(old)+9)) {
		t.Errorf("a fast pass listed %d keys (want at most %d), the full one %d (want all %d old segments too)", p.Listed, recent, full.Listed, len(reps)*len(old))
	}

	f.offer(t, gap) // a late copy, behind the newest
	pass("late copy", false, 2)
	has("late copy", gap)

	// A second object for a K is reported by the pass that lists it first
	// only, though later passes list it again.
	second := channel + "/" + simulate.VideoRep + "/" + strconv.FormatInt(base+11, 10) + ".mp4"
	if err := f.store.Create(ctx, second, []byte("second"), nil); err != nil {
		t.Fatal(err)
	}
	if p = pass("second object", false, 0); p.Problems != 1 || len(p.Channels) != 1 || p.Channels[0].Problems[0].Key != second {
		t.Errorf("a second object for a K: %+v; want it reported", p)
	}
	f.offer(t, base+13)
	if p = pass("after the second object", false, 2); p.Problems != 0 {
		t.Errorf("the pass after the one that reported %s: %+v; want no problem", second, p)
	}

	spliceIt(t, f, base+2, base+4)
	p = pass("splice", false, 0)
	if p.Splices != 1 {
		t.Errorf("splice pass: %d splices applied, want 1 (%+v)", p.Splices, p)
	}
	for _, rep := range reps {
		if g, ok := segmentOf(t, db, rep, base+3); !ok || !isSpliced(g.Key) {
			t.Errorf("%s K %d after the splice: %+v; want its replacement's row", rep, base+3, g)
		}
	}

	// A pass after a failed one, and one --full-every after the last full
	// pass, is a full one.
	failed, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := fo.Pass(failed); err == nil {
		t.Errorf("a pass with its context cancelled did not fail")
	}
	pass("after a failed pass", true, 0)
	clock = clock.Add(59 * time.Minute)
	pass("59 minutes later", false, 0)
	clock = clock.Add(time.Minute)
	pass("an hour later", true, 0)
	sameIndex(t, dump(t, f.db), dump(t, db))
}

// segmentOf is the row of rep's segment K in db.
func segmentOf(t *testing.T, db *index.DB, rep string, k int64) (index.Segment, bool) {
	t.Helper()
	ctx := context.Background()
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.Track(ctx, ch.ID, rep)
	if err != nil {
		t.Fatal(err)
	}
	g, ok, err := db.Segment(ctx, tr.ID, k)
	if err != nil {
		t.Fatal(err)
	}
	return g, ok
}

// spliceIt splices from..to of f's channel from another encoder (as
// `reaparchive splice` does, into the recorder's index).
func spliceIt(t *testing.T, f *fixture, from, to int64) {
	t.Helper()
	srv := httptest.NewServer(testenv.NewSim(t, simulate.Options{Variant: 1}))
	t.Cleanup(srv.Close)
	url := srv.URL + "/manifest.mpd"
	src, err := repair.OpenMPD(t.Context(), repair.NameFor(url), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	kt := func(k int64) time.Time { return time.Unix(k*2, 0).UTC() }
	if _, err := repair.Splice(t.Context(), f.archive(), src, repair.SpliceOptions{Channel: channel, From: kt(from), To: kt(to + 1)}); err != nil {
		t.Fatal(err)
	}
}

func isSpliced(key string) bool {
	o, err := layout.Parse(key)
	return err == nil && o.Kind == layout.KindSpliced
}

// TestBlockPrefixes checks the listing prefixes of K ranges: at most two
// blocks of 10^n K, across a change of digit count, and the whole
// directory for K of the first block.
func TestBlockPrefixes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		lo, hi int64
		want   []string
	}{
		{898012340, 898012349, []string{"89801234"}},
		{898012338, 898012342, []string{"89801233", "89801234"}},
		{898012310, 898012395, []string{"8980123"}},
		{898012350, 898012430, []string{"8980123", "8980124"}},
		{99990, 100010, []string{"999", "1000"}},
		{3, 40, []string{""}},
		{7, 7, []string{"7"}},
	}
	for _, tt := range tests {
		if got := reconcile.BlockPrefixes(tt.lo, tt.hi); !slices.Equal(got, tt.want) {
			t.Errorf("blockPrefixes(%d, %d) = %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
}
