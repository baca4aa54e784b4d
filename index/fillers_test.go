package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

func (f *fixture) filler(k int64, slate string) Filler {
	return Filler{TrackID: f.track.ID, K: k, Slate: slate, EPT: uint64(k) * f.segDur, Duration: f.segDur, Size: 500,
		SHA256: fmt.Sprintf("%064x", k), Key: fmt.Sprintf("ch1/v1/filler/%d-%s.m4s", k, slate), InitKey: "ch1/v1/filler/init-bb.mp4",
		CreatedAt: time.Unix(1800000000, 0).UTC()}
}

// TestFillers: fillers are recorded once per (track, slate, K), listed by
// K range and slate, and leave the track's gaps as they are.
func TestFillers(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.insert(10, 11, 14)
	for _, k := range []int64{12, 13} {
		got, err := f.db.AddFiller(f.ctx, f.filler(k, "slate1"))
		if err != nil || !reflect.DeepEqual(got, f.filler(k, "slate1")) {
			t.Fatalf("AddFiller K=%d: %+v, %v", k, got, err)
		}
	}
	// A rerun keeps the first row.
	again := f.filler(12, "slate1")
	again.Size, again.CreatedAt = 999, time.Unix(1900000000, 0).UTC()
	if got, err := f.db.AddFiller(f.ctx, again); err != nil || got.Size != 500 || !got.CreatedAt.Equal(time.Unix(1800000000, 0)) {
		t.Errorf("AddFiller again: %+v, %v; want the first row kept", got, err)
	}
	if _, err := f.db.AddFiller(f.ctx, f.filler(12, "slate2")); err != nil {
		t.Fatal(err)
	}
	got, err := f.db.Fillers(f.ctx, f.track.ID, "slate1", 0, 100)
	if err != nil || len(got) != 2 || got[0].K != 12 || got[1].K != 13 {
		t.Fatalf("Fillers slate1: %+v, %v", got, err)
	}
	if got, _ := f.db.Fillers(f.ctx, f.track.ID, "slate2", 13, 100); len(got) != 0 {
		t.Errorf("Fillers slate2 from 13: %+v", got)
	}
	st, err := f.db.Stats(f.ctx, f.track.ID, -1<<62, 1<<62)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Gaps) != 1 || st.Gaps[0] != (Range{12, 13}) || st.Segments != 3 {
		t.Errorf("stats with fillers: gaps %v, %d segments; want the gap 12..13 kept", st.Gaps, st.Segments)
	}
}

// TestMigrateV1: an index written by a program with schema version 1 opens,
// keeps its rows and gains the fillers table.
func TestMigrateV1(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0],
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`,
		`INSERT INTO schema_version (version) VALUES (1)`,
		`INSERT INTO channels (name) VALUES ('old')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a version 1 index: %v", err)
	}
	defer db.Close()
	if _, err := db.Channel(ctx, "old"); err != nil {
		t.Errorf("channel of the version 1 index: %v", err)
	}
	var v int
	if err := db.reader.QueryRow(`SELECT version FROM schema_version`).Scan(&v); err != nil || v != SchemaVersion || v < 2 {
		t.Errorf("schema version %d, %v; want %d", v, err, SchemaVersion)
	}
	if got, err := db.Fillers(ctx, 1, "x", 0, 10); err != nil || len(got) != 0 {
		t.Errorf("Fillers on a migrated index: %v, %v", got, err)
	}
}

// TestMigrateV3EncoderFillers: an index of schema version 3 opens with its
// segment and delivery rows kept, none of them a filler or a track's end,
// and a filler row can then be switched to a real copy.
func TestMigrateV3EncoderFillers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v3.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		migrations[0], migrations[1], migrations[2],
		`CREATE TABLE schema_version (version INTEGER NOT NULL)`,
		`INSERT INTO schema_version (version) VALUES (3)`,
		`INSERT INTO channels (id, name) VALUES (1, 'old')`,
		`INSERT INTO sources (id, channel_id, name) VALUES (1, 1, 'a')`,
		`INSERT INTO tracks (id, channel_id, rep) VALUES (1, 1, 'v')`,
		`INSERT INTO segments (track_id, k, ept, duration, size, sha256, key, source_id, received_at) VALUES (1, 5, 10, 2, 3, 'ab', 'old/v/5.m4s', 1, 0)`,
		`INSERT INTO deliveries (track_id, k, source_id, outcome, ept, duration, size, sha256, identical, timing_equal, received_at, detail)
			VALUES (1, 5, 1, 'stored', 10, 2, 3, 'ab', 1, 1, 0, '')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("open a version 3 index: %v", err)
	}
	defer db.Close()
	g, ok, err := db.Segment(ctx, 1, 5)
	if err != nil || !ok || g.Key != "old/v/5.m4s" || g.Filler || g.Last {
		t.Errorf("segment of the version 3 index: %+v, %v, %v", g, ok, err)
	}
	ds, err := db.Deliveries(ctx, 1, 5)
	if err != nil || len(ds) != 1 || ds[0].Filler {
		t.Errorf("deliveries of the version 3 index: %+v, %v", ds, err)
	}
	real := Segment{TrackID: 1, K: 5, EPT: 10, Duration: 2, Size: 4, SHA256: "cd", Key: "old/v/real/5.m4s", SourceID: 1}
	if err := db.ReplaceFiller(ctx, real, nil, nil); !errors.Is(err, ErrExists) {
		t.Errorf("ReplaceFiller of a real segment: %v; want ErrExists", err)
	}
	if err := db.Record(ctx, &Segment{TrackID: 1, K: 6, EPT: 12, Duration: 2, Size: 3, SHA256: "ef", Key: "old/v/6.m4s", Filler: true}); err != nil {
		t.Fatal(err)
	}
	if rs, err := db.FillerRanges(ctx, 1, 0, 10); err != nil || len(rs) != 1 || rs[0] != (Range{From: 6, To: 6}) {
		t.Errorf("FillerRanges %v, %v; want [6,6]", rs, err)
	}
	real.K, real.Key = 6, "old/v/real/6.m4s"
	if err := db.ReplaceFiller(ctx, real, nil, &Delivery{SourceID: 1, TrackID: 1, K: 6, Outcome: Stored}); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := db.Segment(ctx, 1, 6); g.Key != real.Key || g.Filler {
		t.Errorf("after ReplaceFiller: %+v", g)
	}
	if rs, err := db.FillerRanges(ctx, 1, 0, 10); err != nil || len(rs) != 0 {
		t.Errorf("FillerRanges after the switch: %v, %v", rs, err)
	}
}
