package reconcile_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/reconcile"
)

// TestMixedAttributeForms: a file store holding objects with their
// attributes in .attrs sidecars (as written before xattrs) and objects with
// them in xattrs reindexes to the recorder's index without reading a body,
// and verify (checking bytes, and repairing rows from attributes) finds it
// consistent.
func TestMixedAttributeForms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := record(t, testenv.Store("file"), k0, k0+1, k0+2, k0+3)
	want := dump(t, f.db)
	sidecars, xattrs := toSidecarForm(t, f.store)
	if sidecars == 0 || xattrs == 0 {
		t.Fatalf("%d objects with sidecars, %d with xattrs; want both forms", sidecars, xattrs)
	}
	n := int64(len(f.ks) * len(reps))
	db := openIndex(t, filepath.Join(t.TempDir(), "mixed.db"))
	res, err := reconcile.Reindex(ctx, f.store, db, reconcile.Options{Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Channels[0]; got.Indexed != n || got.BodiesRead != 0 || len(got.Problems) != 0 {
		t.Errorf("reindex %+v; want %d indexed from attributes alone, no problems", got, n)
	}
	sameIndex(t, want, dump(t, db))
	// Verify's own reading of attributes: rows of both forms deleted are
	// made again from their objects.
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	for _, rep := range reps {
		tr, err := db.Track(ctx, ch.ID, rep)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int64{k0, k0 + 1} {
			if err := db.DeleteSegment(ctx, tr.ID, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := reconcile.Verify(ctx, f.store, db, reconcile.VerifyOptions{ReadData: true, RepairIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != 4 || rep.Repaired != 4 {
		t.Errorf("verify --repair-index: %d mismatches, %d repaired; want the 4 deleted rows", rep.Mismatches, rep.Repaired)
	}
	sameIndex(t, want, dump(t, db))
	if rep, err := reconcile.Verify(ctx, f.store, db, reconcile.VerifyOptions{ReadData: true}); err != nil || rep.Mismatches != 0 {
		t.Errorf("verify after repair: %+v, %v; want clean", rep, err)
	}
}

// toSidecarForm rewrites every other object of the channel as fileblob
// wrote it before xattrs: the same bytes, the attributes in a .attrs
// sidecar. It returns how many objects are in each form.
func toSidecarForm(t *testing.T, st *cloud.Store) (sidecars, xattrs int) {
	t.Helper()
	ctx := context.Background()
	dir, _ := st.LocalDir()
	old, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	var keys []string
	if err := st.List(ctx, channel+"/", func(a cloud.Attrs) error { keys = append(keys, a.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		p := filepath.Join(dir, filepath.FromSlash(k))
		if i%2 == 1 {
			if _, err := os.Stat(p + ".attrs"); err == nil {
				t.Fatalf("%s has a sidecar; the recorder's store must write xattrs", k)
			}
			xattrs++
			continue
		}
		a, err := st.Attributes(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		data, err := st.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		if err := old.WriteAll(ctx, k, data, &blob.WriterOptions{Metadata: a.Meta}); err != nil {
			t.Fatal(err)
		}
		if side, err := os.ReadFile(p + ".attrs"); err != nil || (len(a.Meta) > 0 && !strings.Contains(string(side), "reap-")) {
			t.Fatalf("%s: sidecar %q, %v", k, side, err)
		}
		sidecars++
	}
	return sidecars, xattrs
}
