package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
)

// putKeys writes a tiny object at each key, several at once.
func putKeys(t *testing.T, s *Store, keys []string) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for _, k := range keys {
		g.Go(func() error { return s.Put(context.Background(), k, []byte("x"), nil) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// listKeys lists every key of the store.
func listKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var got []string
	if err := s.List(context.Background(), "", func(a Attrs) error {
		got = append(got, a.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

func numbered(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/%05d.m4s", prefix, i)
	}
	return keys
}

// TestDeleteMany is DeleteMany's conformance test, on every backend: more
// keys than one S3 request takes, keys that do not exist, no keys, an
// invalid key (nothing is deleted), a closed store.
func TestDeleteMany(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		gone := numbered("ch/v1", s3DeleteBatch+5) // two S3 requests
		keep := []string{"ch/keep.json", "ch/v2/1.m4s"}
		putKeys(t, s, append(slices.Clone(gone), keep...))
		for _, tc := range []struct {
			name        string
			keys        []string
			wantDeleted int
			wantErr     string // "" : no error
		}{
			{name: "empty", keys: nil},
			{name: "invalid key", keys: []string{gone[0], "ch//x", keep[0]}, wantErr: `"ch//x"`},
			{name: "many with missing", keys: append(slices.Clone(gone), "ch/v1/none.m4s", "nowhere/x"), wantDeleted: len(gone) + 2},
			{name: "again: all missing", keys: gone[:3], wantDeleted: 3},
		} {
			n, err := s.DeleteMany(ctx, tc.keys)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("%s: DeleteMany: %v; want error %q", tc.name, err, tc.wantErr)
			}
			if n != tc.wantDeleted {
				t.Errorf("%s: deleted %d; want %d", tc.name, n, tc.wantDeleted)
			}
			if tc.name == "invalid key" {
				if ok, err := s.Exists(ctx, gone[0]); !ok || err != nil {
					t.Errorf("%s: a valid key of the call was deleted: %v %v", tc.name, ok, err)
				}
			}
		}
		if got := listKeys(t, s); !slices.Equal(got, keep) {
			t.Errorf("left %d keys %.80q; want %q", len(got), got, keep)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeleteMany(ctx, keep); !errors.Is(err, ErrClosed) || n != 0 {
			t.Errorf("DeleteMany after Close: %d, %v; want ErrClosed", n, err)
		}
	})
}

// TestDeleteManyFaults: transient failures are retried as Delete's are;
// a lasting failure stops DeleteMany (no new request starts), which says
// so.
func TestDeleteManyFaults(t *testing.T) {
	t.Parallel()
	denied := errors.New("injected: access denied")
	for _, b := range []string{"mem", "s3"} {
		for _, tc := range []struct {
			name      string
			fault     func() (func(string) error, *atomic.Int64)
			wantErr   error // nil: no error
			maxCalls  int64 // 0: any
			transient bool
		}{
			{name: "two transient", fault: func() (func(string) error, *atomic.Int64) { return failN("delete", 2) }},
			{name: "unreachable", fault: func() (func(string) error, *atomic.Int64) { return failN("delete", 1<<40) },
				wantErr: errTransientTest, transient: true},
			{name: "denied", fault: func() (func(string) error, *atomic.Int64) {
				var calls atomic.Int64
				return func(string) error { calls.Add(1); return denied }, &calls
			}, wantErr: denied, maxCalls: deleteWorkers + 1},
		} {
			t.Run(b+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				s := openBackendNamed(t, b)
				keys := numbered("ch/a", 100)
				putKeys(t, s, keys)
				s.SetRetry(RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond, Budget: 200 * time.Millisecond})
				f, calls := tc.fault()
				s.testFault = f
				n, err := s.DeleteMany(context.Background(), keys)
				if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Fatalf("DeleteMany: %d, %v; want error %v", n, err, tc.wantErr)
				}
				if tc.wantErr != nil {
					if n != 0 || IsTransient(err) != tc.transient {
						t.Errorf("deleted %d, error %v (transient %v); want 0 deleted, transient %v", n, err, IsTransient(err), tc.transient)
					}
					if b == "mem" && tc.maxCalls > 0 && calls.Load() > tc.maxCalls {
						t.Errorf("%d attempts: DeleteMany went on after the first key failed for good", calls.Load())
					}
					return
				}
				if n != len(keys) || s.Retries() < 2 {
					t.Errorf("deleted %d, %d retries; want %d, at least 2", n, s.Retries(), len(keys))
				}
				if b == "s3" && calls.Load() != 3 {
					t.Errorf("%d delete attempts for %d keys; want 3 (one DeleteObjects request, retried twice)", calls.Load(), len(keys))
				}
				s.testFault = nil
				if got := listKeys(t, s); len(got) != 0 {
					t.Errorf("left %q", got)
				}
			})
		}
	}
}

// openBackendNamed opens a new store of the backend called name.
func openBackendNamed(t *testing.T, name string) *Store {
	t.Helper()
	for _, b := range backends {
		if b.name == name {
			return openBackend(t, b.sidecar, b.url(t))
		}
	}
	t.Fatalf("no backend %q", name)
	return nil
}

// TestDeleteManyS3KeyErrors: the keys a DeleteObjects response reports as
// failed are retried when the code is transient and reported otherwise.
// MinIO cannot be made to fail single keys, so a stand-in S3 endpoint
// answers the requests.
func TestDeleteManyS3KeyErrors(t *testing.T) {
	t.Parallel()
	var (
		mu       sync.Mutex
		requests []string // the bodies
		n        atomic.Int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		requests = append(requests, string(body))
		mu.Unlock()
		if r.Method != http.MethodPost || !r.URL.Query().Has("delete") || r.URL.Path != "/bkt" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.String(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		if n.Add(1) == 1 {
			fmt.Fprint(w, `<DeleteResult>`+
				`<Error><Key>pre/b</Key><Code>SlowDown</Code><Message>slow down</Message></Error>`+
				`<Error><Key>pre/c</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`+
				`</DeleteResult>`)
			return
		}
		fmt.Fprint(w, `<DeleteResult></DeleteResult>`)
	}))
	t.Cleanup(srv.Close)
	s := mustOpen(t, "s3://bkt?anonymous=true&region=us-east-1&use_path_style=true&prefix=pre/&endpoint="+srv.URL)
	s.SetRetry(fastRetry)
	got, err := s.DeleteMany(context.Background(), []string{"a", "b", "c"})
	if got != 2 || err == nil || !strings.Contains(err.Error(), `"c"`) || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("DeleteMany: %d, %v; want 2 deleted and c's AccessDenied", got, err)
	}
	var kerr *KeyError
	if !errors.As(err, &kerr) || kerr.Key != "c" || IsTransient(err) {
		t.Errorf("error %v: want a *KeyError for c, not transient", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(requests) != 2 || !strings.Contains(requests[0], "<Key>pre/a</Key>") || !strings.Contains(requests[0], "<Quiet>true</Quiet>") ||
		!strings.Contains(requests[1], "<Key>pre/b</Key>") || strings.Contains(requests[1], "pre/a") || strings.Contains(requests[1], "pre/c") {
		t.Errorf("requests %q: want all keys (quiet), then b again alone", requests)
	}
}
