package index

import (
	"context"
	"testing"
	"time"
)

// TestSnapshot: every kind of read of a Snapshot (a prepared reader
// statement, one compiled per call, one in a read transaction of its own
// without a snapshot, the recorder's prepared lookup) sees the index as
// its first read found it while the writer commits; the DB sees the
// commits; a Snapshot of a Snapshot is refused; Close ends the snapshot
// and leaves the DB open.
func TestSnapshot(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.insert(10, 11)
	snap, err := f.db.Snapshot(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	reads := []struct {
		name string
		read func(db *DB) (int64, error)
	}{
		{"ForEachSegment (prepared)", func(db *DB) (int64, error) {
			var n int64
			err := db.ForEachSegment(f.ctx, f.track.ID, 0, 100, func(Segment) error { n++; return nil })
			return n, err
		}},
		{"StoredSpan (compiled)", func(db *DB) (int64, error) {
			sp, ok, err := db.StoredSpan(f.ctx, f.track.ID, 0, 100)
			if !ok {
				return 0, err
			}
			return sp.To - sp.From + 1, err
		}},
		{"SegmentChanges (own transaction)", func(db *DB) (int64, error) {
			c, err := db.SegmentChanges(f.ctx, -1, 100)
			return c.Head, err
		}},
		{"Stats (own transaction)", func(db *DB) (int64, error) {
			st, err := db.Stats(f.ctx, f.track.ID, 0, 100)
			return st.Segments, err
		}},
		{"Segment (recorder's lookup)", func(db *DB) (int64, error) {
			_, ok, err := db.Segment(f.ctx, f.track.ID, 12)
			return b2i(ok), err
		}},
	}
	before := make([]int64, len(reads))
	for i, r := range reads {
		if before[i], err = r.read(snap); err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
	}
	f.insert(12)
	for i, r := range reads {
		got, err := r.read(snap)
		if err != nil || got != before[i] {
			t.Errorf("%s of the snapshot after a commit: %d, %v; want %d, as before it", r.name, got, err, before[i])
		}
		if now, err := r.read(f.db); err != nil || now == before[i] {
			t.Errorf("%s of the DB after a commit: %d, %v; want a change from %d", r.name, now, err, before[i])
		}
	}
	if _, err := snap.Snapshot(f.ctx); err == nil {
		t.Error("a snapshot of a snapshot was made")
	}
	if err := snap.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.Tracks(f.ctx, f.ch.ID); err != nil {
		t.Errorf("the DB after its snapshot was closed: %v", err)
	}
}

// TestSnapshotWrites: a write through a Snapshot commits and returns
// what it wrote, though the snapshot's reads do not see it (AddFiller
// reads its row back in its own transaction).
func TestSnapshotWrites(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	snap, err := f.db.Snapshot(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	if _, err := snap.Tracks(f.ctx, f.ch.ID); err != nil { // the snapshot begins
		t.Fatal(err)
	}
	want := f.filler(20, "slate1")
	got, err := snap.AddFiller(f.ctx, want)
	if err != nil || got.Key != want.Key || got.K != want.K {
		t.Fatalf("AddFiller through a snapshot: %+v, %v; want %+v", got, err, want)
	}
	if fs, err := snap.Fillers(f.ctx, f.track.ID, "slate1", 0, 100); err != nil || len(fs) != 0 {
		t.Errorf("the snapshot's fillers: %v, %v; want none (written after it began)", fs, err)
	}
	if fs, err := f.db.Fillers(f.ctx, f.track.ID, "slate1", 0, 100); err != nil || len(fs) != 1 {
		t.Errorf("the DB's fillers: %v, %v; want the one added", fs, err)
	}
}

// TestSnapshotEndsWithContext: a Snapshot begun with a context that ends
// can no longer be read (database/sql ends its transaction then, in a
// goroutine of its own: soon after).
func TestSnapshotEndsWithContext(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx, cancel := context.WithCancel(f.ctx)
	snap, err := f.db.Snapshot(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close()
	cancel()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := snap.Tracks(context.Background(), f.ch.ID); err != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("a snapshot whose context ended was still read 5 s later")
		}
	}
}
