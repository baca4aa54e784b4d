package cloud

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestFileWriteTaken: a Create whose key another writer (another process:
// no lock of this one) takes while its bytes are being written fails with
// ErrExists, leaves the other object as it is and no temporary file; a Put
// then replaces it.
func TestFileWriteTaken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		other func(p string) error
		dir   bool
	}{
		{name: "file", other: func(p string) error { return os.WriteFile(p, []byte("other"), 0o644) }},
		{name: "directory", other: func(p string) error { return os.Mkdir(p, 0o755) }, dir: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, dir := xattrStore(t)
			p := filepath.Join(dir, "news", "v", "1.m4s")
			var otherErr error
			s.testAfterWrite = func() { otherErr = tc.other(p) }
			err := s.Create(ctx, "news/v/1.m4s", []byte("ours"), segMeta)
			s.testAfterWrite = nil
			if otherErr != nil {
				t.Fatal(otherErr)
			}
			if !errors.Is(err, ErrExists) && !(tc.dir && err != nil) {
				t.Errorf("Create of a key taken meanwhile: %v; want ErrExists", err)
			}
			if got, _ := os.ReadFile(p); !tc.dir && string(got) != "other" {
				t.Errorf("the other object reads %q; want it untouched", got)
			}
			if tmps, err := s.TempFiles(ctx, ""); err != nil || len(tmps) != 0 {
				t.Errorf("temporary files left: %v, %v", tmps, err)
			}
			if tc.dir {
				return
			}
			if err := s.Put(ctx, "news/v/1.m4s", []byte("ours"), segMeta); err != nil {
				t.Fatal(err)
			}
			if a, err := s.Attributes(ctx, "news/v/1.m4s"); err != nil || a.Size != 4 || a.Meta["reap-source"] != "enc-a" {
				t.Errorf("after Put: %+v, %v", a, err)
			}
		})
	}
}

// TestFileDirMode: the directories a file store makes for its objects
// have the store's dir_file_mode.
func TestFileDirMode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		query string
		want  os.FileMode
	}{
		{query: "?dir_file_mode=0700", want: 0o700},
		{query: "?dir_file_mode=0750", want: 0o750},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s := mustOpen(t, "file://"+filepath.ToSlash(dir)+tc.query)
			if err := s.Create(context.Background(), "a/b/c.m4s", []byte("x"), nil); err != nil {
				t.Fatal(err)
			}
			for _, d := range []string{"a", "a/b"} {
				fi, err := os.Stat(filepath.Join(dir, d))
				if err != nil || fi.Mode().Perm() != tc.want {
					t.Errorf("%s: %v, %v; want mode %v", d, fi.Mode(), err, tc.want)
				}
			}
		})
	}
}

// TestInvalidMeta: metadata that a store cannot keep as given is refused
// on every store (file stores with xattrs write without gocloud's blob
// checks), and nothing is written.
func TestInvalidMeta(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		meta map[string]string
	}{
		{name: "empty key", meta: map[string]string{"": "x"}},
		{name: "key not UTF-8", meta: map[string]string{"k\xff": "x"}},
		{name: "value not UTF-8", meta: map[string]string{"k": "\xff"}},
		{name: "keys differing in case", meta: map[string]string{"Reap-K": "1", "reap-k": "2"}},
	}
	forEachBackend(t, func(t *testing.T, s *Store) {
		for _, tc := range cases {
			if err := s.Create(context.Background(), "k", []byte("x"), tc.meta); err == nil {
				t.Errorf("%s: Create succeeded; want it refused", tc.name)
			}
			if ok, _ := s.Exists(context.Background(), "k"); ok {
				t.Fatalf("%s: the refused object was written", tc.name)
			}
		}
	})
}

// xattrStore opens a new file store that keeps attributes in xattrs, and
// returns it with its directory.
func xattrStore(t *testing.T) (*Store, string) {
	t.Helper()
	s := mustOpen(t, fileStoreURL(t))
	if !s.xattrMeta {
		t.Fatal("the test directory must keep user xattrs")
	}
	dir, _ := s.LocalDir()
	return s, dir
}
