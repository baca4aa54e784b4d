package archive_test

// Tests of the archive on object stores: two recorders with their own
// indexes on one bucket, and exports, on every kind of store (file, S3 on
// MinIO, GCS on fake-gcs-server).

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/internal/testenv/mpdtest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/repair"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestOfferSegmentTwoRecordersTwoIndexes: two recorders, each with its own
// index and its own client of one bucket, recording the same channel from
// the same two encoders (one of them a bit-different variant) concurrently:
// every (rep, K) is stored exactly once (one create wins, the other
// recorder's attempt is a duplicate, not an error), the object is never
// overwritten, and both indexes describe the stored object.
func TestOfferSegmentTwoRecordersTwoIndexes(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		ctx := context.Background()
		storeURL := testenv.FileStoreURL(t.TempDir())
		if kind.Name != "file" {
			storeURL = kind.URL(t)
		}
		encoders := []*simulate.Server{testenv.NewSim(t, simulate.Options{}), testenv.NewSim(t, simulate.Options{Variant: 1})}
		type recorder struct {
			name  string
			store *cloud.Store
			db    *index.DB
			ch    *archive.Channel
		}
		var recs []*recorder
		for _, name := range []string{"r1", "r2"} {
			r := archivetest.Open(t, storeURL, filepath.Join(t.TempDir(), name+".db"), testChannel, segD)
			recs = append(recs, &recorder{name: name, store: r.Store, db: r.DB, ch: r.Channel})
		}
		const n = 12
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, r := range recs {
			for e, enc := range encoders {
				src := fmt.Sprintf("%s-enc%d", r.name, e) // the recorder's name for the encoder
				for _, rep := range reps {
					init := testenv.MustInit(t, enc, rep)
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						if _, err := r.ch.OfferInit(ctx, src, rep, init, false); err != nil {
							t.Errorf("%s: OfferInit: %v", src, err)
							return
						}
						for k := k0; k < k0+n; k++ {
							if _, err := r.ch.OfferSegment(ctx, archive.Offer{Source: src, Rep: rep, Data: testenv.MustSeg(t, enc, rep, k), ExpectK: k}); err != nil {
								t.Errorf("%s: %s K %d: %v", src, rep, k, err)
							}
						}
					}()
				}
			}
		}
		close(start)
		wg.Wait()

		st := recs[0].store
		for _, rep := range reps {
			// One object per (rep, K), and one init.
			var media, inits []string
			if err := st.List(ctx, testChannel+"/"+rep+"/", func(a cloud.Attrs) error {
				o, _ := layout.Parse(a.Key)
				switch o.Kind {
				case layout.KindMedia:
					media = append(media, a.Key)
				case layout.KindInit:
					inits = append(inits, a.Key)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(media) != n || len(inits) != 1 {
				t.Fatalf("%s: %d media objects, %d inits; want %d and 1", rep, len(media), len(inits), n)
			}
			for k := k0; k < k0+n; k++ {
				key := mediaKey(rep, k)
				data, err := st.Get(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				at, err := st.Attributes(ctx, key)
				if err != nil {
					t.Fatal(err)
				}
				// Exactly one stored delivery over both indexes, from the
				// source the object's reap-source names: no create was
				// overwritten by the other recorder's.
				var storedBy []string
				for _, r := range recs {
					tr, err := r.db.Track(ctx, r.ch.Info.ID, rep)
					if err != nil {
						t.Fatal(err)
					}
					seg, ok, err := r.db.Segment(ctx, tr.ID, k)
					if err != nil || !ok {
						t.Fatalf("%s: %s K %d not indexed: %v", r.name, rep, k, err)
					}
					if seg.SHA256 != sha(data) || seg.Size != int64(len(data)) || seg.Key != key {
						t.Errorf("%s: %s K %d: the row does not describe the stored object", r.name, rep, k)
					}
					ds, err := r.db.Deliveries(ctx, tr.ID, k)
					if err != nil {
						t.Fatal(err)
					}
					srcs, err := r.db.Sources(ctx, r.ch.Info.ID)
					if err != nil {
						t.Fatal(err)
					}
					names := map[int64]string{}
					for _, s := range srcs {
						names[s.ID] = s.Name
					}
					if len(ds) != len(encoders) {
						t.Errorf("%s: %s K %d: %d deliveries, want %d", r.name, rep, k, len(ds), len(encoders))
					}
					for _, d := range ds {
						switch d.Outcome {
						case index.Stored:
							storedBy = append(storedBy, names[d.SourceID])
						case index.Duplicate:
						default:
							t.Errorf("%s: %s K %d: a %s delivery (%s)", r.name, rep, k, d.Outcome, d.Detail)
						}
					}
				}
				if len(storedBy) != 1 || storedBy[0] != at.Meta[layout.MetaSource] {
					t.Errorf("%s K %d: stored by %v over both indexes, object from %q; want exactly its source", rep, k, storedBy, at.Meta[layout.MetaSource])
				}
			}
		}
		// Each index agrees with the store.
		for _, r := range recs {
			rep, err := reconcile.Verify(ctx, st, r.db, reconcile.VerifyOptions{ReadData: true})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Mismatches != 0 {
				t.Errorf("%s: verify --read-data: %+v", r.name, rep.Channels)
			}
		}
	})
}

// TestExportOnStores: a zero-copy export written into the archive's own
// bucket references the archived objects through a relative BaseURL, and a
// --copy export into another prefix holds byte-identical copies, on every
// kind of store.
func TestExportOnStores(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		ctx := context.Background()
		e := newEnvOn(t, kind)
		e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+3)
		// Exports read the archive by the index and the layout: the
		// segments are never listed (issue 5 item 6).
		lists := e.store.ListCalls()
		// --out in the same store, one "directory" down.
		out := func(prefix string) string {
			if dir, ok := e.store.LocalDir(); ok {
				return "file://" + filepath.ToSlash(filepath.Join(dir, prefix)) + "/"
			}
			u, err := url.Parse(e.store.URL())
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			q.Set("prefix", prefix+"/")
			u.RawQuery = q.Encode()
			return u.String()
		}
		// readOut reads the export's MPD from the store and parses it.
		readOut := func(key string) mpdtest.MPD {
			data, err := e.store.Get(ctx, key)
			if err != nil {
				t.Fatalf("the export's MPD: %v", err)
			}
			p := filepath.Join(t.TempDir(), "manifest.mpd")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			return mpdtest.Read(t, p)
		}

		res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 4), Out: out("vod")})
		if res.Segments != 8 || res.Copied != 0 {
			t.Errorf("zero-copy export: %+v; want 8 segments, nothing copied", res)
		}
		m := readOut("vod/manifest.mpd")
		if m.BaseURL != "../" {
			t.Errorf("BaseURL %q; want ../", m.BaseURL)
		}
		refs := m.Refs()
		if len(refs) != 10 {
			t.Errorf("%d references; want 8 segments and 2 inits", len(refs))
		}
		for _, r := range refs {
			key := path.Clean(path.Join("vod", r))
			if ok, err := e.store.Exists(ctx, key); err != nil || !ok {
				t.Errorf("reference %s: object %s exists %v, %v", r, key, ok, err)
			}
		}

		res = e.export(t, export.Options{From: kTime(k0 + 1), To: kTime(k0 + 3), Out: out("pkg"), Copy: true})
		if res.Segments != 4 || res.Copied != 6 {
			t.Errorf("--copy export: %+v; want 4 segments and 2 inits copied", res)
		}
		m = readOut("pkg/manifest.mpd")
		for _, r := range m.Refs() {
			if strings.HasPrefix(r, "../") {
				t.Errorf("--copy export references %s outside its package", r)
				continue
			}
			got, err := e.store.Get(ctx, "pkg/"+r)
			if err != nil {
				t.Errorf("copy %s: %v", r, err)
				continue
			}
			if want := e.Get(t, r); !bytes.Equal(got, want) {
				t.Errorf("copy %s differs from the archived object", r)
			}
		}
		// The one listing: the zero-copy export's read of the channel's
		// expiry markers after its hold (LAYOUT.md, Holds), one request.
		if n := e.store.ListCalls() - lists; n != 1 {
			t.Errorf("the exports listed the store %d times; want 1 (the zero-copy export's expiry markers)", n)
		}
		// The exports are not part of the archive: verify still agrees.
		rep, err := reconcile.Verify(ctx, e.store, e.db, reconcile.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Mismatches != 0 {
			t.Errorf("verify after exports into the store: %+v", rep.Channels)
		}
	})
}

// TestRepairFromArchiveOnStores: a repair that fills gaps of an archive
// from another archive's store (--fill-from archive:URL) reads the other
// store by the layout and stores into its own, on every kind of store,
// without listing either bucket.
func TestRepairFromArchiveOnStores(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		ctx := context.Background()
		sim := testenv.NewSim(t, simulate.Options{})
		e, other := newEnvOn(t, kind), newEnvOn(t, kind)
		e.Fill(t, "a", sim, k0, k0+5, k0+2, k0+3)
		other.Fill(t, "b", sim, k0, k0+5)
		lists, otherLists := e.store.ListCalls(), other.store.ListCalls()
		rep, err := repair.Fill(ctx, e.a, repair.NewStore("repair.other", other.store), repair.Options{Channel: testChannel})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Wanted != 4 || len(rep.Filled) != 4 || !rep.Complete() {
			t.Errorf("repair: wanted %d, filled %d, missing %v, rejected %v; want 4 filled", rep.Wanted, len(rep.Filled), rep.Missing, rep.Rejected)
		}
		for _, r := range reps {
			for _, k := range []int64{k0 + 2, k0 + 3} {
				seg, ok := e.Segment(t, r, k)
				if !ok {
					t.Errorf("%s %d not indexed after the repair", r, k)
					continue
				}
				if got, want := e.Get(t, seg.Key), other.Get(t, seg.Key); !bytes.Equal(got, want) {
					t.Errorf("%s: filled object differs from the other archive's", seg.Key)
				}
			}
		}
		if n := e.store.ListCalls() - lists; n != 0 {
			t.Errorf("the repair listed its own store %d times; want 0", n)
		}
		if n := other.store.ListCalls() - otherLists; n != 0 {
			t.Errorf("the repair listed the other archive's store %d times; want 0", n)
		}
		vrep, err := reconcile.Verify(ctx, e.store, e.db, reconcile.VerifyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if vrep.Mismatches != 0 {
			t.Errorf("verify after the repair: %+v", vrep.Channels)
		}
	})
}

// TestMain shares one MinIO and one fake-gcs-server among the package's
// tests (internal/testenv), and stops them at the end.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
