// Package archivetest opens a throwaway archive for tests: a store, an
// index and one open channel, closed when the test ends, and records the
// simulated encoder's segments into it (Fill). It is apart from
// testenv because it imports cloud and archive, whose own internal tests use
// testenv.
package archivetest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
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

// OpenOn is Open on a new store of kind (a directory of the test's own for
// file stores, a new bucket otherwise) with the index in dir, a new
// temporary directory it returns.
func OpenOn(tb testing.TB, kind testenv.StoreKind, channel string, d time.Duration) (e *Env, dir string) {
	tb.Helper()
	dir = tb.TempDir()
	storeURL := testenv.FileStoreURL(dir)
	if kind.Name != "file" {
		storeURL = kind.URL(tb)
	}
	return Open(tb, storeURL, filepath.Join(dir, "index.db"), channel, d), dir
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

// Reps are the simulated encoder's tracks, video then audio.
var Reps = []string{simulate.VideoRep, simulate.AudioRep}

// OfferInits offers both init segments of sim on the channel from source.
func (e *Env) OfferInits(tb testing.TB, source string, sim *simulate.Server) {
	tb.Helper()
	for _, rep := range Reps {
		if _, err := e.Channel.OfferInit(context.Background(), source, rep, testenv.MustInit(tb, sim, rep), false); err != nil {
			tb.Fatalf("OfferInit %s from %s: %v", rep, source, err)
		}
	}
}

// Offer offers segment K of rep from sim as source, pulled as K.
func (e *Env) Offer(tb testing.TB, source string, sim *simulate.Server, rep string, k int64) archive.Result {
	tb.Helper()
	res, err := e.Channel.OfferSegment(context.Background(), archive.Offer{Source: source, Rep: rep, Data: testenv.MustSeg(tb, sim, rep, k), ExpectK: k})
	if err != nil {
		tb.Fatalf("OfferSegment %s %d from %s: %v", rep, k, source, err)
	}
	return res
}

// Fill offers the inits and both tracks' segments from..to (inclusive) of
// sim as source, except the Ks in skip.
func (e *Env) Fill(tb testing.TB, source string, sim *simulate.Server, from, to int64, skip ...int64) {
	tb.Helper()
	e.OfferInits(tb, source, sim)
	for k := from; k <= to; k++ {
		if slices.Contains(skip, k) {
			continue
		}
		for _, rep := range Reps {
			e.Offer(tb, source, sim, rep, k)
		}
	}
}

// FillParallel is Fill without skips, workers offers at once (the archive
// locks each track's K, as for a recorder's concurrent deliveries): on a
// file store, which fsyncs every object, thousands of segments take
// seconds instead of minutes.
func (e *Env) FillParallel(tb testing.TB, source string, sim *simulate.Server, from, to int64, workers int) {
	tb.Helper()
	e.OfferInits(tb, source, sim)
	ctx := context.Background()
	var g errgroup.Group
	g.SetLimit(workers)
	for k := from; k <= to; k++ {
		for _, rep := range Reps {
			g.Go(func() error {
				data, err := sim.Segment(rep, k)
				if err == nil {
					_, err = e.Channel.OfferSegment(ctx, archive.Offer{Source: source, Rep: rep, Data: data, ExpectK: k})
				}
				if err != nil {
					return fmt.Errorf("offer %s %d from %s: %w", rep, k, source, err)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		tb.Fatal(err)
	}
}

// Track is the index row of the channel's track rep.
func (e *Env) Track(tb testing.TB, rep string) index.Track {
	tb.Helper()
	t, err := e.DB.Track(context.Background(), e.Channel.Info.ID, rep)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// Segment is the index row of segment K of rep, and whether there is one.
func (e *Env) Segment(tb testing.TB, rep string, k int64) (index.Segment, bool) {
	tb.Helper()
	s, ok, err := e.DB.Segment(context.Background(), e.Track(tb, rep).ID, k)
	if err != nil {
		tb.Fatal(err)
	}
	return s, ok
}

// Keys lists the store's keys below prefix.
func (e *Env) Keys(tb testing.TB, prefix string) []string {
	tb.Helper()
	var out []string
	if err := e.Store.List(context.Background(), prefix, func(a cloud.Attrs) error {
		out = append(out, a.Key)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// InitKeys lists the init segment keys of the channel's track rep.
func (e *Env) InitKeys(tb testing.TB, rep string) []string {
	tb.Helper()
	var out []string
	for _, k := range e.Keys(tb, e.Channel.Info.Name+"/"+rep+"/") {
		if o, err := layout.Parse(k); err == nil && o.Kind == layout.KindInit {
			out = append(out, k)
		}
	}
	return out
}

// Get is the object at key.
func (e *Env) Get(tb testing.TB, key string) []byte {
	tb.Helper()
	b, err := e.Store.Get(context.Background(), key)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
