package index

import (
	"reflect"
	"testing"
)

// TestSegmentChanges checks the change log of segment rows: an insert, a
// replace (update), a Record and a delete are each logged once with their
// track and K, in order, and a kept duplicate not at all; a bulk insert
// (bulkLogRows rows or more) is logged as one K range per track, and its
// rows add no changes of their own, with the row triggers back after it
// (the next Record is logged); a reader at the
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
	bulk := make([]int64, bulkLogRows)
	for i := range bulk {
		bulk[i] = 100 + int64(i)
	}
	f.insert(bulk...)
	g = f.seg(50)
	if err := f.db.Record(f.ctx, &g); err != nil {
		t.Fatal(err)
	}
	c, err := f.db.SegmentChanges(f.ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got [][2]int64
	for _, ch := range c.List {
		if ch.TrackID != f.track.ID {
			t.Errorf("change %+v: track %d, want %d", ch, ch.TrackID, f.track.ID)
		}
		got = append(got, [2]int64{ch.K, ch.ToK})
	}
	want := [][2]int64{{10, 10}, {11, 11}, {12, 12}, {11, 11}, {13, 13}, {10, 10}, {100, 99 + bulkLogRows}, {50, 50}}
	if !c.Complete || c.Head != 8 || !reflect.DeepEqual(got, want) {
		t.Errorf("changes %v head %d complete %v; want %v head 8 complete", got, c.Head, c.Complete, want)
	}
	for _, tc := range []struct {
		seq, limit int
		complete   bool
		n          int
	}{
		{8, 100, true, 0},
		{6, 100, true, 2},
		{6, 1, false, 0},
		{9, 100, false, 0},
		{-1, 100, false, 0},
	} {
		c, err := f.db.SegmentChanges(f.ctx, int64(tc.seq), tc.limit)
		if err != nil || c.Complete != tc.complete || len(c.List) != tc.n || c.Head != 8 {
			t.Errorf("from %d limit %d: %d changes head %d complete %v, %v; want %d, head 8, complete %v", tc.seq, tc.limit, len(c.List), c.Head, c.Complete, err, tc.n, tc.complete)
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
	bulk, err := f.db.SegmentChanges(f.ctx, -1, 0) // a K range per insert batch
	if err != nil {
		t.Fatal(err)
	}
	// One statement that changes every row: the row triggers log n changes.
	if _, err := f.db.writer.Exec(`UPDATE segments SET size = size + 1 WHERE track_id = ?`, f.track.ID); err != nil {
		t.Fatal(err)
	}
	head := bulk.Head + n
	var rows, floor int64
	if err := f.db.reader.QueryRow(`SELECT count(*), (SELECT floor FROM segment_changes_floor) FROM segment_changes`).Scan(&rows, &floor); err != nil {
		t.Fatal(err)
	}
	if rows < changeLogKeep || rows > changeLogKeep+changeLogTrim || floor != head-rows {
		t.Errorf("%d changes logged, %d kept with floor %d; want %d to %d kept, floor at the oldest", head, rows, floor, changeLogKeep, changeLogKeep+changeLogTrim)
	}
	if c, err := f.db.SegmentChanges(f.ctx, floor-1, int(head)); err != nil || c.Complete || c.Head != head {
		t.Errorf("from before the floor: complete %v head %d, %v; want not complete, head %d", c.Complete, c.Head, err, head)
	}
	c, err := f.db.SegmentChanges(f.ctx, head-5, 100)
	if err != nil || !c.Complete || len(c.List) != 5 || c.List[0].K != n-5 || c.List[4].ToK != n-1 {
		t.Errorf("from 5 before the head: %+v, %v; want the last 5 updates", c, err)
	}
}

// TestSegmentChangeSpan checks SegmentChangeSpan: per track asked for,
// the lowest and the highest K at or below upTo that a change after seq
// names (a bulk insert's K range cut at upTo; a change above upTo, or of
// another track, not at all); none at the head; not complete from before the floor,
// beyond the head or with seq < 0, with the head.
func TestSegmentChangeSpan(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.insert(10, 11, 12) // seqs 1-3
	other := f.trackWith(t, "v2", []int64{5})
	if err := f.db.DeleteSegment(f.ctx, f.track.ID, 10); err != nil { // seq 5
		t.Fatal(err)
	}
	bulk := make([]int64, bulkLogRows)
	for i := range bulk {
		bulk[i] = 100 + int64(i)
	}
	f.insert(bulk...) // seq 6: K 100 to 99+bulkLogRows
	for _, tc := range []struct {
		name     string
		seq      int64
		ids      []int64
		upTo     int64
		complete bool
		low      map[int64]int64
		high     map[int64]int64
	}{
		{"all", 0, []int64{f.track.ID, other.ID}, 1000, true, map[int64]int64{f.track.ID: 10, other.ID: 5}, map[int64]int64{f.track.ID: 99 + bulkLogRows, other.ID: 5}},
		{"bulk range cut at upTo", 4, []int64{f.track.ID}, 150, true, map[int64]int64{f.track.ID: 10}, map[int64]int64{f.track.ID: 150}},
		{"changes above upTo left out", 3, []int64{f.track.ID}, 50, true, map[int64]int64{f.track.ID: 10}, map[int64]int64{f.track.ID: 10}},
		{"other track left out", 0, []int64{other.ID}, 50, true, map[int64]int64{other.ID: 5}, map[int64]int64{other.ID: 5}},
		{"none after seq", 5, []int64{f.track.ID}, 50, true, map[int64]int64{}, map[int64]int64{}},
		{"at the head", 6, []int64{f.track.ID}, 1000, true, map[int64]int64{}, map[int64]int64{}},
		{"beyond the head", 7, []int64{f.track.ID}, 1000, false, nil, nil},
		{"head only", -1, []int64{f.track.ID}, 1000, false, nil, nil},
	} {
		c, err := f.db.SegmentChangeSpan(f.ctx, tc.seq, tc.ids, tc.upTo)
		if err != nil || c.Head != 6 || c.Complete != tc.complete || !reflect.DeepEqual(c.Low, tc.low) || !reflect.DeepEqual(c.High, tc.high) {
			t.Errorf("%s: %+v, %v; want head 6, complete %v, low %v, high %v", tc.name, c, err, tc.complete, tc.low, tc.high)
		}
	}
}
