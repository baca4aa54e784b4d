package cloud_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
)

// TestFileTempFiles: the temporary files interrupted writes leave in a file
// store (<key>.<hex>.tmp, also of .attrs sidecars) are listed, never as
// objects, and removed when written before the given time; a newer one (a
// write that may still finish) and the objects stay.
func TestFileTempFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	st, err := cloud.Open(ctx, "file://"+filepath.ToSlash(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Create(ctx, "news/video/5.m4s", []byte("five"), map[string]string{"reap-ept": "1"}); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	future := time.Now().Add(time.Hour)
	files := []struct {
		key   string
		mtime time.Time
	}{
		{"news/video/6.m4s.18a3c0ffee123456.tmp", old},
		{"news/video/6.m4s.attrs.18a3c0ffee123457.tmp", old},
		{"news/audio/6.m4s.18a3c0ffee123458.tmp", old},
		{"news/video/7.m4s.18a3c0ffee123459.tmp", future},
		{"other/video/1.m4s.18a3c0ffee12345a.tmp", old},
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.key))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	keys := func(prefix string) []string {
		tmps, err := st.TempFiles(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, x := range tmps {
			out = append(out, x.Key)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		prefix string
		want   []string
	}{
		{"news/", []string{"news/audio/6.m4s.18a3c0ffee123458.tmp", "news/video/6.m4s.18a3c0ffee123456.tmp",
			"news/video/6.m4s.attrs.18a3c0ffee123457.tmp", "news/video/7.m4s.18a3c0ffee123459.tmp"}},
		{"news/video/", []string{"news/video/6.m4s.18a3c0ffee123456.tmp", "news/video/6.m4s.attrs.18a3c0ffee123457.tmp",
			"news/video/7.m4s.18a3c0ffee123459.tmp"}},
		{"nothing/", nil},
	} {
		if got := keys(tc.prefix); !slices.Equal(got, tc.want) {
			t.Errorf("TempFiles(%q) = %q; want %q", tc.prefix, got, tc.want)
		}
	}
	var listed []string
	if err := st.List(ctx, "news/", func(a cloud.Attrs) error { listed = append(listed, a.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(listed, []string{"news/video/5.m4s"}) {
		t.Errorf("List = %q; want only the object", listed)
	}
	n, size, err := st.RemoveTempFiles(ctx, "news/", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || size != 3*int64(len("partial")) {
		t.Errorf("removed %d files, %d bytes; want 3, %d", n, size, 3*len("partial"))
	}
	if got, want := keys(""), []string{"news/video/7.m4s.18a3c0ffee123459.tmp", "other/video/1.m4s.18a3c0ffee12345a.tmp"}; !slices.Equal(got, want) {
		t.Errorf("left %q; want %q", got, want)
	}
	if b, err := st.Get(ctx, "news/video/5.m4s"); err != nil || string(b) != "five" {
		t.Errorf("object after the cleanup: %q, %v", b, err)
	}
}
