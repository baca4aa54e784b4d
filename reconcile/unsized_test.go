package reconcile_test

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestReindexFileStoreStat: on a file store Reindex lists media objects
// without their sizes and reads the size of each object an index object
// covers when it builds its row, so an object deleted after the listing is
// reported ("listed, but not found when read") and not indexed, while the
// other objects' attributes still come from the index objects. (S3 and GCS
// listings give the sizes: there the listing is what Reindex checks.)
func TestReindexFileStoreStat(t *testing.T) {
	t.Parallel()
	ks := []int64{k0, k0 + 1, k0 + 2}
	n := int64(len(ks) * len(reps))
	gone := layout.MediaKey(channel, simulate.VideoRep, k0+1, "m4s")
	for _, c := range []struct {
		name    string
		deleted string // deleted once the listing is done (at the first read)
	}{
		{name: "nothing changes"},
		{name: "an object deleted after the listing", deleted: gone},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := record(t, testenv.Store("file"), ks...)
			writeIndexObjects(t, f)
			var once sync.Once
			f.store.InjectFaults(func(op string) error {
				if op == "get" && c.deleted != "" { // Reindex reads only after listing everything
					once.Do(func() {
						if err := f.store.Delete(context.Background(), c.deleted); err != nil {
							t.Error(err)
						}
					})
				}
				return nil
			})
			t.Cleanup(func() { f.store.InjectFaults(nil) })
			db := openIndex(t, filepath.Join(t.TempDir(), "rebuilt.db"))
			res, err := reconcile.Reindex(context.Background(), f.store, db, reconcile.Options{Workers: 4})
			if err != nil {
				t.Fatal(err)
			}
			got := res.Channels[0]
			want := n
			if c.deleted != "" {
				want--
			}
			if got.Objects != n || got.Indexed != want || got.FromIndexObjects != want || got.AttributesRead != 0 {
				t.Errorf("objects %d, indexed %d, from index objects %d, attributes read %d; want %d, %d, %d, 0",
					got.Objects, got.Indexed, got.FromIndexObjects, got.AttributesRead, n, want, want)
			}
			switch {
			case c.deleted == "" && len(got.Problems) != 0:
				t.Errorf("problems %v, want none", got.Problems)
			case c.deleted != "" && (len(got.Problems) != 1 || got.Problems[0].Kind != reconcile.Unreadable || got.Problems[0].Key != c.deleted):
				t.Errorf("problems %v, want one %s of %s", got.Problems, reconcile.Unreadable, c.deleted)
			}
		})
	}
}
