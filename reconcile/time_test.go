package reconcile_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestReindexUnrepresentableTime: an object whose time does not fit the
// index (tfdt 2^63, as a recorder stored it before it checked EPTs) is
// listed as a problem by reindex and verify --repair-index, and every other
// object is still indexed.
func TestReindexUnrepresentableTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	v := simulate.VideoRep
	f := record(t, testenv.Store("file"), k0, k0+1)
	ch, err := f.db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := f.db.Track(ctx, ch.ID, v)
	if err != nil {
		t.Fatal(err)
	}
	good, err := f.store.Attributes(ctx, layout.MediaKey(channel, v, k0, "m4s"))
	if err != nil {
		t.Fatal(err)
	}
	const ept = uint64(1) << 63
	badK := int64((ept + tr.SegDur/2) / tr.SegDur)
	badKey := layout.MediaKey(channel, v, badK, "m4s")
	meta := map[string]string{}
	for k, val := range good.Meta {
		meta[k] = val
	}
	meta[layout.MetaEPT] = strconv.FormatUint(ept, 10)
	data, err := f.sim.Segment(v, k0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.Create(ctx, badKey, data, meta); err != nil {
		t.Fatal(err)
	}
	n := int64(len(f.ks) * len(reps))
	for _, tc := range []struct {
		name string
		run  func(t *testing.T) ([]reconcile.Problem, *index.DB)
	}{
		{"reindex into an empty index", func(t *testing.T) ([]reconcile.Problem, *index.DB) {
			db := openIndex(t, filepath.Join(t.TempDir(), "empty.db"))
			res, err := reconcile.Reindex(ctx, f.store, db, reconcile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Channels[0].Indexed; got != n {
				t.Errorf("%d indexed; want the %d good segments", got, n)
			}
			return res.Channels[0].Problems, db
		}},
		{"verify --repair-index", func(t *testing.T) ([]reconcile.Problem, *index.DB) {
			db := openIndex(t, filepath.Join(t.TempDir(), "partial.db"))
			if _, err := reconcile.Reindex(ctx, withoutObject(t, f.store, badKey), db, reconcile.Options{}); err != nil {
				t.Fatal(err)
			}
			if err := db.DeleteSegment(ctx, trackIDOf(t, db, v), k0+1); err != nil {
				t.Fatal(err)
			}
			rep, err := reconcile.Verify(ctx, f.store, db, reconcile.VerifyOptions{RepairIndex: true})
			if err != nil {
				t.Fatal(err)
			}
			return rep.Channels[0].Problems, db
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ps, db := tc.run(t)
			found := false
			for _, p := range ps {
				if p.Key == badKey && strings.Contains(p.Detail, "not a representable time") {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %v; want %s listed as not a representable time", ps, badKey)
			}
			sameIndex(t, dump(t, f.db), dump(t, db))
		})
	}
}

// withoutObject copies st's archive objects, but key, into a new file store.
func withoutObject(t *testing.T, st *cloud.Store, key string) *cloud.Store {
	t.Helper()
	ctx := context.Background()
	out, err := cloud.Open(ctx, testenv.Store("file").URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	err = st.List(ctx, channel+"/", func(a cloud.Attrs) error {
		if a.Key == key {
			return nil
		}
		data, err := st.Get(ctx, a.Key)
		if err != nil {
			return err
		}
		at, err := st.Attributes(ctx, a.Key)
		if err != nil {
			return err
		}
		return out.Create(ctx, a.Key, data, at.Meta)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func trackIDOf(t *testing.T, db *index.DB, rep string) int64 {
	t.Helper()
	ch, err := db.Channel(context.Background(), channel)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.Track(context.Background(), ch.ID, rep)
	if err != nil {
		t.Fatal(err)
	}
	return tr.ID
}
