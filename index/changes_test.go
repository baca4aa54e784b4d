package index

import (
	"reflect"
	"testing"
)

// TestSegmentChanges checks the change log of segment rows: an insert, a
// replace (update), a kept duplicate (no change), a Record and a delete
// are each logged once with their track and K, in order; a reader at the
// head sees none; a reader asking from before the floor (trimmed), beyond
// the head (another index) or with more changes than its limit is told to
// read its rows again; seq < 0 gives the head only.
func TestSegmentChanges(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	start, err := f.db.SegmentChanges(f.ctx, -1, 100)
	if err != nil || start.Complete || start.Head != 0 {
		t.Fatalf("empty index: %+v, %v; want head 0, not complete", start, err)
	}
	f.insert(10, 11, 12)
	rep := f.seg(11)
	rep.Size++
	if err := f.db.InsertSegments(f.ctx, []Segment{rep}, true); err != nil {
		t.Fatal(err)
	}
	f.insert(12) // kept: no change
	g := f.seg(13)
	if err := f.db.Record(f.ctx, &g); err != nil {
		t.Fatal(err)
	}
	if err := f.db.DeleteSegment(f.ctx, f.track.ID, 10); err != nil {
		t.Fatal(err)
	}
	c, err := f.db.SegmentChanges(f.ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var ks []int64
	for _, ch := range c.List {
		if ch.TrackID != f.track.ID {
			t.Errorf("change %+v: track %d, want %d", ch, ch.TrackID, f.track.ID)
		}
		ks = append(ks, ch.K)
	}
	if want := []int64{10, 11, 12, 11, 13, 10}; !c.Complete || c.Head != 6 || !reflect.DeepEqual(ks, want) {
		t.Errorf("changes %v head %d complete %v; want %v head 6 complete", ks, c.Head, c.Complete, want)
	}
	for _, tc := range []struct {
		seq, limit int
		complete   bool
		n          int
	}{
		{6, 100, true, 0},
		{4, 100, true, 2},
		{4, 1, false, 0},
		{7, 100, false, 0},
		{-1, 100, false, 0},
	} {
		c, err := f.db.SegmentChanges(f.ctx, int64(tc.seq), tc.limit)
		if err != nil || c.Complete != tc.complete || len(c.List) != tc.n || c.Head != 6 {
			t.Errorf("from %d limit %d: %d changes head %d complete %v, %v; want %d, head 6, complete %v", tc.seq, tc.limit, len(c.List), c.Head, c.Complete, err, tc.n, tc.complete)
		}
	}
}

// TestSegmentChangesTrimmed checks that the log keeps the newest
// changeLogKeep changes or more, and that a reader from before the
// trimmed ones must read its rows again while one from after them reads
// the changes.
func TestSegmentChangesTrimmed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	n := int64(changeLogKeep + 3*changeLogTrim)
	segs := make([]Segment, n)
	for i := range segs {
		segs[i] = Segment{TrackID: f.track.ID, K: int64(i)}
	}
	if err := f.db.InsertSegments(f.ctx, segs, false); err != nil {
		t.Fatal(err)
	}
	var rows, floor int64
	if err := f.db.reader.QueryRow(`SELECT count(*), (SELECT floor FROM segment_changes_floor) FROM segment_changes`).Scan(&rows, &floor); err != nil {
		t.Fatal(err)
	}
	if rows < changeLogKeep || rows > changeLogKeep+changeLogTrim || floor != n-rows {
		t.Errorf("%d changes logged, %d kept with floor %d; want %d to %d kept, floor at the oldest", n, rows, floor, changeLogKeep, changeLogKeep+changeLogTrim)
	}
	if c, err := f.db.SegmentChanges(f.ctx, floor-1, int(n)); err != nil || c.Complete || c.Head != n {
		t.Errorf("from before the floor: complete %v head %d, %v; want not complete, head %d", c.Complete, c.Head, err, n)
	}
	c, err := f.db.SegmentChanges(f.ctx, n-5, 100)
	if err != nil || !c.Complete || len(c.List) != 5 || c.List[0].K != n-5 {
		t.Errorf("from 5 before the head: %+v, %v; want the last 5 inserts", c, err)
	}
}
