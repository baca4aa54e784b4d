package cloud

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestListDirUnsized: ListDirUnsized lists what ListDir lists, in the same
// order, a page at a time; on a file store in one page, without reading
// the objects' sizes and modification times (Unsized, except for a
// symbolic link, which is followed), which Stat then gives as ListDir
// does. Stat of a missing key or of a directory is "not found".
func TestListDirUnsized(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, k := range []string{"u/1.m4s", "u/10.m4s", "u/2.m4s", "u/init-a.mp4", "u/real/3.m4s", "u/index/0-9.json"} {
			if err := s.Create(ctx, k, []byte(k), nil); err != nil {
				t.Fatal(err)
			}
		}
		dir, local := s.LocalDir()
		if local {
			// A link to a file is an object; a FIFO is none.
			if err := os.Symlink("1.m4s", filepath.Join(dir, "u", "link.m4s")); err != nil {
				t.Fatal(err)
			}
			if err := syscall.Mkfifo(filepath.Join(dir, "u", "fifo.m4s"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		sized := map[string]Attrs{}
		var want []string
		if err := s.ListDir(ctx, "u/", func(a Attrs) error {
			want = append(want, a.Key)
			sized[a.Key] = a
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var got []string
		pages := 0
		if err := s.ListDirUnsized(ctx, "u/", func(page []Attrs) error {
			pages++
			for _, a := range page {
				got = append(got, a.Key)
				unsized := local && !a.Dir && a.Key != "u/link.m4s"
				switch {
				case a.Unsized != unsized:
					t.Errorf("%s: Unsized %v, want %v", a.Key, a.Unsized, unsized)
				case unsized && (a.Size != 0 || !a.ModTime.IsZero()):
					t.Errorf("%s: unsized, with size %d and time %v", a.Key, a.Size, a.ModTime)
				case !unsized && (a.Size != sized[a.Key].Size || !a.ModTime.Equal(sized[a.Key].ModTime)):
					t.Errorf("%s: %+v, ListDir gave %+v", a.Key, a, sized[a.Key])
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if local && pages != 1 {
			t.Errorf("ListDirUnsized(u/) on a file store: %d pages, want the directory as one", pages)
		}
		if !equal(got, want) {
			t.Errorf("ListDirUnsized(u/) = %q, ListDir gave %q", got, want)
		}
		for _, tc := range []struct {
			key      string
			size     int64 // -1: not found
			sameTime bool  // as the listing's (a HEAD gives seconds, a listing milliseconds)
		}{
			{"u/10.m4s", int64(len("u/10.m4s")), local},
			{"u/real/3.m4s", int64(len("u/real/3.m4s")), false},
			{"u/missing.m4s", -1, false},
			{"u/real", -1, false}, // a directory on file stores
		} {
			a, err := s.Stat(ctx, tc.key)
			switch {
			case tc.size < 0 && !IsNotFound(err):
				t.Errorf("Stat(%s) = %+v, %v; want not found", tc.key, a, err)
			case tc.size < 0:
			case err != nil:
				t.Errorf("Stat(%s): %v", tc.key, err)
			case a.Key != tc.key || a.Size != tc.size || a.ModTime.IsZero() || a.Meta != nil || a.Unsized:
				t.Errorf("Stat(%s) = %+v, want size %d", tc.key, a, tc.size)
			case tc.sameTime && !a.ModTime.Equal(sized[tc.key].ModTime):
				t.Errorf("Stat(%s) time %v, ListDir gave %v", tc.key, a.ModTime, sized[tc.key].ModTime)
			}
		}
	})
}
