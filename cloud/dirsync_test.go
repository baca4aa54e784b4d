package cloud

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// dirFsyncs records the fsyncs of one directory that a store's writes ask
// for: what the directory held when each started, and which ended.
type dirFsyncs struct {
	mu      sync.Mutex
	started [][]string // the directory's entries at the start of each fsync
	ended   []bool
}

// covered reports whether an fsync that started with name in the
// directory (after its rename) has ended.
func (f *dirFsyncs) covered(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, names := range f.started {
		if f.ended[i] && slices.Contains(names, name) {
			return true
		}
	}
	return false
}

// awaitUsers waits until n writes are in s's directory syncer for dir.
func awaitUsers(t *testing.T, s *Store, dir string, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		s.dirSync.mu.Lock()
		got := 0
		if d := s.dirSync.dirs[dir]; d != nil {
			got = d.users
		}
		s.dirSync.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d writes wait for the fsync of %s; want %d", got, dir, n)
			return
		}
	}
}

// TestDirFsyncsCoalesced: concurrent writes into one directory share its
// fsyncs: while the first fsync runs (held until every other write waits
// for it), the others queue, and one more fsync, started after all their
// renames, makes them all durable: 2 fsyncs for N writes. Each write
// returns only after an fsync that started after its rename has ended,
// and a failed fsync fails every write it was to cover.
func TestDirFsyncsCoalesced(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		sidecar bool
		writes  int
		fail    bool
		want    int // fsyncs of the directory
	}{
		{name: "lone write", writes: 1, want: 1},
		{name: "16 concurrent writes", writes: 16, want: 2},
		{name: "16 concurrent writes, sidecars", sidecar: true, writes: 16, want: 2},
		{name: "failing fsync", writes: 4, fail: true, want: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := openBackend(t, tc.sidecar, fileStoreURL(t))
			ctx := context.Background()
			if err := s.Put(ctx, "ch/v1/0.m4s", []byte("made the directory"), nil); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(s.dir, "ch", "v1")
			rec := &dirFsyncs{}
			s.dirSync.sync = func(d string) error {
				if d != dir {
					return syncDir(d)
				}
				entries, err := os.ReadDir(d)
				if err != nil {
					return err
				}
				names := make([]string, len(entries))
				for i, e := range entries {
					names[i] = e.Name()
				}
				rec.mu.Lock()
				i := len(rec.started)
				rec.started, rec.ended = append(rec.started, names), append(rec.ended, false)
				rec.mu.Unlock()
				if i == 0 {
					awaitUsers(t, s, dir, tc.writes) // the other writes queue behind this fsync
				}
				err = syncDir(d)
				if tc.fail {
					err = errors.New("injected fsync failure")
				}
				rec.mu.Lock()
				rec.ended[i] = true
				rec.mu.Unlock()
				return err
			}
			var wg sync.WaitGroup
			for i := range tc.writes {
				wg.Go(func() {
					name := fmt.Sprintf("%d.m4s", i+1)
					err := s.Create(ctx, "ch/v1/"+name, []byte(name), map[string]string{"reap-k": name})
					if tc.fail != (err != nil) {
						t.Errorf("Create %s: %v; want failure %v", name, err, tc.fail)
					}
					if !rec.covered(name) {
						t.Errorf("Create %s returned before an fsync of its directory that started after its rename ended", name)
					}
				})
			}
			wg.Wait()
			if n := len(rec.started); n != tc.want {
				t.Errorf("%d fsyncs of the directory for %d writes; want %d", n, tc.writes, tc.want)
			}
		})
	}
}
