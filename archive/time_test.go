package archive_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestOfferTimeWindow: a pulled segment further than MaxTimeSkew from the
// recorder's clock is refused, naming its time, before anything is
// written; a backfill (repair) of a K is checked against that K, not the
// clock.
func TestOfferTimeWindow(t *testing.T) {
	t.Parallel()
	const day = int64(24 * 3600 / 2) // K per day at D = 2 s
	v := simulate.VideoRep
	for _, tc := range []struct {
		name     string
		k        int64
		backfill bool
		want     string // in the error; "" for stored
	}{
		{"now", k0, false, ""},
		{"within the window", k0 - day/2, false, ""},
		{"two days late", k0 - 2*day, false, "more than 24h0m0s from the recorder's clock"},
		{"two days early", k0 + 2*day, false, "more than 24h0m0s from the recorder's clock"},
		{"1970", 0, false, "1970-01-01T00:00:00Z"},
		{"backfill of an old K", k0 - 30*day, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.a.MaxTimeSkew = archive.DefaultMaxTimeSkew
			e.a.Now = func() time.Time { return time.Unix(k0*2, 0) }
			sim := testenv.NewSim(t, simulate.Options{})
			e.OfferInits(t, "a", sim)
			res, err := e.ch.OfferSegment(context.Background(), archive.Offer{Source: "a", Rep: v, Data: testenv.MustSeg(t, sim, v, tc.k), ExpectK: tc.k, Backfill: tc.backfill})
			if tc.want == "" {
				if err != nil || res.Outcome != index.Stored {
					t.Fatalf("OfferSegment K %d: %v, %v; want stored", tc.k, res.Outcome, err)
				}
				return
			}
			if !errors.Is(err, archive.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("OfferSegment K %d: %v; want ErrInvalid naming %q", tc.k, err, tc.want)
			}
			if keys := e.mediaKeys(t, v); len(keys) != 0 {
				t.Fatalf("stored %v; want nothing", keys)
			}
		})
	}
}
