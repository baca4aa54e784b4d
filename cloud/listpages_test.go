package cloud

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestListPages is the paging conformance test, on every backend: one level
// holding more entries than a listing page (listPageSize) with
// sub-"directories" on both sides of the page boundary. List, ListDir (of
// the level and of a sub-directory) and a ListAfter cursor walk must each
// give every key exactly once, in key order. A server that ends a listing
// after its first page (fake-gcs-server before v1.53.0), or that repeats or
// misplaces a common prefix across pages, fails it.
func TestListPages(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		n := listPageSize + 100
		keys := numbered("pg", n)
		// Sub-directories before, inside and after the page boundary
		// (entry listPageSize sorts after the first page), one holding only
		// directories; keys around the level that are not in it.
		subs := []string{"pg/00000.d/x", "pg/01050.d/x", "pg/01050.d/y/z", "pg/zz/a/x", "pg/zz/b/x"}
		putKeys(t, s, append(append(keys, subs...), "pg.txt", "pf/x", "ph/x", "pg-b/x"))

		wantAll := slices.Sorted(slices.Values(append(keys, subs...)))
		wantDir := slices.Sorted(slices.Values(append(keys, "pg/00000.d/", "pg/01050.d/", "pg/zz/")))
		for _, tc := range []struct {
			name, prefix string
			list         func(ctx context.Context, prefix string, fn func(Attrs) error) error
			want         []string
		}{
			{"List", "pg/", s.List, wantAll},
			{"List", "pg/01050.d/", s.List, []string{"pg/01050.d/x", "pg/01050.d/y/z"}},
			{"ListDir", "pg/", s.ListDir, wantDir},
			{"ListDir", "pg/01050.d/", s.ListDir, []string{"pg/01050.d/x", "pg/01050.d/y/"}},
			{"ListDir", "pg/zz/", s.ListDir, []string{"pg/zz/a/", "pg/zz/b/"}},
		} {
			var got []string
			if err := tc.list(ctx, tc.prefix, func(a Attrs) error {
				got = append(got, a.Key)
				return nil
			}); err != nil {
				t.Fatalf("%s(%q): %v", tc.name, tc.prefix, err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s(%q): %d keys, want %d; first difference: %s", tc.name, tc.prefix, len(got), len(tc.want), diff(got, tc.want))
			}
		}
		for _, limit := range []int{listPageSize, 400} {
			if got := walkAfter(t, s, "pg/", limit); !slices.Equal(got, wantDir) {
				t.Errorf("ListAfter walk of pg/ by %d: %d keys, want %d; first difference: %s", limit, len(got), len(wantDir), diff(got, wantDir))
			}
		}
		// A page holding only common prefixes (S3 pages by entries) is
		// given, not held back for objects that never come.
		if got, want := walkAfter(t, s, "pg/zz/", 1), []string{"pg/zz/a/", "pg/zz/b/"}; !slices.Equal(got, want) {
			t.Errorf("ListAfter walk of pg/zz/ by 1 = %q, want %q", got, want)
		}
	})
}

// walkAfter lists prefix's level with ListAfter, limit entries a call, each
// call starting after the last key the one before gave.
func walkAfter(t *testing.T, s *Store, prefix string, limit int) []string {
	t.Helper()
	var got []string
	after := prefix
	for calls := 0; ; calls++ {
		if calls > 100 {
			t.Fatalf("ListAfter(%q) by %d: no end after %d calls", prefix, limit, calls)
		}
		n := 0
		more, err := s.ListAfter(context.Background(), prefix, after, limit, func(a Attrs) error {
			if !strings.HasPrefix(a.Key, prefix) {
				t.Errorf("ListAfter(%q, %q): %q", prefix, after, a.Key)
			}
			got = append(got, a.Key)
			after = a.Key
			n++
			return nil
		})
		if err != nil {
			t.Fatalf("ListAfter(%q, %q, %d): %v", prefix, after, limit, err)
		}
		if n > limit {
			t.Errorf("ListAfter(%q, %q, %d): %d entries", prefix, after, limit, n)
		}
		if !more {
			return got
		}
		if n == 0 {
			t.Fatalf("ListAfter(%q, %q, %d): no entries but more", prefix, after, limit)
		}
	}
}
