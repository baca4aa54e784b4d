package index

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestSpliceApplyUndo: a splice replaces rows (history kept, a new init row
// added), an undo restores them exactly and deletes the init row; a second
// undo fails with ErrSpliceUndone.
func TestSpliceApplyUndo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.insert(10, 11, 12, 13, 14)
	before, err := f.db.Segments(f.ctx, f.track.ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	inits, _ := f.db.Inits(f.ctx, f.track.ID)

	created := time.Unix(1800000000, 5).UTC()
	sp := Splice{ID: "00ff00ff00ff00ff", ChannelID: f.ch.ID, FromK: 11, ToK: 13, Source: "http://x/m.mpd", SourceName: "splice.x",
		RecordKey: "ch1/splice-00ff00ff00ff00ff.json", CreatedAt: created}
	si := []SpliceInit{
		{TrackID: f.track.ID, Hash: "aa", Key: "ch1/v1/init-aa.cmfv"},
		{TrackID: f.track.ID, Hash: "bb", ConfigHash: "cc", Key: "ch1/v1/init-bb.cmfv", Size: 701, ObjectCreated: true},
	}
	var segs []SpliceSegment
	for k := int64(11); k <= 13; k++ {
		h := "aa"
		if k == 13 {
			h = "bb"
		}
		segs = append(segs, SpliceSegment{TrackID: f.track.ID, K: k, EPT: uint64(k) * f.segDur, Duration: f.segDur, Size: 2000 + k,
			SHA256: fmt.Sprintf("%064x", 1000+k), Key: fmt.Sprintf("ch1/v1/splice-%s/%d.cmfv", sp.ID, k), InitHash: h, Replaces: f.seg(k).SHA256})
	}
	if err := f.db.ApplySplice(f.ctx, sp, si, segs); err != nil {
		t.Fatal(err)
	}
	if si[0].RowCreated || !si[1].RowCreated {
		t.Errorf("RowCreated %v %v, want false true", si[0].RowCreated, si[1].RowCreated)
	}
	after, _ := f.db.Segments(f.ctx, f.track.ID, 0, 100)
	for i, g := range after {
		if g.K < 11 || g.K > 13 {
			if !reflect.DeepEqual(g, before[i]) {
				t.Errorf("K %d outside the splice changed: %+v", g.K, g)
			}
			continue
		}
		if g.Key != segs[g.K-11].Key || g.SHA256 != segs[g.K-11].SHA256 || g.Size != 2000+g.K || g.SourceID != 0 || !g.ReceivedAt.Equal(created) {
			t.Errorf("K %d not replaced: %+v", g.K, g)
		}
	}
	nb, _ := f.db.Inits(f.ctx, f.track.ID)
	if len(nb) != 2 || nb[1].Hash != "bb" || nb[1].FirstK != 13 || after[3].InitID != nb[1].ID || after[1].InitID != f.init.ID {
		t.Errorf("inits after the splice: %+v; rows %+v", nb, after)
	}
	hist, err := f.db.SpliceHistory(f.ctx, sp.ID)
	if err != nil || len(hist) != 3 {
		t.Fatalf("history: %v %+v", err, hist)
	}
	for i, h := range hist {
		if !reflect.DeepEqual(h.Segment, before[i+1]) || h.NewKey != segs[i].Key {
			t.Errorf("history %d: %+v, want %+v", i, h, before[i+1])
		}
	}
	got, err := f.db.Splices(f.ctx, f.ch.ID)
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], sp) || !got[0].Active() {
		t.Errorf("Splices: %v %+v, want %+v", err, got, sp)
	}

	// A second splice with the same id, or over rows that changed, fails
	// and writes nothing.
	if err := f.db.ApplySplice(f.ctx, sp, si[:1], segs[:1]); err == nil {
		t.Errorf("the same id twice: no error")
	}
	sp2 := sp
	sp2.ID = "1111111111111111"
	if err := f.db.ApplySplice(f.ctx, sp2, si[:1], segs[:1]); !errors.Is(err, ErrSpliceConflict) {
		t.Errorf("over changed rows: %v, want ErrSpliceConflict", err)
	}
	if _, err := f.db.SpliceByID(f.ctx, sp2.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("a failed splice was recorded: %v", err)
	}

	res, err := f.db.UndoSplice(f.ctx, sp.ID, created.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if res.Restored != 3 || len(res.InitsDeleted) != 1 || res.InitsDeleted[0].Hash != "bb" || !res.InitsDeleted[0].ObjectCreated || len(res.InitsKept) != 0 {
		t.Errorf("undo: %+v", res)
	}
	if res.Splice.Active() || !res.Splice.UndoneAt.Equal(created.Add(time.Hour)) {
		t.Errorf("undone splice: %+v", res.Splice)
	}
	restored, _ := f.db.Segments(f.ctx, f.track.ID, 0, 100)
	if !reflect.DeepEqual(restored, before) {
		t.Errorf("rows after undo:\n%+v\nwant\n%+v", restored, before)
	}
	if ni, _ := f.db.Inits(f.ctx, f.track.ID); !reflect.DeepEqual(ni, inits) {
		t.Errorf("inits after undo %+v, want %+v", ni, inits)
	}
	if h, _ := f.db.SpliceHistory(f.ctx, sp.ID); len(h) != 3 {
		t.Errorf("history after undo: %d rows, want 3 (kept)", len(h))
	}
	if _, err := f.db.UndoSplice(f.ctx, sp.ID, time.Now()); !errors.Is(err, ErrSpliceUndone) {
		t.Errorf("second undo: %v, want ErrSpliceUndone", err)
	}
	if _, err := f.db.UndoSplice(f.ctx, "2222222222222222", time.Now()); !errors.Is(err, ErrNotFound) {
		t.Errorf("undo of an unknown splice: %v, want ErrNotFound", err)
	}
}

// TestSpliceNested: a newer splice over part of an older one must be undone
// first; then both undo back to the original rows.
func TestSpliceNested(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.insert(1, 2, 3, 4, 5, 6)
	before, _ := f.db.Segments(f.ctx, f.track.ID, 0, 100)
	splice := func(id string, from, to int64, at time.Time) {
		t.Helper()
		var segs []SpliceSegment
		for k := from; k <= to; k++ {
			cur, _, _ := f.db.Segment(f.ctx, f.track.ID, k)
			segs = append(segs, SpliceSegment{TrackID: f.track.ID, K: k, EPT: cur.EPT, Duration: cur.Duration, Size: 1,
				SHA256: id + fmt.Sprint(k), Key: fmt.Sprintf("ch1/v1/splice-%s/%d.cmfv", id, k), InitHash: "aa", Replaces: cur.SHA256})
		}
		sp := Splice{ID: id, ChannelID: f.ch.ID, FromK: from, ToK: to, Source: "s", SourceName: "splice.s", RecordKey: "r", CreatedAt: at}
		if err := f.db.ApplySplice(f.ctx, sp, []SpliceInit{{TrackID: f.track.ID, Hash: "aa", Key: f.init.Key}}, segs); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Unix(1800000000, 0)
	splice("aaaaaaaaaaaaaaaa", 2, 4, t0)
	splice("bbbbbbbbbbbbbbbb", 4, 5, t0.Add(time.Minute))
	if _, err := f.db.UndoSplice(f.ctx, "aaaaaaaaaaaaaaaa", time.Now()); !errors.Is(err, ErrSpliceConflict) {
		t.Fatalf("undo of the older splice first: %v, want ErrSpliceConflict", err)
	}
	if _, err := f.db.UndoSplice(f.ctx, "bbbbbbbbbbbbbbbb", time.Now()); err != nil {
		t.Fatal(err)
	}
	if g, _, _ := f.db.Segment(f.ctx, f.track.ID, 4); g.Key != "ch1/v1/splice-aaaaaaaaaaaaaaaa/4.cmfv" {
		t.Errorf("K 4 after undoing the newer splice: %s, want the older splice's", g.Key)
	}
	if _, err := f.db.UndoSplice(f.ctx, "aaaaaaaaaaaaaaaa", time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.db.Segments(f.ctx, f.track.ID, 0, 100); !reflect.DeepEqual(got, before) {
		t.Errorf("rows after both undos differ from before")
	}
}

// TestSpliceOverFiller: a splice's replacement of a K stored as an encoder
// filler (or as the track's last segment) is neither; the history keeps the
// flags and an undo restores them.
func TestSpliceOverFiller(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	filler, last := f.seg(11), f.seg(12)
	filler.Filler, last.Last = true, true
	if err := f.db.InsertSegments(f.ctx, []Segment{f.seg(10), filler, last}, false); err != nil {
		t.Fatal(err)
	}
	sp := Splice{ID: "00ff00ff00ff00fe", ChannelID: f.ch.ID, FromK: 11, ToK: 12, Source: "http://x/m.mpd", SourceName: "splice.x",
		RecordKey: "ch1/splice-00ff00ff00ff00fe.json", CreatedAt: time.Unix(1800000000, 0).UTC()}
	var segs []SpliceSegment
	for _, old := range []Segment{filler, last} {
		segs = append(segs, SpliceSegment{TrackID: f.track.ID, K: old.K, EPT: old.EPT, Duration: old.Duration, Size: 9,
			SHA256: fmt.Sprintf("%064x", old.K), Key: fmt.Sprintf("ch1/v1/splice-%s/%d.cmfv", sp.ID, old.K), InitHash: "aa", Replaces: old.SHA256})
	}
	if err := f.db.ApplySplice(f.ctx, sp, []SpliceInit{{TrackID: f.track.ID, Hash: "aa", Key: "ch1/v1/init-aa.cmfv"}}, segs); err != nil {
		t.Fatal(err)
	}
	if rs, err := f.db.FillerRanges(f.ctx, f.track.ID, 0, 100); err != nil || len(rs) != 0 {
		t.Errorf("fillers after the splice: %v, %v; want none", rs, err)
	}
	if st, err := f.db.Stats(f.ctx, f.track.ID, 0, 100); err != nil || st.Fillers != 0 || st.Ended != nil {
		t.Errorf("stats after the splice: fillers %d, ended %v, %v", st.Fillers, st.Ended, err)
	}
	if _, err := f.db.UndoSplice(f.ctx, sp.ID, time.Unix(1800000001, 0).UTC()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []Segment{filler, last} {
		if g, _, err := f.db.Segment(f.ctx, f.track.ID, want.K); err != nil || g.Filler != want.Filler || g.Last != want.Last || g.Key != want.Key {
			t.Errorf("K %d after the undo: %+v, %v; want %+v", want.K, g, err, want)
		}
	}
}
