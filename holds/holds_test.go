package holds

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
)

var (
	t0  = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	now = t0.Add(time.Hour)
)

func openStore(t *testing.T) *cloud.Store {
	t.Helper()
	st, err := cloud.Open(context.Background(), testenv.FileStoreURL(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func at(d time.Duration) *time.Time {
	x := now.Add(d)
	return &x
}

// TestAddListRelease: Add writes a record List reads back (Active drops
// the expired one); Release deletes it; an unknown id is ErrNoHold.
func TestAddListRelease(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	reqs := []Request{
		{Channel: "news", From: t0, To: t0.Add(time.Minute), Reason: "legal"},
		{Channel: "news", From: t0, To: t0.Add(2 * time.Minute), Reason: "programme", Expires: at(time.Hour)},
		{Channel: "news", From: t0, To: t0.Add(3 * time.Minute), Reason: "short", Expires: at(time.Minute)},
		{Channel: "sport", From: t0, To: t0.Add(time.Minute), Reason: "other channel"},
	}
	ids := map[string]Request{}
	for _, r := range reqs {
		rec, err := Add(ctx, st, r, now)
		if err != nil {
			t.Fatalf("Add(%+v): %v", r, err)
		}
		if !rec.Created.Equal(now) || rec.Reason != r.Reason || layout.ValidHoldID(rec.ID) != nil {
			t.Errorf("Add returned %+v", rec)
		}
		ids[rec.ID] = r
	}
	all, err := List(ctx, st, "news")
	if err != nil || len(all) != 3 {
		t.Fatalf("List(news): %d records, %v; want 3", len(all), err)
	}
	for _, rec := range all {
		r := ids[rec.ID]
		if rec.Channel != "news" || !rec.From.Equal(r.From) || !rec.To.Equal(r.To) || rec.Reason != r.Reason ||
			(r.Expires == nil) != (rec.Expires == nil) {
			t.Errorf("listed %+v; added %+v", rec, r)
		}
	}
	active, err := Active(ctx, st, "news", now.Add(30*time.Minute))
	if err != nil || len(active) != 2 {
		t.Fatalf("Active after the short hold expired: %d records, %v; want 2", len(active), err)
	}
	for _, rec := range all {
		if err := Release(ctx, st, "news", rec.ID); err != nil {
			t.Fatalf("Release(%s): %v", rec.ID, err)
		}
	}
	if left, err := List(ctx, st, "news"); err != nil || len(left) != 0 {
		t.Errorf("List after Release: %d records, %v", len(left), err)
	}
	if left, err := List(ctx, st, "sport"); err != nil || len(left) != 1 {
		t.Errorf("Release touched another channel: %d records, %v", len(left), err)
	}
	err = Release(ctx, st, "news", all[0].ID)
	if !errors.Is(err, ErrNoHold) || !strings.Contains(err.Error(), all[0].ID) {
		t.Errorf("Release of a released hold: %v; want ErrNoHold naming it", err)
	}
}

// TestAddBadInput: a request that is not a hold is refused, naming what
// is wrong, and writes nothing.
func TestAddBadInput(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := openStore(t)
	good := Request{Channel: "news", From: t0, To: t0.Add(time.Minute), Reason: "legal"}
	for _, tc := range []struct {
		name string
		edit func(*Request)
		want string
	}{
		{"bad channel", func(r *Request) { r.Channel = "../x" }, `channel "../x"`},
		{"no range", func(r *Request) { r.From = time.Time{} }, "needs a range"},
		{"empty range", func(r *Request) { r.To = r.From }, "empty range"},
		{"reversed range", func(r *Request) { r.To = r.From.Add(-time.Second) }, "is not after from"},
		{"no reason", func(r *Request) { r.Reason = " " }, "needs a reason"},
		{"expired", func(r *Request) { r.Expires = at(-time.Second) }, "not in the future"},
	} {
		r := good
		tc.edit(&r)
		if rec, err := Add(ctx, st, r, now); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Add: %+v, %v; want error with %q", tc.name, rec, err, tc.want)
		}
	}
	if all, err := List(ctx, st, "news"); err != nil || len(all) != 0 {
		t.Errorf("bad requests wrote %d records (%v)", len(all), err)
	}
}

func TestReleaseBadInput(t *testing.T) {
	t.Parallel()
	st := openStore(t)
	for _, tc := range []struct{ channel, id, want string }{
		{"news", "123", `hold id "123"`},
		{"news", "ABCDEF0123456789", "hold id"},
		{"", "0123456789abcdef", "channel"},
		{"news", "0123456789abcdef", "no such hold in channel news"},
	} {
		if err := Release(context.Background(), st, tc.channel, tc.id); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Release(%q, %q): %v; want error with %q", tc.channel, tc.id, err, tc.want)
		}
	}
}

func TestCovers(t *testing.T) {
	t.Parallel()
	minute := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	holds := []*layout.HoldRecord{{From: minute(10), To: minute(20)}, {From: minute(30), To: minute(31)}}
	for _, tc := range []struct {
		name     string
		from, to int
		want     bool
	}{
		{"before", 0, 10, false},
		{"ends inside", 5, 11, true},
		{"inside", 12, 13, true},
		{"around", 9, 21, true},
		{"starts inside", 19, 25, true},
		{"after, touching", 20, 30, false},
		{"second hold", 29, 32, true},
		{"after all", 31, 40, false},
	} {
		if got := Covers(holds, minute(tc.from), minute(tc.to)); got != tc.want {
			t.Errorf("%s: Covers([%d, %d)) = %v; want %v", tc.name, tc.from, tc.to, got, tc.want)
		}
	}
	if Covers(nil, minute(0), minute(100)) {
		t.Error("no holds cover a range")
	}
}
