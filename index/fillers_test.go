package index

import (
	"context"
	"database/sql"
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
