package cloud

import (
	"context"
	"slices"
	"testing"
)

// TestListAfter lists one level of a store from a key on, on every
// backend (with and without a key prefix): only the entries after the
// cursor, at most limit of them, in key order, with whether more may
// follow; on S3 and GCS in one List call.
func TestListAfter(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, k := range []string{"c/r/1.m4s", "c/r/2.m4s", "c/r/4.m4s", "c/r/5.m4s", "c/r/init-x.mp4", "c/r/real/3.m4s", "c/s/1.m4s"} {
			if err := s.Create(ctx, k, []byte(k), nil); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			after    string
			limit    int
			want     []string
			wantMore bool
		}{
			{"c/r/2", 2, []string{"c/r/2.m4s", "c/r/4.m4s"}, true},
			{"c/r/3", 2, []string{"c/r/4.m4s", "c/r/5.m4s"}, true},
			{"c/r/5.m4s", 5, []string{"c/r/init-x.mp4", "c/r/real/"}, false},
			{"c/r/real/", 5, nil, false},
		}
		for _, tt := range tests {
			var got []string
			calls := s.ListCalls()
			more, err := s.ListAfter(ctx, "c/r/", tt.after, tt.limit, func(a Attrs) error {
				got = append(got, a.Key)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) || (more && !tt.wantMore) || (tt.wantMore && !more) {
				t.Errorf("ListAfter(c/r/, %s, %d) = %q, more %v; want %q, more %v", tt.after, tt.limit, got, more, tt.want, tt.wantMore)
			}
			if n := s.ListCalls() - calls; n != 1 {
				t.Errorf("ListAfter(c/r/, %s, %d): %d List calls, want 1", tt.after, tt.limit, n)
			}
		}
	})
}
