//go:build linux

package reconcile_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"golang.org/x/sys/unix"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/reconcile"
)

// TestMixedAttributeForms: a file store holding objects with their
// attributes in .attrs sidecars (as written before xattrs), in one xattr
// per attribute with the marker user.reap.attrs (as written before
// user.reap), and in the one xattr user.reap reindexes to the recorder's
// index without reading a body, and verify (checking bytes, and repairing
// rows from attributes) finds it consistent.
func TestMixedAttributeForms(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := record(t, testenv.Store("file"), k0, k0+1, k0+2, k0+3)
	want := dump(t, f.db)
	sidecars, entries, xattrs := toOldForms(t, f.store)
	if sidecars == 0 || entries == 0 || xattrs == 0 {
		t.Fatalf("%d objects with sidecars, %d with per-attribute xattrs, %d with user.reap; want all forms", sidecars, entries, xattrs)
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
		for _, k := range []int64{k0, k0 + 1, k0 + 2} {
			if err := db.DeleteSegment(ctx, tr.ID, k); err != nil {
				t.Fatal(err)
			}
		}
	}
	rep, err := reconcile.Verify(ctx, f.store, db, reconcile.VerifyOptions{ReadData: true, RepairIndex: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := 3 * len(reps); rep.Mismatches != want || rep.Repaired != want {
		t.Errorf("verify --repair-index: %d mismatches, %d repaired; want the %d deleted rows", rep.Mismatches, rep.Repaired, want)
	}
	sameIndex(t, want, dump(t, db))
	if rep, err := reconcile.Verify(ctx, f.store, db, reconcile.VerifyOptions{ReadData: true}); err != nil || rep.Mismatches != 0 {
		t.Errorf("verify after repair: %+v, %v; want clean", rep, err)
	}
}

// toOldForms rewrites the channel's objects in turn as fileblob wrote them
// before xattrs (the same bytes, the attributes in a .attrs sidecar), with
// one xattr per attribute and the marker (as written before user.reap),
// and leaves the third as the recorder wrote it. It returns how many
// objects are in each form.
func toOldForms(t *testing.T, st *cloud.Store) (sidecars, entries, xattrs int) {
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
		if _, err := os.Stat(p + ".attrs"); err == nil {
			t.Fatalf("%s has a sidecar; the recorder's store must write xattrs", k)
		}
		a, err := st.Attributes(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			toSidecar(t, st, old, k, a.Meta)
			sidecars++
		case 1:
			toEntryXattrs(t, p, a.Meta)
			entries++
		default:
			xattrs++
		}
	}
	return sidecars, entries, xattrs
}

// toSidecar rewrites the object k with its attributes in a .attrs sidecar.
func toSidecar(t *testing.T, st *cloud.Store, old *blob.Bucket, k string, meta map[string]string) {
	t.Helper()
	ctx := context.Background()
	data, err := st.Get(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := old.WriteAll(ctx, k, data, &blob.WriterOptions{Metadata: meta}); err != nil {
		t.Fatal(err)
	}
	dir, _ := st.LocalDir()
	p := filepath.Join(dir, filepath.FromSlash(k))
	if side, err := os.ReadFile(p + ".attrs"); err != nil || (len(meta) > 0 && !strings.Contains(string(side), "reap-")) {
		t.Fatalf("%s: sidecar %q, %v", k, side, err)
	}
}

// toEntryXattrs replaces the xattr user.reap of the file at p by one
// user.<name> per attribute and the marker user.reap.attrs = 1.
func toEntryXattrs(t *testing.T, p string, meta map[string]string) {
	t.Helper()
	if err := unix.Removexattr(p, "user.reap"); err != nil {
		t.Fatalf("%s: remove xattr user.reap: %v; the recorder's store must write it", p, err)
	}
	for k, v := range meta {
		if err := unix.Setxattr(p, "user."+k, []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Setxattr(p, "user.reap.attrs", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
}
