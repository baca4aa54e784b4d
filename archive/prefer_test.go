package archive_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/pull"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestPreferredSource: two interchangeable but not bit-identical sources
// (simulate Variant 0 and 1); "fiber" is preferred. Which copy is stored
// depends on when the preferred one arrives relative to the grace.
func TestPreferredSource(t *testing.T) {
	t.Parallel()
	const grace = 400 * time.Millisecond
	tests := []struct {
		name       string
		fiberDelay time.Duration // fiber's offer after sat's; negative: fiber first
		wantFrom   string        // whose bytes are stored
		maxSatWait time.Duration // sat's OfferSegment must return within this
	}{
		// The bounds leave the store and index writes room on two busy
		// cores, and still fail an offer that waits when it must not:
		// after grace, sat waiting for fiber would take grace + 1 s.
		{"preferred within grace", 150 * time.Millisecond, "fiber", grace + 600*time.Millisecond},
		{"preferred after grace", grace + time.Second, "sat", grace + 800*time.Millisecond},
		{"preferred first", -100 * time.Millisecond, "fiber", 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			ctx := context.Background()
			if err := e.ch.SetPreference(ctx, "fiber", grace); err != nil {
				t.Fatal(err)
			}
			fiberSim := testenv.NewSim(t, simulate.Options{Variant: 1})
			satSim := testenv.NewSim(t, simulate.Options{})
			e.OfferInits(t, "fiber", fiberSim)
			e.OfferInits(t, "sat", satSim)
			for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
				k := k0 + 1
				fiberSeg, satSeg := testenv.MustSeg(t, fiberSim, rep, k), testenv.MustSeg(t, satSim, rep, k)
				if sha(fiberSeg) == sha(satSeg) {
					t.Fatal("the variants are bit-identical: the test cannot tell them apart")
				}
				var wg sync.WaitGroup
				var satTook time.Duration
				offer := func(src string, data []byte, delay time.Duration) {
					defer wg.Done()
					time.Sleep(delay)
					start := time.Now()
					if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: src, Rep: rep, Data: data, ExpectK: k}); err != nil {
						t.Errorf("%s: %v", src, err)
					}
					if src == "sat" {
						satTook = time.Since(start)
					}
				}
				wg.Add(2)
				satDelay, fiberDelay := time.Duration(0), tt.fiberDelay
				if fiberDelay < 0 {
					satDelay, fiberDelay = -fiberDelay, 0
				}
				go offer("sat", satSeg, satDelay)
				go offer("fiber", fiberSeg, fiberDelay)
				wg.Wait()
				want := map[string][]byte{"fiber": fiberSeg, "sat": satSeg}[tt.wantFrom]
				if got := e.Get(t, mediaKey(rep, k)); sha(got) != sha(want) {
					t.Errorf("%s K=%d: stored copy is not %s's", rep, k, tt.wantFrom)
				}
				if satTook > tt.maxSatWait {
					t.Errorf("%s: sat's offer took %v, want at most %v", rep, satTook, tt.maxSatWait)
				}
				names := map[int64]string{e.source(t, "fiber").ID: "fiber", e.source(t, "sat").ID: "sat"}
				by := map[string]index.Outcome{}
				for _, d := range e.deliveries(t, rep, k) {
					by[names[d.SourceID]] = d.Outcome
				}
				other := map[string]string{"fiber": "sat", "sat": "fiber"}[tt.wantFrom]
				if by[tt.wantFrom] != index.Stored || by[other] != index.Duplicate {
					t.Errorf("%s: deliveries %v, want %s stored and %s duplicate", rep, by, tt.wantFrom, other)
				}
			}
		})
	}
}

// TestPreferredSourcePull: pulling two simulators where the preferred one
// publishes every segment 1 s later than the other: with a 2 s grace,
// every stored segment is the preferred source's copy.
func TestPreferredSourcePull(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	fiber := startSim(t, "fiber", simulate.Options{Variant: 1, ClockOffset: -time.Second})
	sat := startSim(t, "sat", simulate.Options{})
	a := archive.New(e.store, e.db, testLogger(t))
	ch, err := a.OpenChannel(ctx, testChannel, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.SetPreference(ctx, "fiber", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	opts := pull.Options{Channel: testChannel, For: 8 * time.Second, SegmentTimeout: 5 * time.Second,
		Sources: []pull.MPDSource{{Name: "sat", MPDURL: sat.url}, {Name: "fiber", MPDURL: fiber.url}}}
	if err := pull.Record(ctx, a, opts); err != nil {
		t.Fatal(err)
	}
	st := expectComplete(t, e, 3)
	for rep, ts := range st {
		for k := ts.First; k <= ts.Last; k++ {
			got := e.Get(t, mediaKey(rep, k))
			if fb := testenv.MustSeg(t, fiber.sim, rep, k); sha(got) != sha(fb) {
				if sb := testenv.MustSeg(t, sat.sim, rep, k); sha(got) == sha(sb) {
					t.Errorf("%s K=%d: stored the non-preferred source's copy", rep, k)
				} else {
					t.Errorf("%s K=%d: stored copy matches neither source", rep, k)
				}
			}
		}
		if d := sourceStatus(ts, "sat").Duplicates; d == 0 {
			t.Errorf("%s: sat has no duplicates: %+v", rep, sourceStatus(ts, "sat"))
		}
	}
	checkConsistent(t, e)
}
