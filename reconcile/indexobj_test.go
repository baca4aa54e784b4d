package reconcile_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/indexobj"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// writeIndexObjects writes the index objects of f's recorded hours, as the
// recorder's upkeep does once they are complete.
func writeIndexObjects(t *testing.T, f *fixture) {
	t.Helper()
	res, err := indexobj.New(f.store, f.db, 0, nil).All(context.Background(), time.Unix(k0*2, 0).Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res.Objects != len(reps) {
		t.Fatalf("%d index objects written, want one per representation", res.Objects)
	}
}

// indexObjectKey is the key of rep's one index object in st.
func indexObjectKey(t *testing.T, st *cloud.Store, rep string) string {
	t.Helper()
	var key string
	err := st.List(context.Background(), channel+"/"+rep+"/"+layout.IndexDir+"/", func(a cloud.Attrs) error {
		if o, err := layout.Parse(a.Key); err == nil && o.Kind == layout.KindIndex {
			key = a.Key
		}
		return nil
	})
	if err != nil || key == "" {
		t.Fatalf("no index object of %s: %v", rep, err)
	}
	return key
}

// replaceObject replaces the object at key with data (index objects are
// create-only: as damage or another writer would).
func replaceObject(t *testing.T, st *cloud.Store, key string, data []byte) {
	t.Helper()
	ctx := context.Background()
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := st.Create(ctx, key, data, nil); err != nil {
		t.Fatal(err)
	}
}

// editIndexObject rewrites rep's index object with edit applied.
func editIndexObject(t *testing.T, st *cloud.Store, rep string, edit func(o *layout.IndexObject)) {
	t.Helper()
	key := indexObjectKey(t, st, rep)
	data, err := st.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	o, err := layout.ParseIndexObject(key, data)
	if err != nil {
		t.Fatal(err)
	}
	edit(o)
	if data, err = o.Encode(); err != nil {
		t.Fatal(err)
	}
	replaceObject(t, st, key, data)
}

// TestReindexIndexObjects: with index objects in the store, reindex gives
// exactly the index it gives without them, and reads the attributes only
// of the objects they do not cover or where they disagree with the
// listing (size, presence); a corrupt index object is reported and
// ignored.
func TestReindexIndexObjects(t *testing.T) {
	t.Parallel()
	v, a := simulate.VideoRep, simulate.AudioRep
	ks := []int64{k0, k0 + 1, k0 + 2, k0 + 4, k0 + 5} // a gap at k0+3
	n := int64(len(ks) * len(reps))
	cases := []struct {
		name string
		// damage changes the store after the index objects are written;
		// it returns the key of the index object to be reported, or "".
		damage       func(t *testing.T, f *fixture) string
		ignore       bool // Options.IgnoreIndexObjects
		attrsRead    int64
		fromIndex    int64
		indexObjects int
	}{
		{name: "every object covered", attrsRead: 0, fromIndex: n, indexObjects: 2},
		{name: "index objects ignored", ignore: true, attrsRead: n, fromIndex: 0, indexObjects: 0},
		{name: "no index object of one representation", damage: func(t *testing.T, f *fixture) string {
			if err := f.store.Delete(context.Background(), indexObjectKey(t, f.store, a)); err != nil {
				t.Fatal(err)
			}
			return ""
		}, attrsRead: int64(len(ks)), fromIndex: int64(len(ks)), indexObjects: 1},
		{name: "a size that differs and an entry for a missing object", damage: func(t *testing.T, f *fixture) string {
			editIndexObject(t, f.store, v, func(o *layout.IndexObject) {
				o.Entries[0].Size++
				gap := o.Entries[2]
				gap.K, gap.Name = k0+3, fmt.Sprintf("%d.m4s", k0+3)
				o.Entries = append(o.Entries, gap)
			})
			return ""
		}, attrsRead: 1, fromIndex: n - 1, indexObjects: 2},
		{name: "a corrupt index object", damage: func(t *testing.T, f *fixture) string {
			key := indexObjectKey(t, f.store, v)
			data, err := f.store.Get(context.Background(), key)
			if err != nil {
				t.Fatal(err)
			}
			replaceObject(t, f.store, key, data[:len(data)/2])
			return key
		}, attrsRead: int64(len(ks)), fromIndex: int64(len(ks)), indexObjects: 1},
	}
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				f := record(t, kind, ks...)
				want := dump(t, f.db)
				writeIndexObjects(t, f)
				bad := ""
				if c.damage != nil {
					bad = c.damage(t, f)
				}
				db := openIndex(t, filepath.Join(t.TempDir(), "rebuilt.db"))
				res, err := reconcile.Reindex(context.Background(), f.store, db, reconcile.Options{Workers: 4, IgnoreIndexObjects: c.ignore})
				if err != nil {
					t.Fatal(err)
				}
				got := res.Channels[0]
				if got.Indexed != n || got.AttributesRead != c.attrsRead || got.FromIndexObjects != c.fromIndex || got.IndexObjects != c.indexObjects || got.BodiesRead != 0 {
					t.Errorf("indexed %d, attributes read %d, from index objects %d, index objects %d, bodies read %d; want %d, %d, %d, %d, 0",
						got.Indexed, got.AttributesRead, got.FromIndexObjects, got.IndexObjects, got.BodiesRead, n, c.attrsRead, c.fromIndex, c.indexObjects)
				}
				switch {
				case bad == "" && len(got.Problems) != 0:
					t.Errorf("problems %v, want none", got.Problems)
				case bad != "" && (len(got.Problems) != 1 || got.Problems[0].Kind != reconcile.Unreadable || got.Problems[0].Key != bad):
					t.Errorf("problems %v, want one %s of %s", got.Problems, reconcile.Unreadable, bad)
				}
				sameIndex(t, want, dump(t, db))
				sameStatus(t, f.db, db)

				// verify does not take the index objects for objects of
				// the archive, nor for unknown ones.
				vres, err := reconcile.Verify(context.Background(), f.store, db, reconcile.VerifyOptions{})
				if err != nil {
					t.Fatal(err)
				}
				for _, ch := range vres.Channels {
					if len(ch.Problems) != 0 {
						t.Errorf("verify: %v, want no problem", ch.Problems)
					}
				}
			})
		}
	})
}
