package export_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestExportHold: a zero-copy export writes a hold on its range before it
// writes the presentation, and returns its id; a copy, or NoHold, writes
// none.
func TestExportHold(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		copy     bool
		noHold   bool
		wantHold bool
	}{
		{name: "zero copy", wantHold: true},
		{name: "copy", copy: true},
		{name: "zero copy, no hold", noHold: true},
		{name: "copy, no hold", copy: true, noHold: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+3)
			mpdPath := filepath.Join(e.storeDir, "vod", "x.mpd")
			created := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
			var calls atomic.Int64
			e.x.Now = func() time.Time {
				// The only call without fillers: the hold's creation.
				calls.Add(1)
				if _, err := os.Stat(mpdPath); err == nil {
					t.Error("the hold was made after the MPD was written")
				}
				return created
			}
			o := export.Options{From: kTime(k0), To: kTime(k0 + 4), Out: fileURL(mpdPath), Copy: tc.copy, NoHold: tc.noHold}
			res := e.export(t, o)
			recs, err := holds.List(context.Background(), e.store, testChannel)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.wantHold {
				if res.HoldID != "" || len(recs) != 0 {
					t.Errorf("hold %q, %d records; want none", res.HoldID, len(recs))
				}
				return
			}
			if len(recs) != 1 || res.HoldID == "" || calls.Load() != 1 {
				t.Fatalf("hold %q, %d records, %d clock reads; want one hold", res.HoldID, len(recs), calls.Load())
			}
			r := recs[0]
			if r.ID != res.HoldID || !r.From.Equal(o.From) || !r.To.Equal(o.To) || !r.Created.Equal(created) ||
				r.Expires != nil || !strings.Contains(r.Reason, o.Out) || r.Reason != export.HoldReason(o.Out) {
				t.Errorf("hold record %+v; want [%s, %s) created %s, until released, reason naming %s", r, o.From, o.To, created, o.Out)
			}
		})
	}
}

// TestExportFailedKeepsNoHold: an export that fails after writing its hold
// releases it.
func TestExportFailedKeepsNoHold(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+2)
	out := fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))
	for _, tc := range []struct {
		name string
		o    export.Options
	}{
		{"range without segments", export.Options{From: kTime(k0 + 10), To: kTime(k0 + 20), Out: out}},
		{"out is a file's child", export.Options{From: kTime(k0), To: kTime(k0 + 2),
			Out: fileURL(filepath.Join(e.storeDir, mediaKey(reps[0], k0), "x.mpd"))}},
	} {
		tc.o.Channel = testChannel
		if res, err := e.x.VoD(context.Background(), tc.o); err == nil {
			t.Fatalf("%s: VoD succeeded: %+v", tc.name, res)
		}
		if recs, err := holds.List(context.Background(), e.store, testChannel); err != nil || len(recs) != 0 {
			t.Errorf("%s: a failed export left %d holds (%v)", tc.name, len(recs), err)
		}
	}
}
