// Package archivetest opens a throwaway archive for tests: a store, an
// index and one open channel, closed when the test ends. It is apart from
// testenv because it imports cloud and archive, whose own internal tests use
// testenv.
package archivetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
)

// Env is an archive over a store and an index, with one channel open.
type Env struct {
	StoreURL string
	StoreDir string // the store's directory; file stores only
	Store    *cloud.Store
	DB       *index.DB
	Archive  *archive.Archive
	Channel  *archive.Channel

	closeOnce sync.Once
}

// Open opens the store at storeURL and the index at indexPath, and channel
// (segment duration d) in an archive over them. They are closed when tb
// ends, or earlier by Close.
func Open(tb testing.TB, storeURL, indexPath, channel string, d time.Duration) *Env {
	tb.Helper()
	ctx := context.Background()
	e := &Env{StoreURL: storeURL}
	tb.Cleanup(e.Close)
	var err error
	if e.Store, err = cloud.Open(ctx, storeURL); err != nil {
		tb.Fatal(err)
	}
	e.StoreDir, _ = e.Store.LocalDir()
	if e.DB, err = index.Open(ctx, indexPath); err != nil {
		tb.Fatal(err)
	}
	e.Archive = archive.New(e.Store, e.DB, nil)
	if e.Channel, err = e.Archive.OpenChannel(ctx, channel, d); err != nil {
		tb.Fatal(err)
	}
	return e
}

// Close closes the index, then the store, once. A test that must release
// them before it ends (say before a CLI run opens the same index) calls it;
// otherwise Open's cleanup does.
func (e *Env) Close() {
	e.closeOnce.Do(func() {
		if e.DB != nil {
			e.DB.Close()
		}
		if e.Store != nil {
			e.Store.Close()
		}
	})
}
