package reconcile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

const (
	channel = "news"
	k0      = int64(888_000_000) // 2026 at D = 2 s
)

var reps = []string{simulate.VideoRep, simulate.AudioRep}

// fixture is a recorded archive: a store of some kind and the recorder's
// index.
type fixture struct {
	dir   string
	store *cloud.Store
	db    *index.DB // the recorder's index
	sim   *simulate.Server
	ks    []int64 // recorded K (both tracks)
}

// record records ks from a simulated encoder into a new store of kind as a
// pull recorder does: init segments, the I-MPD (stored and described), the
// segments.
func record(t *testing.T, kind testenv.StoreKind, ks ...int64) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{dir: t.TempDir(), sim: testenv.NewSim(t, simulate.Options{}), ks: ks}
	var err error
	if f.store, err = cloud.Open(ctx, kind.URL(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.store.Close() })
	f.db = openIndex(t, filepath.Join(f.dir, "recorder.db"))
	a := archive.New(f.store, f.db, nil)
	ch, err := a.OpenChannel(ctx, channel, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	mpdBytes, err := f.sim.MPD()
	if err != nil {
		t.Fatal(err)
	}
	mpdBytes = withLabel(t, mpdBytes, "audio", audioLabel)
	live, err := manifest.ParseLive(mpdBytes, "")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(mpdBytes)
	if err := f.store.Create(ctx, layout.IMPDKey(channel, hex.EncodeToString(sum[:])), mpdBytes, map[string]string{layout.MetaSource: "a"}); err != nil {
		t.Fatal(err)
	}
	for i := range live.Tracks {
		if err := ch.DescribeTrack(ctx, archive.TrackMetaOf(&live.Tracks[i])); err != nil {
			t.Fatal(err)
		}
	}
	for _, rep := range reps {
		init, err := f.sim.Init(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
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
	// An export in the same store is not part of the archive.
	if err := f.store.Create(ctx, "vod/day.mpd", []byte("<MPD/>"), nil); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Create(ctx, "vod/"+channel+"/"+simulate.VideoRep+"/1.m4s", []byte("copy"), nil); err != nil {
		t.Fatal(err)
	}
	return f
}

// audioLabel is the Label of the audio AdaptationSet in the fixture's
// I-MPD: reindex must restore it from there.
const audioLabel = "Stereo (simulated)"

// withLabel adds a Label to the AdaptationSet of contentType ct in an MPD.
func withLabel(t testing.TB, mpdBytes []byte, ct, label string) []byte {
	t.Helper()
	open := regexp.MustCompile(`<AdaptationSet[^>]*contentType="` + ct + `"[^>]*>`)
	loc := open.FindIndex(mpdBytes)
	if loc == nil {
		t.Fatalf("no %s AdaptationSet in %s", ct, mpdBytes)
	}
	return slices.Concat(mpdBytes[:loc[1]], []byte("<Label>"+label+"</Label>"), mpdBytes[loc[1]:])
}

func openIndex(t testing.TB, path string) *index.DB {
	t.Helper()
	db, err := index.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// indexDump is what two indexes of one store must agree on.
type indexDump struct {
	tracks map[string]index.Track // ID and ChannelID cleared
	inits  map[string][]string    // rep -> "hash key size firstK config"
	segs   map[string][]string    // rep -> "K ept dur size sha key inithash"
	gaps   map[string][]index.Range
}

func dump(t testing.TB, db *index.DB) indexDump {
	t.Helper()
	ctx := context.Background()
	d := indexDump{tracks: map[string]index.Track{}, inits: map[string][]string{}, segs: map[string][]string{}, gaps: map[string][]index.Range{}}
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range tracks {
		inits, err := db.Inits(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		hashOf := map[int64]string{}
		for _, in := range inits {
			hashOf[in.ID] = in.Hash
			d.inits[tr.Rep] = append(d.inits[tr.Rep], fmt.Sprintf("%s %s %d %d %s", in.Hash, in.Key, in.Size, in.FirstK, in.ConfigHash))
		}
		segs, err := db.Segments(ctx, tr.ID, math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range segs {
			d.segs[tr.Rep] = append(d.segs[tr.Rep], fmt.Sprintf("%d %d %d %d %s %s %s", g.K, g.EPT, g.Duration, g.Size, g.SHA256, g.Key, hashOf[g.InitID]))
		}
		if d.gaps[tr.Rep], err = db.Gaps(ctx, tr.ID, math.MinInt64, math.MaxInt64); err != nil {
			t.Fatal(err)
		}
		tr.ID, tr.ChannelID = 0, 0
		d.tracks[tr.Rep] = tr
	}
	return d
}

func sameIndex(t testing.TB, want, got indexDump) {
	t.Helper()
	if len(got.tracks) != len(want.tracks) {
		t.Errorf("tracks %v, want %v", got.tracks, want.tracks)
	}
	for rep, wt := range want.tracks {
		if gt := got.tracks[rep]; gt != wt {
			t.Errorf("%s: track\n %+v\nwant\n %+v", rep, gt, wt)
		}
		if g, w := got.inits[rep], want.inits[rep]; !slices.Equal(g, w) {
			t.Errorf("%s: inits\n %q\nwant\n %q", rep, g, w)
		}
		if g, w := got.segs[rep], want.segs[rep]; !slices.Equal(g, w) {
			t.Errorf("%s: segments\n %q\nwant\n %q", rep, g, w)
		}
		if g, w := got.gaps[rep], want.gaps[rep]; fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("%s: gaps %v, want %v", rep, g, w)
		}
	}
}

// withoutAttributes copies f's archive objects into a new store of kind
// without their reap-* attributes (as another tool would copy them).
func withoutAttributes(t *testing.T, f *fixture, kind testenv.StoreKind) *cloud.Store {
	t.Helper()
	ctx := context.Background()
	st, err := cloud.Open(ctx, kind.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = f.store.List(ctx, channel+"/", func(a cloud.Attrs) error {
		data, err := f.store.Get(ctx, a.Key)
		if err != nil {
			return err
		}
		return st.Create(ctx, a.Key, data, nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestReindex rebuilds an index from the store alone, on every kind of
// store: the result describes the store exactly as the recorder's index
// does (tracks, inits, segment rows, gaps).
func TestReindex(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		f := record(t, kind, k0, k0+1, k0+2, k0+4, k0+5) // a gap at k0+3
		want := dump(t, f.db)
		if got := want.tracks[simulate.AudioRep].Label; got != audioLabel {
			t.Fatalf("recorded audio track label %q, want the I-MPD's %q", got, audioLabel)
		}
		n := int64(len(f.ks) * len(reps))
		cases := []struct {
			name string
			// prepare returns the store to reindex and the index to
			// reindex into.
			prepare func(t *testing.T) (*cloud.Store, *index.DB)
			batch   int // segment rows built and inserted at a time; 0: the default
			want    reconcile.ReindexChannel
		}{
			{
				name: "fresh index",
				prepare: func(t *testing.T) (*cloud.Store, *index.DB) {
					return f.store, openIndex(t, filepath.Join(t.TempDir(), "fresh.db"))
				},
				want: reconcile.ReindexChannel{Tracks: 2, Inits: 2, NewInits: 2, Objects: n, Indexed: n, AttributesRead: n},
			},
			{
				name: "fresh index, in batches of 2 rows",
				prepare: func(t *testing.T) (*cloud.Store, *index.DB) {
					return f.store, openIndex(t, filepath.Join(t.TempDir(), "batches.db"))
				},
				batch: 2,
				want:  reconcile.ReindexChannel{Tracks: 2, Inits: 2, NewInits: 2, Objects: n, Indexed: n, AttributesRead: n},
			},
			{
				name: "resumed after an interruption",
				prepare: func(t *testing.T) (*cloud.Store, *index.DB) {
					db := openIndex(t, filepath.Join(t.TempDir(), "resumed.db"))
					if _, err := reconcile.Reindex(context.Background(), f.store, db, reconcile.Options{}); err != nil {
						t.Fatal(err)
					}
					// As if the run had stopped before its last batch.
					ch, _ := db.Channel(context.Background(), channel)
					for _, rep := range reps {
						tr, err := db.Track(context.Background(), ch.ID, rep)
						if err != nil {
							t.Fatal(err)
						}
						for _, k := range []int64{k0 + 4, k0 + 5} {
							if err := db.DeleteSegment(context.Background(), tr.ID, k); err != nil {
								t.Fatal(err)
							}
						}
					}
					return f.store, db
				},
				want: reconcile.ReindexChannel{Tracks: 2, Inits: 2, Objects: n, Indexed: 4, AlreadyIndexed: n - 4, AttributesRead: 4},
			},
			{
				name: "the recorder's own index is up to date",
				prepare: func(t *testing.T) (*cloud.Store, *index.DB) {
					return f.store, f.db
				},
				want: reconcile.ReindexChannel{Tracks: 2, Inits: 2, Objects: n, AlreadyIndexed: n},
			},
			{
				name: "objects without attributes",
				prepare: func(t *testing.T) (*cloud.Store, *index.DB) {
					return withoutAttributes(t, f, kind), openIndex(t, filepath.Join(t.TempDir(), "noattrs.db"))
				},
				want: reconcile.ReindexChannel{Tracks: 2, Inits: 2, NewInits: 2, Objects: n, Indexed: n, BodiesRead: n, AttributesRead: n},
			},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				st, db := tc.prepare(t)
				var progress []reconcile.Progress
				opts := reconcile.Options{Workers: 4, Progress: func(p reconcile.Progress) { progress = append(progress, p) }}
				if tc.batch > 0 {
					opts = reconcile.WithBatchSize(opts, tc.batch)
				}
				res, err := reconcile.Reindex(context.Background(), st, db, opts)
				if err != nil {
					t.Fatal(err)
				}
				if len(res.Channels) != 1 {
					t.Fatalf("channels %+v; want %s only (vod/ is an export)", res.Channels, channel)
				}
				got := res.Channels[0]
				tc.want.Name, tc.want.Problems = channel, []reconcile.Problem{}
				if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.want) {
					t.Errorf("result\n %+v\nwant\n %+v", got, tc.want)
				}
				if len(progress) == 0 || !progress[len(progress)-1].Final || progress[len(progress)-1].Listed != n+2 {
					t.Errorf("progress %+v; want a final report of %d objects listed", progress, n+2)
				}
				sameIndex(t, want, dump(t, db))
				// Archive status (what storage can tell) is the same.
				sameStatus(t, f.db, db)
			})
		}
	})
}

func sameStatus(t testing.TB, want, got *index.DB) {
	t.Helper()
	status := func(db *index.DB) string {
		rep, err := archive.New(nil, db, nil).Status(context.Background(), channel)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, tr := range rep.Channels[0].Tracks {
			fmt.Fprintf(&b, "%s %s %s %d %d %s %s %d %v\n", tr.Rep, tr.ContentType, tr.Codecs, tr.First, tr.Last, tr.FirstTime, tr.LastTime, tr.Segments, tr.Gaps)
		}
		return b.String()
	}
	if g, w := status(got), status(want); g != w {
		t.Errorf("status\n%s\nwant\n%s", g, w)
	}
}

// TestReindexProblems: objects that are not what their key says are not
// indexed, and are reported.
func TestReindexProblems(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		ctx := context.Background()
		f := record(t, kind, k0, k0+1)
		st := withoutAttributes(t, f, kind)
		v := simulate.VideoRep
		// Not a segment; a segment under another K's key; a bad init key.
		if err := st.Create(ctx, layout.MediaKey(channel, v, k0+7, "m4s"), []byte("<html>not found</html>"), nil); err != nil {
			t.Fatal(err)
		}
		seg, err := f.sim.Segment(v, k0+1)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Create(ctx, layout.MediaKey(channel, v, k0+9, "m4s"), seg, nil); err != nil {
			t.Fatal(err)
		}
		if err := st.Create(ctx, channel+"/"+v+"/init-XYZ.mp4", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		db := openIndex(t, filepath.Join(t.TempDir(), "p.db"))
		res, err := reconcile.Reindex(ctx, st, db, reconcile.Options{Channel: channel})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Channels[0]
		var kinds []string
		for _, p := range got.Problems {
			kinds = append(kinds, p.Kind+" "+p.Key)
		}
		slices.Sort(kinds)
		wantKinds := []string{
			reconcile.Corrupt + " " + layout.MediaKey(channel, v, k0+7, "m4s"),
			reconcile.Corrupt + " " + layout.MediaKey(channel, v, k0+9, "m4s"),
			reconcile.Unreadable + " " + channel + "/" + v + "/init-XYZ.mp4",
		}
		if !slices.Equal(kinds, wantKinds) {
			t.Errorf("problems %q\nwant %q", kinds, wantKinds)
		}
		if got.Indexed != 4 {
			t.Errorf("%d indexed; want the 4 good segments", got.Indexed)
		}
		sameIndex(t, dump(t, f.db), dump(t, db))

		// An init segment the media objects name is gone: they are indexed
		// (with the newest init there is, none here), and it is reported
		// once.
		var initKey string
		_ = f.store.List(ctx, channel+"/"+simulate.AudioRep+"/init-", func(a cloud.Attrs) error { initKey = a.Key; return nil })
		if err := f.store.Delete(ctx, initKey); err != nil {
			t.Fatal(err)
		}
		res, err = reconcile.Reindex(ctx, f.store, openIndex(t, filepath.Join(t.TempDir(), "noinit.db")), reconcile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ps := res.Channels[0].Problems
		if len(ps) != 1 || ps[0].Kind != reconcile.InitMissing || ps[0].Key != initKey || !strings.Contains(ps[0].Detail, "2 media objects") {
			t.Errorf("problems %v; want one init_missing for %s", ps, initKey)
		}
		if res.Channels[0].Indexed != 4 {
			t.Errorf("%d indexed; want all 4", res.Channels[0].Indexed)
		}
	})
}

// TestVerify: verify finds each kind of disagreement between an index and
// its store, and --repair-index fixes the index side, on every kind of
// store.
func TestVerify(t *testing.T) {
	t.Parallel()
	v, a := simulate.VideoRep, simulate.AudioRep
	type fixFn func(t *testing.T, f *fixture)
	ctx := context.Background()
	trackID := func(t *testing.T, db *index.DB, rep string) int64 {
		ch, err := db.Channel(ctx, channel)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := db.Track(ctx, ch.ID, rep)
		if err != nil {
			t.Fatal(err)
		}
		return tr.ID
	}
	deleteObject := func(rep string, k int64) fixFn {
		return func(t *testing.T, f *fixture) {
			if err := f.store.Delete(ctx, layout.MediaKey(channel, rep, k, "m4s")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// corrupt flips a byte at the end of an object (in the mdat), keeping
	// its size and its attributes.
	corrupt := func(rep string, k int64) fixFn {
		return func(t *testing.T, f *fixture) {
			key := layout.MediaKey(channel, rep, k, "m4s")
			at, err := f.store.Attributes(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			data, err := f.store.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-1] ^= 0xff
			if err := f.store.Put(ctx, key, data, at.Meta); err != nil {
				t.Fatal(err)
			}
		}
	}
	// replace overwrites an object with other bytes of the same size and
	// no attributes, as a tool other than reaparchive would.
	replace := func(rep string, k int64) fixFn {
		return func(t *testing.T, f *fixture) {
			key := layout.MediaKey(channel, rep, k, "m4s")
			data, err := f.store.Get(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)-1] ^= 0xff
			if err := f.store.Put(ctx, key, data, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	type result struct {
		kinds    []string // sorted "kind rep K"
		repaired int
	}
	cases := []struct {
		name     string
		damage   []fixFn
		readData bool
		want     result // verify
		repaired result // verify --repair-index
		after    result // verify (--read-data as the case) after the repair
		gaps     map[string][]index.Range
	}{
		{name: "clean"},
		{name: "clean, read data", readData: true},
		{
			name:     "deleted object",
			damage:   []fixFn{deleteObject(v, k0+1)},
			want:     result{kinds: []string{"missing_object video 1"}},
			repaired: result{kinds: []string{"missing_object video 1"}, repaired: 1},
			gaps:     map[string][]index.Range{v: {{From: k0 + 1, To: k0 + 1}}},
		},
		{
			name:   "corrupt object, listing only",
			damage: []fixFn{corrupt(a, k0+2)},
		},
		{
			name:     "corrupt object, read data",
			damage:   []fixFn{corrupt(a, k0+2)},
			readData: true,
			want:     result{kinds: []string{"sha256_mismatch audio 2"}},
			// The row goes (K is a gap); the object stays and is reported
			// until someone removes it.
			repaired: result{kinds: []string{"sha256_mismatch audio 2"}, repaired: 1},
			after:    result{kinds: []string{"not_indexed audio 2"}},
			gaps:     map[string][]index.Range{a: {{From: k0 + 2, To: k0 + 2}}},
		},
		{
			name:     "object replaced without attributes",
			damage:   []fixFn{replace(a, k0+2)},
			readData: true,
			want:     result{kinds: []string{"sha256_mismatch audio 2"}},
			repaired: result{kinds: []string{"sha256_mismatch audio 2"}, repaired: 1},
			after:    result{kinds: []string{"not_indexed audio 2"}},
			gaps:     map[string][]index.Range{a: {{From: k0 + 2, To: k0 + 2}}},
		},
		{
			name:     "deleted and corrupt objects",
			damage:   []fixFn{deleteObject(v, k0), corrupt(v, k0+2)},
			readData: true,
			want:     result{kinds: []string{"missing_object video 0", "sha256_mismatch video 2"}},
			repaired: result{kinds: []string{"missing_object video 0", "sha256_mismatch video 2"}, repaired: 2},
			after:    result{kinds: []string{"not_indexed video 2"}},
			gaps:     map[string][]index.Range{v: {{From: k0 + 2, To: k0 + 2}}},
		},
		{
			name: "row missing from the index",
			damage: []fixFn{func(t *testing.T, f *fixture) {
				if err := f.db.DeleteSegment(ctx, trackID(t, f.db, v), k0+1); err != nil {
					t.Fatal(err)
				}
			}},
			want:     result{kinds: []string{"not_indexed video 1"}},
			repaired: result{kinds: []string{"not_indexed video 1"}, repaired: 1},
		},
		{
			name: "stale index row",
			damage: []fixFn{func(t *testing.T, f *fixture) {
				id := trackID(t, f.db, a)
				g, _, err := f.db.Segment(ctx, id, k0)
				if err != nil {
					t.Fatal(err)
				}
				g.SHA256 = strings.Repeat("0", 64)
				if err := f.db.InsertSegments(ctx, []index.Segment{g}, true); err != nil {
					t.Fatal(err)
				}
			}},
			readData: true,
			want:     result{kinds: []string{"sha256_mismatch audio 0"}},
			repaired: result{kinds: []string{"sha256_mismatch audio 0"}, repaired: 1},
		},
		{
			name: "size differs",
			damage: []fixFn{func(t *testing.T, f *fixture) {
				id := trackID(t, f.db, v)
				g, _, err := f.db.Segment(ctx, id, k0+2)
				if err != nil {
					t.Fatal(err)
				}
				g.Size++
				if err := f.db.InsertSegments(ctx, []index.Segment{g}, true); err != nil {
					t.Fatal(err)
				}
			}},
			want:     result{kinds: []string{"size_mismatch video 2"}},
			repaired: result{kinds: []string{"size_mismatch video 2"}, repaired: 1},
		},
		{
			name: "init segment deleted",
			damage: []fixFn{func(t *testing.T, f *fixture) {
				var key string
				_ = f.store.List(ctx, channel+"/"+a+"/init-", func(at cloud.Attrs) error { key = at.Key; return nil })
				if err := f.store.Delete(ctx, key); err != nil {
					t.Fatal(err)
				}
			}},
			// Not repairable in the index: the rows decode with it.
			want:     result{kinds: []string{"init_missing audio -"}},
			repaired: result{kinds: []string{"init_missing audio -"}},
			after:    result{kinds: []string{"init_missing audio -"}},
		},
	}
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				f := record(t, kind, k0, k0+1, k0+2, k0+3)
				for _, d := range tc.damage {
					d(t, f)
				}
				run := func(repair bool) result {
					t.Helper()
					rep, err := reconcile.Verify(ctx, f.store, f.db, reconcile.VerifyOptions{ReadData: tc.readData, RepairIndex: repair})
					if err != nil {
						t.Fatal(err)
					}
					var r result
					for _, c := range rep.Channels {
						if c.Name != channel {
							t.Errorf("verified channel %q; the store and index have only %s", c.Name, channel)
						}
						for _, p := range c.Problems {
							k := "-"
							if p.K != nil {
								k = fmt.Sprint(*p.K - k0)
							}
							r.kinds = append(r.kinds, p.Kind+" "+p.Rep+" "+k)
						}
					}
					slices.Sort(r.kinds)
					r.repaired = rep.Repaired
					if rep.Mismatches != len(r.kinds) {
						t.Errorf("Mismatches %d, %d problems listed", rep.Mismatches, len(r.kinds))
					}
					return r
				}
				check := func(what string, got, want result) {
					t.Helper()
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("%s: %v, want %v", what, got, want)
					}
				}
				check("verify", run(false), tc.want)
				check("verify --repair-index", run(true), tc.repaired)
				check("verify after the repair", run(false), tc.after)
				for _, rep := range reps {
					gaps, err := f.db.Gaps(ctx, trackID(t, f.db, rep), math.MinInt64, math.MaxInt64)
					if err != nil {
						t.Fatal(err)
					}
					if fmt.Sprint(gaps) != fmt.Sprint(tc.gaps[rep]) {
						t.Errorf("%s: gaps after the repair %v, want %v", rep, gaps, tc.gaps[rep])
					}
				}
			})
		}
	})
}

// TestMain shares one MinIO and one fake-gcs-server among the package's
// tests (internal/testenv), and stops them at the end.
func TestMain(m *testing.M) {
	code := testenv.Main(m)
	removeBenchDirs()
	os.Exit(code)
}
