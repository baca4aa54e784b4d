package index

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"
)

func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

// fixture is a channel with one video track, one init and two sources.
type fixture struct {
	db     *DB
	ch     ChannelRow
	track  Track
	init   Init
	srcA   SourceRow
	srcB   SourceRow
	ctx    context.Context
	tb     testing.TB
	segDur uint64
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, openTest(t))
}

// newFixtureOn is newFixture on db.
func newFixtureOn(t testing.TB, db *DB) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{db: db, ctx: ctx, tb: t, segDur: 180000}
	var err error
	if f.ch, err = f.db.EnsureChannel(ctx, "ch1"); err != nil {
		t.Fatal(err)
	}
	if f.track, err = f.db.UpsertTrack(ctx, Track{ChannelID: f.ch.ID, Rep: "v1", ContentType: "video", Timescale: 90000, SegDur: f.segDur, Ext: "cmfv"}); err != nil {
		t.Fatal(err)
	}
	if f.init, err = f.db.AddInit(ctx, Init{TrackID: f.track.ID, Hash: "aa", Key: "ch1/v1/init-aa.cmfv", Size: 700}); err != nil {
		t.Fatal(err)
	}
	if f.srcA, err = f.db.EnsureSource(ctx, f.ch.ID, "encA", ""); err != nil {
		t.Fatal(err)
	}
	if f.srcB, err = f.db.EnsureSource(ctx, f.ch.ID, "encB", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// trackWith adds a track rep to the fixture's channel holding bare
// segment rows at the K in present.
func (f *fixture) trackWith(t testing.TB, rep string, present []int64) Track {
	t.Helper()
	tr, err := f.db.UpsertTrack(f.ctx, Track{ChannelID: f.ch.ID, Rep: rep})
	if err != nil {
		t.Fatal(err)
	}
	segs := make([]Segment, len(present))
	for j, k := range present {
		segs[j] = Segment{TrackID: tr.ID, K: k}
	}
	if err := f.db.InsertSegments(f.ctx, segs, false); err != nil {
		t.Fatal(err)
	}
	return tr
}

func (f *fixture) seg(k int64) Segment {
	return Segment{
		TrackID: f.track.ID, K: k, EPT: uint64(k) * f.segDur, Duration: f.segDur, Size: 1000 + k,
		SHA256: fmt.Sprintf("%064x", k), Key: fmt.Sprintf("ch1/v1/%d.cmfv", k), InitID: f.init.ID,
		SourceID: f.srcA.ID, ReceivedAt: time.Unix(1700000000, k).UTC(),
	}
}

func (f *fixture) insert(ks ...int64) {
	f.tb.Helper()
	segs := make([]Segment, len(ks))
	for i, k := range ks {
		segs[i] = f.seg(k)
	}
	if err := f.db.InsertSegments(f.ctx, segs, false); err != nil {
		f.tb.Fatal(err)
	}
}

func (f *fixture) countDeliveries() int64 {
	f.tb.Helper()
	var n int64
	if err := f.db.reader.QueryRow(`SELECT count(*) FROM deliveries`).Scan(&n); err != nil {
		f.tb.Fatal(err)
	}
	return n
}

func TestOpenSchemaAndReopen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "index.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	var v int
	if err := db.reader.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion {
		t.Fatalf("schema_version = %d, %v; want %d", v, err, SchemaVersion)
	}
	for _, tbl := range []string{"channels", "sources", "tracks", "inits", "segments", "deliveries"} {
		var n int
		if err := db.reader.QueryRow(`SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, tbl).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: %d, %v", tbl, n, err)
		}
	}
	pragmas := []struct{ sql, want string }{
		{"PRAGMA journal_mode", "wal"},
		{"PRAGMA foreign_keys", "1"},
		{"PRAGMA synchronous", "1"}, // NORMAL
		{"PRAGMA busy_timeout", "10000"},
	}
	for _, p := range pragmas {
		var got string
		if err := db.writer.QueryRow(p.sql).Scan(&got); err != nil || got != p.want {
			t.Errorf("%s = %q, %v; want %q", p.sql, got, err, p.want)
		}
	}
	ch, err := db.EnsureChannel(ctx, "persist")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got, err := db.Channel(ctx, "persist")
	if err != nil || got != ch {
		t.Fatalf("after reopen: %+v, %v; want %+v", got, err, ch)
	}
	var rows int
	if err := db.reader.QueryRow(`SELECT count(*) FROM schema_version`).Scan(&rows); err != nil || rows != 1 {
		t.Fatalf("schema_version rows = %d, %v", rows, err)
	}

	// A database from a newer program is refused.
	if _, err := db.writer.Exec(`UPDATE schema_version SET version = ?`, SchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db2, err := Open(ctx, path); err == nil {
		db2.Close()
		t.Fatal("opened a database with a newer schema version")
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	t.Parallel()
	if _, err := Open(context.Background(), ":memory:"); err == nil {
		t.Fatal("want error for :memory:")
	}
}

func TestEnsureChannelAndSourceIdempotent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	a1, err := db.EnsureChannel(ctx, "b-chan")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := db.EnsureChannel(ctx, "b-chan")
	if err != nil || a1 != a2 {
		t.Fatalf("second EnsureChannel = %+v, %v; want %+v", a2, err, a1)
	}
	if _, err := db.EnsureChannel(ctx, "a-chan"); err != nil {
		t.Fatal(err)
	}
	chs, err := db.Channels(ctx)
	if err != nil || len(chs) != 2 || chs[0].Name != "a-chan" || chs[1].Name != "b-chan" {
		t.Fatalf("Channels = %+v, %v", chs, err)
	}
	if _, err := db.Channel(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Channel(nope) err = %v", err)
	}
	if err := db.SetPreferredSource(ctx, a1.ID, "encB"); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Channel(ctx, "b-chan"); c.PreferredSource != "encB" {
		t.Fatalf("PreferredSource = %q", c.PreferredSource)
	}
	if err := db.SetPreferredSource(ctx, 9999, "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetPreferredSource(9999) err = %v", err)
	}

	steps := []struct {
		name, url string
		wantURL   string
	}{
		{"enc1", "", ""},
		{"enc1", "", ""},
		{"enc1", "http://a/live.mpd", "http://a/live.mpd"},
		{"enc1", "", "http://a/live.mpd"}, // empty url keeps the stored one
		{"enc1", "http://a/live.mpd", "http://a/live.mpd"},
		{"enc1", "http://b/live.mpd", "http://b/live.mpd"},
	}
	var id int64
	for i, s := range steps {
		src, err := db.EnsureSource(ctx, a1.ID, s.name, s.url)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if id == 0 {
			id = src.ID
		}
		if src.ID != id || src.URL != s.wantURL || src.ChannelID != a1.ID || src.Name != s.name {
			t.Fatalf("step %d: %+v; want id %d url %q", i, src, id, s.wantURL)
		}
	}
	if _, err := db.EnsureSource(ctx, a1.ID, "enc0", "udp://x"); err != nil {
		t.Fatal(err)
	}
	srcs, err := db.Sources(ctx, a1.ID)
	if err != nil || len(srcs) != 2 || srcs[0].Name != "enc0" || srcs[1].Name != "enc1" {
		t.Fatalf("Sources = %+v, %v", srcs, err)
	}
	if _, err := db.EnsureSource(ctx, 9999, "x", ""); err == nil {
		t.Fatal("EnsureSource on a missing channel succeeded")
	}
}

func TestUpsertTrackMerges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openTest(t)
	ch, _ := db.EnsureChannel(ctx, "c")
	t1, err := db.UpsertTrack(ctx, Track{ChannelID: ch.ID, Rep: "v1", ContentType: "video", Codecs: "avc1.64001f", Width: 1280, Height: 720, Timescale: 90000})
	if err != nil {
		t.Fatal(err)
	}
	if t1.ID == 0 {
		t.Fatal("no ID")
	}
	t2, err := db.UpsertTrack(ctx, Track{ChannelID: ch.ID, Rep: "v1", Codecs: "avc1.640028", FrameRate: "25", SegDur: 180000, Ext: "cmfv", Bandwidth: 3000000})
	if err != nil {
		t.Fatal(err)
	}
	want := Track{ID: t1.ID, ChannelID: ch.ID, Rep: "v1", ContentType: "video", Codecs: "avc1.640028", Width: 1280, Height: 720,
		FrameRate: "25", Bandwidth: 3000000, Timescale: 90000, SegDur: 180000, Ext: "cmfv"}
	if t2 != want {
		t.Fatalf("merged = %+v\nwant     %+v", t2, want)
	}
	if got, err := db.Track(ctx, ch.ID, "v1"); err != nil || got != want {
		t.Fatalf("Track = %+v, %v", got, err)
	}
	if got, err := db.TrackByID(ctx, t1.ID); err != nil || got != want {
		t.Fatalf("TrackByID = %+v, %v", got, err)
	}
	if _, err := db.Track(ctx, ch.ID, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Track(nope) err = %v", err)
	}
	if _, err := db.UpsertTrack(ctx, Track{ChannelID: ch.ID, Rep: "x", SegDur: math.MaxUint64}); err == nil {
		t.Fatal("SegDur > MaxInt64 accepted")
	}

	for _, tr := range []Track{
		{Rep: "zz", ContentType: "weird"},
		{Rep: "t1", ContentType: "text"},
		{Rep: "a2", ContentType: "audio"},
		{Rep: "a1", ContentType: "audio"},
		{Rep: "m1", ContentType: "metadata"},
		{Rep: "v0", ContentType: "video"},
	} {
		tr.ChannelID = ch.ID
		if _, err := db.UpsertTrack(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	var reps []string
	for _, tr := range ts {
		reps = append(reps, tr.Rep)
	}
	if want := []string{"v0", "v1", "a1", "a2", "t1", "m1", "zz"}; !reflect.DeepEqual(reps, want) {
		t.Fatalf("Tracks order = %v; want %v", reps, want)
	}
}

func TestAddInit(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, db := f.ctx, f.db
	steps := []struct {
		in        Init
		wantFirst int64
	}{
		{Init{Hash: "bb", FirstK: 100, Key: "k-bb", Size: 800}, 100},
		{Init{Hash: "bb", FirstK: 150}, 100},
		{Init{Hash: "bb", FirstK: 50}, 50},
		{Init{Hash: "cc", FirstK: 70, ConfigHash: "cfg"}, 70},
	}
	ids := map[string]int64{}
	for i, s := range steps {
		s.in.TrackID = f.track.ID
		got, err := db.AddInit(ctx, s.in)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if id, ok := ids[s.in.Hash]; ok && id != got.ID {
			t.Fatalf("step %d: new ID %d for existing hash (was %d)", i, got.ID, id)
		}
		ids[s.in.Hash] = got.ID
		if got.FirstK != s.wantFirst {
			t.Fatalf("step %d: FirstK = %d; want %d", i, got.FirstK, s.wantFirst)
		}
	}
	ins, err := db.Inits(ctx, f.track.ID)
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for _, in := range ins {
		hashes = append(hashes, in.Hash)
	}
	if want := []string{"aa", "bb", "cc"}; !reflect.DeepEqual(hashes, want) {
		t.Fatalf("Inits order = %v; want %v", hashes, want)
	}
	bb, err := db.InitByID(ctx, ids["bb"])
	if err != nil || bb.Key != "k-bb" || bb.Size != 800 || bb.FirstK != 50 {
		t.Fatalf("InitByID = %+v, %v", bb, err)
	}
	if _, err := db.InitByID(ctx, 9999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("InitByID(9999) err = %v", err)
	}
}

func TestRecordExists(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, db := f.ctx, f.db
	s := f.seg(42)
	if err := db.Record(ctx, &s, Delivery{SourceID: f.srcA.ID, Outcome: Stored, EPT: s.EPT, Duration: s.Duration, Identical: true, TimingEqual: true, ReceivedAt: s.ReceivedAt}); err != nil {
		t.Fatal(err)
	}
	got, ok, err := db.Segment(ctx, f.track.ID, 42)
	if err != nil || !ok || got != s {
		t.Fatalf("Segment = %+v, %v, %v\nwant %+v", got, ok, err, s)
	}
	if n := f.countDeliveries(); n != 1 {
		t.Fatalf("deliveries = %d", n)
	}

	s2 := f.seg(42)
	s2.SHA256 = "other"
	err = db.Record(ctx, &s2,
		Delivery{SourceID: f.srcB.ID, Outcome: Stored},
		Delivery{SourceID: f.srcA.ID, Outcome: Duplicate})
	if !errors.Is(err, ErrExists) {
		t.Fatalf("second Record err = %v; want ErrExists", err)
	}
	if n := f.countDeliveries(); n != 1 {
		t.Fatalf("deliveries after failed Record = %d; want 1", n)
	}
	if got, _, _ := db.Segment(ctx, f.track.ID, 42); got.SHA256 != s.SHA256 {
		t.Fatal("segment overwritten")
	}

	// Delivery only (segment already stored).
	d := Delivery{TrackID: f.track.ID, K: 42, SourceID: f.srcB.ID, Outcome: Duplicate, EPT: s.EPT, Duration: s.Duration, Identical: true, TimingEqual: true, Detail: "same"}
	if err := db.Record(ctx, nil, d); err != nil {
		t.Fatal(err)
	}
	ds, err := db.Deliveries(ctx, f.track.ID, 42)
	if err != nil || len(ds) != 2 || ds[1] != d || ds[0].Outcome != Stored || ds[0].TrackID != f.track.ID || ds[0].K != 42 {
		t.Fatalf("Deliveries = %+v, %v", ds, err)
	}

	// Invalid input writes nothing.
	bad := []struct {
		name string
		seg  *Segment
		ds   []Delivery
	}{
		{"ept overflow", &Segment{TrackID: f.track.ID, K: 1, EPT: math.MaxUint64}, nil},
		{"unknown outcome", nil, []Delivery{{TrackID: f.track.ID, K: 1, SourceID: f.srcA.ID, Outcome: "bogus"}}},
		{"no source", nil, []Delivery{{TrackID: f.track.ID, K: 1, Outcome: Missing}}},
		{"missing track", &Segment{TrackID: 9999, K: 1}, nil},
		{"bad second delivery", ptr(f.seg(7)), []Delivery{{SourceID: f.srcA.ID, Outcome: Stored}, {SourceID: 9999, Outcome: Duplicate}}},
	}
	for _, b := range bad {
		if err := db.Record(ctx, b.seg, b.ds...); err == nil {
			t.Errorf("%s: Record succeeded", b.name)
		}
	}
	if n := f.countDeliveries(); n != 2 {
		t.Fatalf("deliveries after bad Records = %d; want 2", n)
	}
	if _, ok, _ := db.Segment(ctx, f.track.ID, 7); ok {
		t.Fatal("segment 7 written by a failed Record")
	}

	if err := db.DeleteSegment(ctx, f.track.ID, 42); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.Segment(ctx, f.track.ID, 42); ok {
		t.Fatal("segment 42 still there")
	}
	if err := db.DeleteSegment(ctx, f.track.ID, 42); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second DeleteSegment err = %v", err)
	}
	if err := db.Record(ctx, &s); err != nil {
		t.Fatalf("Record after delete: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestInsertSegmentsAndRanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, db := f.ctx, f.db
	// Unsorted input, more than one multi-row statement and a tail.
	var segs []Segment
	for k := int64(1000); k >= 0; k-- {
		segs = append(segs, f.seg(k))
	}
	if err := db.InsertSegments(ctx, segs, false); err != nil {
		t.Fatal(err)
	}
	if segs[0].K != 1000 {
		t.Fatal("InsertSegments modified its input")
	}
	got, err := db.Segments(ctx, f.track.ID, 10, 19)
	if err != nil || len(got) != 10 || got[0] != f.seg(10) || got[9] != f.seg(19) {
		t.Fatalf("Segments(10,19) = %d rows, %v", len(got), err)
	}
	all, err := db.Segments(ctx, f.track.ID, math.MinInt64, math.MaxInt64)
	if err != nil || len(all) != 1001 {
		t.Fatalf("Segments(all) = %d rows, %v", len(all), err)
	}
	for i, g := range all {
		if g.K != int64(i) {
			t.Fatalf("Segments(all)[%d].K = %d", i, g.K)
		}
	}

	changed := f.seg(5)
	changed.SHA256, changed.SourceID, changed.InitID = "new", 0, 0
	newRow := f.seg(2000)
	if err := db.InsertSegments(ctx, []Segment{changed, newRow}, false); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := db.Segment(ctx, f.track.ID, 5); g != f.seg(5) {
		t.Fatalf("replace=false overwrote: %+v", g)
	}
	if _, ok, _ := db.Segment(ctx, f.track.ID, 2000); !ok {
		t.Fatal("new row not inserted")
	}
	if err := db.InsertSegments(ctx, []Segment{changed}, true); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := db.Segment(ctx, f.track.ID, 5); g != changed {
		t.Fatalf("replace=true: %+v; want %+v", g, changed)
	}

	stop := errors.New("stop")
	var n int
	err = db.ForEachSegment(ctx, f.track.ID, 0, 100, func(Segment) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("ForEachSegment stop: n=%d err=%v", n, err)
	}
	if err := db.InsertSegments(ctx, []Segment{{TrackID: f.track.ID, K: 1, EPT: math.MaxUint64}}, true); err == nil {
		t.Fatal("EPT > MaxInt64 accepted")
	}
}

func TestGaps(t *testing.T) {
	t.Parallel()
	all := func(ks ...int64) []int64 { return ks }
	tests := []struct {
		name     string
		present  []int64
		from, to int64
		want     []Range
	}{
		{"none", all(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0, 10, nil},
		{"single", all(0, 1, 2, 4, 5, 6, 7, 8, 9, 10), 0, 10, []Range{{3, 3}}},
		{"run", all(0, 1, 2, 3, 4, 8, 9, 10), 0, 10, []Range{{5, 7}}},
		{"both", all(0, 1, 2, 4, 8, 9, 10), 0, 10, []Range{{3, 3}, {5, 7}}},
		{"all range", all(0, 1, 2, 4, 8, 9, 10), math.MinInt64, math.MaxInt64, []Range{{3, 3}, {5, 7}}},
		{"leading and trailing outside first..last", all(3, 4, 6, 7), 0, 10, []Range{{5, 5}}},
		{"range starts in a hole", all(0, 1, 2, 3, 4, 8, 9, 10), 6, 10, []Range{{6, 7}}},
		{"range ends in a hole", all(0, 1, 2, 3, 4, 8, 9, 10), 0, 6, []Range{{5, 6}}},
		{"range inside a hole", all(0, 1, 2, 3, 4, 8, 9, 10), 5, 6, []Range{{5, 6}}},
		{"single K in a hole", all(0, 1, 2, 3, 4, 8, 9, 10), 6, 6, []Range{{6, 6}}},
		{"single K present", all(0, 1, 2, 3, 4, 8, 9, 10), 4, 4, nil},
		{"range before first", all(5, 6, 9), 0, 4, nil},
		{"range after last", all(5, 6, 9), 10, 20, nil},
		{"range clipped to first..last", all(5, 6, 9), 0, 20, []Range{{7, 8}}},
		{"one segment", all(5), 0, 10, nil},
		{"empty track", nil, 0, 10, nil},
		{"empty range", all(0, 10), 8, 2, nil},
	}
	f := newFixture(t)
	for i, tc := range tests {
		tr := f.trackWith(t, fmt.Sprintf("gap%d", i), tc.present)
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := f.db.Gaps(f.ctx, tr.ID, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Gaps(%d, %d) = %v; want %v", tc.from, tc.to, got, tc.want)
			}
			st, err := f.db.Stats(f.ctx, tr.ID, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(st.Gaps, tc.want) {
				t.Fatalf("Stats.Gaps = %v; want %v", st.Gaps, tc.want)
			}
		})
	}
}

func TestStats(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, db := f.ctx, f.db
	srcC, err := db.EnsureSource(ctx, f.ch.ID, "encC", "") // delivers nothing
	if err != nil {
		t.Fatal(err)
	}
	_ = srcC
	d := func(k int64, src SourceRow, o Outcome, identical bool) Delivery {
		return Delivery{TrackID: f.track.ID, K: k, SourceID: src.ID, Outcome: o, Identical: identical, TimingEqual: o == Duplicate}
	}
	// K 10..20 except 13 and 17,18; A stores everything, B duplicates (even
	// Ks bit-identical), conflicts at 15 and 19, is missing at 16, rejected at 20.
	for k := int64(10); k <= 20; k++ {
		if k == 13 || k == 17 || k == 18 {
			if err := db.Record(ctx, nil, d(k, f.srcA, Missing, false), d(k, f.srcB, Missing, false)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		s := f.seg(k)
		ds := []Delivery{d(k, f.srcA, Stored, true)}
		switch k {
		case 15, 19:
			ds = append(ds, d(k, f.srcB, Conflict, false))
		case 16:
			ds = append(ds, d(k, f.srcB, Missing, false))
		case 20:
			ds = append(ds, d(k, f.srcB, Rejected, false))
		default:
			ds = append(ds, d(k, f.srcB, Duplicate, k%2 == 0))
		}
		if err := db.Record(ctx, &s, ds...); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name     string
		from, to int64
		want     TrackStats
	}{
		{"all", math.MinInt64, math.MaxInt64, TrackStats{
			First: 10, Last: 20, Segments: 8, Gaps: []Range{{13, 13}, {17, 18}}, Duplicates: 4, Conflicts: 2,
			Sources: []SourceStats{
				{Source: "encA", Stored: 8, Missing: 3},
				{Source: "encB", Duplicates: 4, Identical: 3, Conflicts: 2, Missing: 4, Rejected: 1},
				{Source: "encC"},
			}}},
		{"restricted", 12, 15, TrackStats{
			First: 12, Last: 15, Segments: 3, Gaps: []Range{{13, 13}}, Duplicates: 2, Conflicts: 1,
			Sources: []SourceStats{
				{Source: "encA", Stored: 3, Missing: 1},
				{Source: "encB", Duplicates: 2, Identical: 2, Conflicts: 1, Missing: 1},
				{Source: "encC"},
			}}},
		{"empty", 100, 200, TrackStats{
			First: -1, Last: -1,
			Sources: []SourceStats{{Source: "encA"}, {Source: "encB"}, {Source: "encC"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := db.Stats(ctx, f.track.ID, tc.from, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Track = f.track
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Stats =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
	if _, err := db.Stats(ctx, 9999, 0, 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stats(9999) err = %v", err)
	}
}

func TestConcurrentRecord(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, db := f.ctx, f.db
	const workers, perWorker = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, workers*perWorker*2)
	for w := range workers {
		wg.Go(func() {
			for i := range perWorker {
				k := int64(i*workers + w)
				s := f.seg(k)
				src := f.srcA
				if w%2 == 1 {
					src = f.srcB
				}
				if err := db.Record(ctx, &s, Delivery{SourceID: src.ID, Outcome: Stored}); err != nil {
					errs <- err
				}
				// Every K is also offered by the "other" encoder: must be ErrExists.
				if err := db.Record(ctx, &s, Delivery{SourceID: src.ID, Outcome: Stored}); !errors.Is(err, ErrExists) {
					errs <- fmt.Errorf("duplicate Record of %d: %v", k, err)
				}
				if _, err := db.Stats(ctx, f.track.ID, 0, k); err != nil {
					errs <- err
				}
				if i%10 == 0 { // get-or-create races
					ch, err := db.EnsureChannel(ctx, fmt.Sprintf("race%d", i))
					if err == nil {
						_, err = db.EnsureSource(ctx, ch.ID, "enc", fmt.Sprintf("http://%d/", w%2))
					}
					if err != nil {
						errs <- err
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st, err := db.Stats(ctx, f.track.ID, math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	if st.Segments != workers*perWorker || len(st.Gaps) != 0 || st.Sources[0].Stored+st.Sources[1].Stored != workers*perWorker {
		t.Fatalf("after concurrent Record: %+v", st)
	}
}

// TestGapsRandom checks Gaps against a brute-force scan for random hole
// patterns (holes crossing gap-bucket boundaries, runs longer than a
// bucket, empty buckets) and random ranges.
func TestGapsRandom(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20 {
		tr, err := f.db.UpsertTrack(f.ctx, Track{ChannelID: f.ch.ID, Rep: fmt.Sprintf("rnd%d", trial)})
		if err != nil {
			t.Fatal(err)
		}
		base := rng.Int64N(1000) - 100 // negative Ks too
		n := 50 + rng.Int64N(400)
		present := make([]bool, n)
		var segs []Segment
		density := rng.Float64()
		for i := range present {
			// Runs: keep the previous state with probability 0.8.
			if i > 0 && rng.Float64() < 0.8 {
				present[i] = present[i-1]
			} else {
				present[i] = rng.Float64() < density
			}
			if present[i] {
				segs = append(segs, Segment{TrackID: tr.ID, K: base + int64(i)})
			}
		}
		if err := f.db.InsertSegments(f.ctx, segs, false); err != nil {
			t.Fatal(err)
		}
		brute := func(from, to int64) []Range {
			if len(segs) == 0 {
				return nil
			}
			lo, hi := max(from, segs[0].K), min(to, segs[len(segs)-1].K)
			var out []Range
			for k := lo; k <= hi; k++ {
				if present[k-base] {
					continue
				}
				if m := len(out); m > 0 && out[m-1].To == k-1 {
					out[m-1].To = k
				} else {
					out = append(out, Range{k, k})
				}
			}
			return out
		}
		ranges := [][2]int64{{math.MinInt64, math.MaxInt64}}
		for range 10 {
			a, b := base-20+rng.Int64N(n+40), base-20+rng.Int64N(n+40)
			ranges = append(ranges, [2]int64{min(a, b), max(a, b)})
		}
		for _, r := range ranges {
			got, err := f.db.Gaps(f.ctx, tr.ID, r[0], r[1])
			if err != nil {
				t.Fatal(err)
			}
			if want := brute(r[0], r[1]); !reflect.DeepEqual(got, want) {
				t.Fatalf("trial %d, Gaps(%d, %d) = %v; want %v", trial, r[0], r[1], got, want)
			}
		}
	}
}
