package export_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
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

// TestExportExpiring: once its hold is stored, a zero-copy export refuses a
// range that reaches at or before the channel's newest expiry marker (a
// prune that wrote it may not have seen the hold), unless another hold
// contains that part; it then releases its own hold.
func TestExportExpiring(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		marker  int64 // the expiry marker's horizon as K (0: none)
		older   bool  // a hold on [k0, k0+2) was written before
		copy    bool
		wantErr bool
	}{
		{name: "no marker"},
		{name: "marker at the range's start", marker: k0},
		{name: "marker inside the range", marker: k0 + 2, wantErr: true},
		{name: "marker after the range", marker: k0 + 10, wantErr: true},
		{name: "marker inside, held before", marker: k0 + 2, older: true},
		{name: "marker inside, copy", marker: k0 + 2, copy: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+3)
			var older string
			if tc.older {
				r, err := holds.Add(ctx, e.store, holds.Request{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 2), Reason: "legal"}, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				older = r.ID
			}
			if tc.marker != 0 {
				if err := e.store.Create(ctx, layout.ExpiryKey(testChannel, kTime(tc.marker)), []byte("{}\n"), nil); err != nil {
					t.Fatal(err)
				}
			}
			o := export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 4), Copy: tc.copy,
				Out: fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))}
			_, err := e.x.VoD(ctx, o)
			if tc.wantErr != (err != nil) || (err != nil && !errors.Is(err, export.ErrExpiring)) {
				t.Fatalf("VoD: %v; want ErrExpiring: %v", err, tc.wantErr)
			}
			recs, err := holds.List(ctx, e.store, testChannel)
			if err != nil {
				t.Fatal(err)
			}
			want := 0
			if tc.older {
				want++
			}
			if !tc.wantErr && !tc.copy {
				want++
			}
			if len(recs) != want || (tc.older && recs[0].ID != older && recs[len(recs)-1].ID != older) {
				t.Errorf("%d holds after the export, want %d", len(recs), want)
			}
		})
	}
}
