package indexobj_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/indexobj"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
)

// hour0 is the first hour (Unix hours) of the fixture's segments: at
// D = 2 s, hour h holds K 1800h..1800h+1799.
const hour0 = int64(493_300)

// fixture is an index with one track (D = 2 s) whose segments fill hour0
// (with a gap at its K 1) and the first K of the next hour, and a store.
type fixture struct {
	st  *cloud.Store
	db  *index.DB
	ch  index.ChannelRow
	trk index.Track
	h16 string
}

func newFixture(t *testing.T, kind testenv.StoreKind) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{}
	var err error
	if f.st, err = cloud.Open(ctx, kind.URL(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.st.Close() })
	if f.db, err = index.Open(ctx, filepath.Join(t.TempDir(), "index.db")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.db.Close() })
	if f.ch, err = f.db.EnsureChannel(ctx, "news"); err != nil {
		t.Fatal(err)
	}
	src, err := f.db.EnsureSource(ctx, f.ch.ID, "a", "")
	if err != nil {
		t.Fatal(err)
	}
	if f.trk, err = f.db.UpsertTrack(ctx, index.Track{ChannelID: f.ch.ID, Rep: "V300", ContentType: "video", Timescale: 1000, SegDur: 2000, Ext: "m4s"}); err != nil {
		t.Fatal(err)
	}
	hash := strings.Repeat("ab", 32)
	f.h16 = layout.InitID(hash)
	in, err := f.db.AddInit(ctx, index.Init{TrackID: f.trk.ID, Hash: hash, Key: layout.InitKey("news", "V300", hash), Size: 10, FirstK: 1800 * hour0})
	if err != nil {
		t.Fatal(err)
	}
	var segs []index.Segment
	for k := 1800 * hour0; k <= 1800*(hour0+1); k++ {
		if k == 1800*hour0+1 {
			continue // a gap
		}
		segs = append(segs, index.Segment{TrackID: f.trk.ID, K: k, EPT: uint64(k) * 2000, Duration: 2000, Size: 100 + k%7,
			SHA256: fmt.Sprintf("%064x", k), Key: layout.MediaKey("news", "V300", k, "m4s"), InitID: in.ID, SourceID: src.ID,
			ReceivedAt: time.Unix(k*2, 0), Last: k == 1800*(hour0+1)})
	}
	if err := f.db.InsertSegments(ctx, segs, false); err != nil {
		t.Fatal(err)
	}
	return f
}

// indexObjects is the keys of the index objects in the store.
func (f *fixture) indexObjects(t *testing.T) []string {
	t.Helper()
	var keys []string
	err := f.st.List(context.Background(), "news/", func(a cloud.Attrs) error {
		if o, err := layout.Parse(a.Key); err == nil && o.Kind == layout.KindIndex {
			keys = append(keys, a.Key)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestWriter: a complete hour is written once, with every segment row
// of it; an hour not complete yet is not written; a second pass (of the
// same writer, or of a new one, as after a restart) writes nothing new;
// an object already in the store is left alone.
func TestWriter(t *testing.T) {
	t.Parallel()
	end0 := time.Unix((hour0+1)*3600, 0) // the end of hour0
	key0 := layout.IndexObjectKey("news", "V300", 1800*hour0, 1800*hour0+1799)
	key1 := layout.IndexObjectKey("news", "V300", 1800*(hour0+1), 1800*(hour0+1)+1799)
	type pass struct {
		now       time.Time
		fresh     bool // a new Writer
		wantNew   int
		wantStore []string
	}
	cases := []struct {
		name    string
		present []byte // an object at key0 before the first pass
		passes  []pass
	}{
		{name: "hour not complete", passes: []pass{
			{now: end0.Add(indexobj.DefaultSettle - time.Second), wantNew: 0},
		}},
		{name: "complete hour once", passes: []pass{
			{now: end0.Add(indexobj.DefaultSettle), wantNew: 1, wantStore: []string{key0}},
			{now: end0.Add(indexobj.DefaultSettle + time.Minute), wantNew: 0, wantStore: []string{key0}},
			{now: end0.Add(indexobj.DefaultSettle + time.Minute), fresh: true, wantNew: 0, wantStore: []string{key0}},
			{now: end0.Add(time.Hour + indexobj.DefaultSettle), wantNew: 1, wantStore: []string{key0, key1}},
			{now: end0.Add(5 * time.Hour), fresh: true, wantNew: 0, wantStore: []string{key0, key1}},
		}},
		{name: "existing object left alone", present: []byte("not mine"), passes: []pass{
			{now: end0.Add(time.Hour + indexobj.DefaultSettle), wantNew: 1, wantStore: []string{key0, key1}},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
				ctx := context.Background()
				f := newFixture(t, kind)
				if c.present != nil {
					if err := f.st.Create(ctx, key0, c.present, nil); err != nil {
						t.Fatal(err)
					}
				}
				var w *indexobj.Writer
				for i, p := range c.passes {
					if w == nil || p.fresh {
						w = indexobj.New(f.st, f.db, 0, nil)
					}
					res, err := w.All(ctx, p.now)
					if err != nil {
						t.Fatalf("pass %d: %v", i, err)
					}
					if res.Objects != p.wantNew {
						t.Errorf("pass %d: wrote %d objects, want %d", i, res.Objects, p.wantNew)
					}
					if got := f.indexObjects(t); !slices.Equal(got, p.wantStore) {
						t.Errorf("pass %d: store has %q, want %q", i, got, p.wantStore)
					}
				}
				if c.present != nil {
					if got, err := f.st.Get(ctx, key0); err != nil || string(got) != string(c.present) {
						t.Errorf("object at %s: %q, %v; want it left alone", key0, got, err)
					}
					return
				}
				if last := c.passes[len(c.passes)-1]; slices.Contains(last.wantStore, key0) {
					f.checkContent(t, key0, 1800*hour0, 1800*hour0+1799)
				}
			})
		})
	}
}

// checkContent checks that the index object at key lists exactly the
// index's segment rows of fromK..toK.
func (f *fixture) checkContent(t *testing.T, key string, fromK, toK int64) {
	t.Helper()
	ctx := context.Background()
	data, err := f.st.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	o, err := layout.ParseIndexObject(key, data)
	if err != nil {
		t.Fatal(err)
	}
	if o.Timescale != 1000 || o.SegDur != 2000 {
		t.Errorf("header %+v, want the track's timescale and D*T", o.IndexHeader)
	}
	segs, err := f.db.Segments(ctx, f.trk.ID, fromK, toK)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Entries) != len(segs) {
		t.Fatalf("%d entries, want %d", len(o.Entries), len(segs))
	}
	for i, g := range segs {
		want := layout.IndexEntry{K: g.K, Name: fmt.Sprintf("%d.m4s", g.K), Size: g.Size, EPT: g.EPT, Dur: g.Duration,
			SHA256: g.SHA256, Init: f.h16, Source: "a", Last: g.Last}
		if o.Entries[i] != want {
			t.Errorf("entry %d: %+v, want %+v", i, o.Entries[i], want)
		}
	}
}
