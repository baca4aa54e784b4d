package repair_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/repair"
	"github.com/reaparchive/reaparchive/simulate"
)

// snapshot is everything a splice and its undo may touch: every file of the
// file store (objects and fileblob's .attrs sidecars, with their bytes),
// every directory, and the index's segment and init rows and per-track
// stats of the channel.
type snapshot struct {
	testenv.Tree
	rows  map[string][]index.Segment
	inits map[string][]index.Init
	stats map[string]index.TrackStats
}

func (e *env) snapshot(tb testing.TB) snapshot {
	tb.Helper()
	ctx := context.Background()
	root, ok := e.store.LocalDir()
	if !ok {
		tb.Fatal("not a file store")
	}
	s := snapshot{Tree: testenv.ReadTree(tb, root), rows: map[string][]index.Segment{}, inits: map[string][]index.Init{}, stats: map[string]index.TrackStats{}}
	var err error
	for _, rep := range reps {
		t := e.track(tb, rep)
		if s.rows[rep], err = e.db.Segments(ctx, t.ID, math.MinInt64, math.MaxInt64); err != nil {
			tb.Fatal(err)
		}
		if s.inits[rep], err = e.db.Inits(ctx, t.ID); err != nil {
			tb.Fatal(err)
		}
		if s.stats[rep], err = e.db.Stats(ctx, t.ID, math.MinInt64, math.MaxInt64); err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

// same reports how two snapshots differ ("" if they do not).
func (s snapshot) diff(o snapshot) string {
	d := s.Tree.Diff(o.Tree)
	if !reflect.DeepEqual(s.rows, o.rows) {
		d = append(d, "segment rows differ")
	}
	if !reflect.DeepEqual(s.inits, o.inits) {
		d = append(d, "init rows differ")
	}
	if !reflect.DeepEqual(s.stats, o.stats) {
		d = append(d, "track stats differ")
	}
	slices.Sort(d)
	if len(d) > 10 {
		d = append(d[:10], "…")
	}
	return strings.Join(d, "; ")
}

func kt(k int64) time.Time { return time.Unix(k*2, 0).UTC() }

// withFreeBox is an init segment with a 'free' box appended: other bytes,
// the same codec configuration.
func withFreeBox(init []byte) []byte {
	return append(slices.Clone(init), 0, 0, 0, 16, 'f', 'r', 'e', 'e', 's', 'p', 'l', 'i', 'c', 'e', '!', '!')
}

// exported is a DASH and HLS export.
type exported struct {
	mpdPath, hlsPath string
	mpd              []byte // the MPD
	hls              []byte // the HLS media playlists, one after the other
	periods          int
}

// export exports [from, to) of the channel as DASH and HLS to a directory
// beside the store, which it reaches through a relative BaseURL.
func (e *env) export(tb testing.TB, from, to time.Time, name string) exported {
	tb.Helper()
	storeDir := strings.TrimPrefix(e.storeURL, "file://")
	dir := filepath.Join(filepath.Dir(storeDir), "vod")
	res, err := export.Deps{Store: e.a.Store, DB: e.a.DB, Log: e.a.Log, Now: e.a.Now}.VoD(context.Background(), export.Options{Channel: testChannel, From: from, To: to,
		Out: "file://" + filepath.ToSlash(filepath.Join(dir, name+".mpd")), BaseURL: "../" + filepath.Base(storeDir) + "/",
		Formats: []string{export.FormatDASH, export.FormatHLS}, NoHold: true}) // no hold: the tests compare the store before and after
	if err != nil {
		tb.Fatal(err)
	}
	x := exported{mpdPath: res.MPDPath, hlsPath: res.HLSPath, periods: res.Periods}
	if x.mpd, err = os.ReadFile(res.MPDPath); err != nil {
		tb.Fatal(err)
	}
	for _, r := range reps {
		b, err := os.ReadFile(filepath.Join(dir, name+"-"+r+".m3u8"))
		if err != nil {
			tb.Fatal(err)
		}
		x.hls = append(x.hls, b...)
	}
	return x
}

// TestSpliceAndUndo splices a corrected feed (simulate variant 1:
// interchangeable, other bytes) over part of an archive with a gap: exactly
// the stored K of the range point at the replacements, the originals stay
// at their keys unchanged, the gap stays a gap, the export references the
// replacements and decodes; undo leaves store and index as they were, and
// a second undo is a clear error.
func TestSpliceAndUndo(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := nowK() - 30
	e := newEnv(t)
	rec := testenv.NewSim(t, simulate.Options{})
	e.record(t, rec, base, base+15, []int64{base + 7})
	before := e.snapshot(t)
	fromT, toT := kt(base), kt(base+16)
	exBefore := e.export(t, fromT, toT, "before")
	vBefore, aBefore := testenv.DecodedFrames(t, exBefore.hlsPath)

	src := testenv.NewSim(t, simulate.Options{Variant: 1})
	url := serveSim(t, src)
	f, err := repair.OpenMPD(ctx, repair.NameFor(url), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	// [base+4, base+10) plus one second: K base+4 .. base+10 overlap it.
	rep, err := repair.Splice(ctx, e.a, f, repair.SpliceOptions{Channel: testChannel, From: kt(base + 4), To: kt(base + 10).Add(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	if layout.ValidSpliceID(rep.ID) != nil || rep.FromK != base+4 || rep.ToK != base+10 || !rep.From.Equal(kt(base+4)) || !rep.To.Equal(kt(base+11)) ||
		rep.SourceName != "splice.127.0.0.1-"+strings.Split(strings.TrimPrefix(url, "http://127.0.0.1:"), "/")[0] || len(rep.InitsCreated) != 0 {
		t.Errorf("report: %+v", rep)
	}
	if len(rep.Tracks) != 2 {
		t.Fatalf("tracks %+v", rep.Tracks)
	}
	for _, tr := range rep.Tracks {
		if tr.Replaced != 6 || !reflect.DeepEqual(tr.Gaps, []index.Range{{From: base + 7, To: base + 7}}) || tr.Dir != layout.SpliceDir(testChannel, tr.Rep, rep.ID) {
			t.Errorf("track %+v: want 6 replaced, gap K %d", tr, base+7)
		}
	}
	recBody, err := e.store.Get(ctx, rep.Record)
	if err != nil {
		t.Fatal(err)
	}
	record, err := layout.ParseSpliceRecord(recBody)
	if err != nil {
		t.Fatal(err)
	}
	wantKs := []int64{base + 4, base + 5, base + 6, base + 8, base + 9, base + 10}
	if record.ID != rep.ID || len(record.Tracks) != 2 || !slices.Equal(record.Tracks[0].Ks, wantKs) || record.Source != url || !record.Created.Equal(rep.Created) {
		t.Errorf("record %s", recBody)
	}
	for _, r := range reps {
		tr := e.track(t, r)
		rows, _ := e.db.Segments(ctx, tr.ID, math.MinInt64, math.MaxInt64)
		for _, g := range rows {
			orig := layout.MediaKey(testChannel, r, g.K, "m4s")
			if !slices.Contains(wantKs, g.K) {
				if g.Key != orig {
					t.Errorf("%s K %d outside the splice now %s", r, g.K, g.Key)
				}
				continue
			}
			want := layout.SpliceKey(testChannel, r, rep.ID, g.K, "m4s")
			body, err := e.store.Get(ctx, want)
			if g.Key != want || err != nil || !bytes.Equal(body, testenv.MustSeg(t, src, r, g.K)) || g.SHA256 != sha(body) {
				t.Errorf("%s K %d: row %s (%v), want %s with the source's bytes", r, g.K, g.Key, err, want)
			}
			at, _ := e.store.Attributes(ctx, want)
			if at.Meta[layout.MetaSource] != rep.SourceName || at.Meta[layout.MetaEPT] != strconv.FormatUint(g.EPT, 10) || at.Meta[layout.MetaInit] == "" {
				t.Errorf("%s K %d: attributes %v", r, g.K, at.Meta)
			}
			// The original is still there, unchanged.
			if body, err := e.store.Get(ctx, orig); err != nil || !bytes.Equal(body, testenv.MustSeg(t, rec, r, g.K)) {
				t.Errorf("%s K %d: the original %s is gone or changed (%v)", r, g.K, orig, err)
			}
		}
		if st, _ := e.db.Stats(ctx, tr.ID, math.MinInt64, math.MaxInt64); !reflect.DeepEqual(st, before.stats[r]) {
			t.Errorf("%s: status changed by the splice:\n%+v\n%+v", r, st, before.stats[r])
		}
	}
	if gaps, _ := repair.Find(ctx, e.db, testChannel, time.Time{}, time.Time{}); len(gaps) != 2 || gaps[0].From != base+7 {
		t.Errorf("gaps after the splice: %+v", gaps)
	}
	// Nothing outside the splice's keys was added.
	for k := range e.snapshot(t).Files {
		if _, ok := before.Files[k]; !ok && !strings.Contains(k, "splice-"+rep.ID) {
			t.Errorf("new file %s is not the splice's", k)
		}
	}

	// The export plays the replacements, in Periods (HLS discontinuities)
	// of their own; every K once, the same frames as before.
	ex := e.export(t, fromT, toT, "spliced")
	if ex.periods != 3 {
		t.Errorf("spliced export: %d Periods, want 3 (before, spliced, after)", ex.periods)
	}
	for _, r := range reps {
		for k := base; k <= base+15; k++ {
			if k == base+7 {
				continue
			}
			want := layout.MediaKey(testChannel, r, k, "m4s")
			if slices.Contains(wantKs, k) {
				want = layout.SpliceKey(testChannel, r, rep.ID, k, "m4s")
			}
			if n := bytes.Count(ex.hls, []byte(want+"\n")); n != 1 {
				t.Errorf("HLS references %s %d times, want once", want, n)
			}
		}
		if want := r + "/splice-" + rep.ID + "/"; !bytes.Contains(ex.mpd, []byte(want)) {
			t.Errorf("the MPD does not reference %s", want)
		}
	}
	v, a := testenv.DecodedFrames(t, ex.hlsPath)
	if v != vBefore || a < aBefore-2 || a > aBefore+2 {
		t.Errorf("spliced HLS decodes to %d video, %d audio frames; before the splice %d, %d", v, a, vBefore, aBefore)
	}
	// The DASH of the spliced run alone is one Period of replacements.
	run := e.export(t, kt(base+8), kt(base+11), "run")
	if run.periods != 1 || !bytes.Contains(run.mpd, []byte("splice-"+rep.ID+"/$Number$.m4s")) {
		t.Errorf("export of K %d-%d: %d Periods, want 1 with the splice's media template:\n%s", base+8, base+10, run.periods, run.mpd)
	}
	if v, _ := testenv.DecodedFrames(t, run.mpdPath); v != vBefore/15*3 {
		t.Errorf("the spliced run's MPD decodes to %d video frames, want %d", v, vBefore/15*3)
	}

	// Undo by range: everything as before.
	u, err := repair.UndoSplice(ctx, e.a, repair.UndoOptions{Channel: testChannel, From: kt(base + 5), To: kt(base + 6)})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID != rep.ID || !u.Undone || u.Restored != 12 || u.Deleted != 13 || u.Resumed {
		t.Errorf("undo report %+v", u)
	}
	if d := before.diff(e.snapshot(t)); d != "" {
		t.Errorf("after undo: %s", d)
	}
	if x := e.export(t, fromT, toT, "before"); !bytes.Equal(x.mpd, exBefore.mpd) || !bytes.Equal(x.hls, exBefore.hls) {
		t.Errorf("export after undo differs from the export before the splice")
	}
	sps, _ := e.db.Splices(ctx, e.ch.Info.ID)
	if len(sps) != 1 || sps[0].Active() {
		t.Errorf("splices after undo: %+v (want one, undone)", sps)
	}
	if h, _ := e.db.SpliceHistory(ctx, rep.ID); len(h) != 12 {
		t.Errorf("history after undo: %d rows, want 12", len(h))
	}

	// A second undo: by range, no active splice; by id, already undone.
	_, err = repair.UndoSplice(ctx, e.a, repair.UndoOptions{Channel: testChannel, From: kt(base + 5), To: kt(base + 6)})
	if !errors.Is(err, repair.ErrNoSplice) || !strings.Contains(err.Error(), rep.ID) || !strings.Contains(err.Error(), "undone") {
		t.Errorf("second undo by range: %v", err)
	}
	_, err = repair.UndoSplice(ctx, e.a, repair.UndoOptions{Channel: testChannel, ID: rep.ID})
	if !errors.Is(err, index.ErrSpliceUndone) {
		t.Errorf("second undo by id: %v", err)
	}
	if d := before.diff(e.snapshot(t)); d != "" {
		t.Errorf("after the second undo: %s", d)
	}
}

// TestSpliceNewInit: a source whose init segment has other bytes (same
// codec configuration) adds that init to the store and the index; the
// export switches inits with the Period; undo removes it again.
func TestSpliceNewInit(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := nowK() - 30
	e := newEnv(t)
	rec := testenv.NewSim(t, simulate.Options{})
	e.record(t, rec, base, base+9, nil)
	before := e.snapshot(t)

	src := testenv.NewSim(t, simulate.Options{Variant: 2})
	inits := map[string][]byte{}
	for _, r := range reps {
		inits["/"+r+"/init.mp4"] = withFreeBox(testenv.MustInit(t, src, r))
	}
	url := serveSim(t, replacing(src, func(p string) ([]byte, bool) { b, ok := inits[p]; return b, ok }))
	f, err := repair.OpenMPD(ctx, "repair.fixed", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := repair.Splice(ctx, e.a, f, repair.SpliceOptions{Channel: testChannel, From: kt(base + 3), To: kt(base + 6), SourceName: "blackout"})
	if err != nil {
		t.Fatal(err)
	}
	var wantInits []string
	for _, r := range reps {
		info, err := cmaf.ParseInit(inits["/"+r+"/init.mp4"])
		if err != nil {
			t.Fatal(err)
		}
		wantInits = append(wantInits, layout.InitKey(testChannel, r, info.SHA256))
	}
	slices.Sort(wantInits)
	if !slices.Equal(rep.InitsCreated, wantInits) || rep.SourceName != "blackout" {
		t.Errorf("inits created %v, want %v; source name %q", rep.InitsCreated, wantInits, rep.SourceName)
	}
	for _, k := range wantInits {
		if at, err := e.store.Attributes(ctx, k); err != nil || at.Meta[layout.MetaSource] != "blackout" {
			t.Errorf("init %s: %v %v", k, err, at.Meta)
		}
	}
	vt := e.track(t, simulate.VideoRep)
	ins, _ := e.db.Inits(ctx, vt.ID)
	row, _, _ := e.db.Segment(ctx, vt.ID, base+4)
	if len(ins) != 2 || ins[1].FirstK != base+3 || row.InitID != ins[1].ID {
		t.Errorf("inits after the splice %+v; K %d decodes with %d", ins, base+4, row.InitID)
	}
	ex := e.export(t, kt(base), kt(base+10), "x")
	if ex.periods != 3 {
		t.Errorf("export has %d Periods, want 3 (before, spliced, after)", ex.periods)
	}
	for _, k := range wantInits {
		if !bytes.Contains(ex.mpd, []byte(k)) || !bytes.Contains(ex.hls, []byte(k)) {
			t.Errorf("export does not use the splice's init %s", k)
		}
	}
	if v, _ := testenv.DecodedFrames(t, ex.hlsPath); v != 10*50 {
		t.Errorf("the HLS decodes to %d video frames, want 10 segments × 50", v)
	}

	if _, err := repair.UndoSplice(ctx, e.a, repair.UndoOptions{Channel: testChannel, ID: rep.ID}); err != nil {
		t.Fatal(err)
	}
	if d := before.diff(e.snapshot(t)); d != "" {
		t.Errorf("after undo: %s", d)
	}
}

// TestSpliceRejected: a source that does not fit the track (other segment
// duration, codec configuration, timing; or lacking segments) writes
// nothing, and the report says which K and why.
func TestSpliceRejected(t *testing.T) {
	t.Parallel()
	base := nowK() - 30
	tests := []struct {
		name   string
		opts   simulate.Options
		wrap   func(t *testing.T, sim *simulate.Server) http.Handler
		class  string // "missing" or "rejected"
		reps   []string
		reason string
	}{
		{name: "other segment duration", opts: simulate.Options{SegmentDuration: 4 * time.Second}, class: "rejected", reps: reps, reason: "segments last 4s, the track's 2s"},
		{name: "other codec configuration", wrap: func(t *testing.T, sim *simulate.Server) http.Handler {
			init := testenv.ModifiedVideoInit(t, testenv.MustInit(t, sim, simulate.VideoRep))
			return replacing(sim, func(p string) ([]byte, bool) { return init, p == "/video/init.mp4" })
		}, class: "rejected", reps: []string{simulate.VideoRep}, reason: "codec configuration differs"},
		{name: "one sample short", wrap: func(t *testing.T, sim *simulate.Server) http.Handler {
			init := testenv.MustInit(t, sim, simulate.VideoRep)
			return replacing(sim, func(p string) ([]byte, bool) {
				m := segPath.FindStringSubmatch(p)
				if m == nil || m[1] != simulate.VideoRep {
					return nil, false
				}
				k, _ := strconv.ParseInt(m[2], 10, 64)
				return withoutLastSample(t, init, testenv.MustSeg(t, sim, simulate.VideoRep, k)), true
			})
		}, class: "rejected", reps: []string{simulate.VideoRep}, reason: "duration"},
		{name: "one tick late", opts: simulate.Options{TimingSkew: 1}, class: "rejected", reps: reps, reason: "the stored segment K"},
		{name: "lacks a segment", opts: simulate.Options{Drop: func(rep string, k int64) bool { return rep == simulate.AudioRep && k == base+5 }},
			class: "missing", reps: []string{simulate.AudioRep}, reason: "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			e := newEnv(t)
			e.record(t, testenv.NewSim(t, simulate.Options{}), base, base+9, nil)
			before := e.snapshot(t)
			src := testenv.NewSim(t, tt.opts)
			var h http.Handler = src
			if tt.wrap != nil {
				h = tt.wrap(t, src)
			}
			url := serveSim(t, h)
			f, err := repair.OpenMPD(ctx, repair.NameFor(url), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := repair.Splice(ctx, e.a, f, repair.SpliceOptions{Channel: testChannel, From: kt(base + 3), To: kt(base + 7), Parallel: 3})
			if !errors.Is(err, repair.ErrSpliceRejected) {
				t.Fatalf("splice: %v, want ErrSpliceRejected", err)
			}
			items := rep.Rejected
			if tt.class == "missing" {
				items = rep.Missing
			}
			if len(rep.Missing)+len(rep.Rejected) != len(items) || len(items) == 0 {
				t.Errorf("missing %+v, rejected %+v; want only %s", rep.Missing, rep.Rejected, tt.class)
			}
			for _, it := range items {
				if !slices.Contains(tt.reps, it.Rep) || !strings.Contains(it.Reason, tt.reason) || it.K < base+3 || it.K > base+6 {
					t.Errorf("%s %s K %d: %q, want %v with %q", tt.class, it.Rep, it.K, it.Reason, tt.reps, tt.reason)
				}
			}
			t.Logf("%v; e.g. %+v", err, items[0])
			if d := before.diff(e.snapshot(t)); d != "" {
				t.Errorf("a refused splice changed the archive: %s", d)
			}
			if sps, _ := e.db.Splices(ctx, e.ch.Info.ID); len(sps) != 0 {
				t.Errorf("a refused splice is in the index: %+v", sps)
			}
		})
	}
}

// TestSpliceNested: a newer splice over part of an older one; undo by range
// takes the newest, the older cannot be undone before it; both undone, the
// archive is as before. Splicing from another archive (archive: source).
func TestSpliceNested(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const base = int64(888_000_000) // any K: an archive has no time-shift window
	e, other := newEnv(t), newEnv(t)
	e.record(t, testenv.NewSim(t, simulate.Options{}), base, base+11, nil)
	other.record(t, testenv.NewSim(t, simulate.Options{Variant: 3}), base, base+11, nil)
	before := e.snapshot(t)
	f := repair.NewStore(repair.NameFor(other.storeURL), other.store)
	var ids []string
	now := time.Unix(1_800_000_000, 0)
	e.a.Now = func() time.Time { now = now.Add(time.Second); return now }
	for _, r := range [][2]int64{{base + 2, base + 6}, {base + 5, base + 8}} {
		rep, err := repair.Splice(ctx, e.a, f, repair.SpliceOptions{Channel: testChannel, From: kt(r[0]), To: kt(r[1])})
		if err != nil {
			t.Fatal(err)
		}
		if rep.SourceName != "splice.store" {
			t.Errorf("source name %q", rep.SourceName)
		}
		ids = append(ids, rep.ID)
	}
	row, _, _ := e.db.Segment(ctx, e.track(t, simulate.VideoRep).ID, base+5)
	if row.Key != layout.SpliceKey(testChannel, simulate.VideoRep, ids[1], base+5, "m4s") {
		t.Errorf("K %d is %s, want the newer splice's", base+5, row.Key)
	}
	if _, err := repair.UndoSplice(ctx, e.a, repair.UndoOptions{Channel: testChannel, ID: ids[0]}); !errors.Is(err, index.ErrSpliceConflict) || !strings.Contains(err.Error(), "newer splice") {
		t.Errorf("undo of the older splice first: %v", err)
	}
	// By range: the latest active splice overlapping it, each in turn.
	for i, r := range []int64{base + 5, base + 2} {
		u, err := repair.UndoSplice(ctx, e.a, repair.UndoOptions{Channel: testChannel, From: kt(r), To: kt(r + 1)})
		if err != nil || u.ID != ids[1-i] {
			t.Fatalf("undo of K %d: %v; want splice %s", r, err, ids[1-i])
		}
	}
	if d := before.diff(e.snapshot(t)); d != "" {
		t.Errorf("after both undos: %s", d)
	}
}

// storeState is a store's listing with every object's bytes and attributes.
func storeState(tb testing.TB, e *env) map[string]string {
	tb.Helper()
	ctx := context.Background()
	out := map[string]string{}
	err := e.store.List(ctx, "", func(a cloud.Attrs) error {
		b, err := e.store.Get(ctx, a.Key)
		if err != nil {
			return err
		}
		at, err := e.store.Attributes(ctx, a.Key)
		if err != nil {
			return err
		}
		out[a.Key] = fmt.Sprintf("%d %s %v", a.Size, sha(b), at.Meta)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestSpliceStores: splice and undo on every store kind (a directory,
// MinIO, fake-gcs-server): the replacements are where the layout says,
// and after the undo the listing, bytes and attributes are as before.
func TestSpliceStores(t *testing.T) {
	t.Parallel()
	const base = int64(888_000_000)
	other := newEnv(t)
	other.record(t, testenv.NewSim(t, simulate.Options{Variant: 1}), base, base+5, nil)
	for _, kind := range testenv.Stores() {
		t.Run(kind.Name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			e := newEnvURL(t, kind.URL(t))
			e.record(t, testenv.NewSim(t, simulate.Options{}), base, base+5, nil)
			before := storeState(t, e)
			rows := map[string][]index.Segment{}
			for _, r := range reps {
				rows[r], _ = e.db.Segments(ctx, e.track(t, r).ID, 0, 1<<62)
			}
			rep, err := repair.Splice(ctx, e.a, repair.NewStore("repair.other", other.store), repair.SpliceOptions{Channel: testChannel, From: kt(base + 1), To: kt(base + 4)})
			if err != nil {
				t.Fatal(err)
			}
			after := storeState(t, e)
			if len(after) != len(before)+2*3+1 {
				t.Errorf("%d objects after the splice, want %d + 6 replacements + the record", len(after), len(before))
			}
			for _, r := range reps {
				for k := base + 1; k <= base+3; k++ {
					if _, ok := after[layout.SpliceKey(testChannel, r, rep.ID, k, "m4s")]; !ok {
						t.Errorf("no replacement of %s K %d", r, k)
					}
				}
			}
			if _, err := repair.UndoSplice(ctx, e.a, repair.UndoOptions{Channel: testChannel, ID: rep.ID}); err != nil {
				t.Fatal(err)
			}
			if got := storeState(t, e); !reflect.DeepEqual(got, before) {
				t.Errorf("store after undo differs from before:\n%v\n%v", got, before)
			}
			for _, r := range reps {
				if got, _ := e.db.Segments(ctx, e.track(t, r).ID, 0, 1<<62); !reflect.DeepEqual(got, rows[r]) {
					t.Errorf("%s: segment rows after undo differ", r)
				}
			}
		})
	}
}

// newEnvURL is newEnv on the store at storeURL.
func newEnvURL(tb testing.TB, storeURL string) *env {
	tb.Helper()
	return fromArchivetest(archivetest.Open(tb, storeURL, filepath.Join(tb.TempDir(), "index.db"), testChannel, segD))
}

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestSpliceVerifyReindex: storage is the truth for splices too. verify
// finds a spliced archive clean; reindex of the store into a fresh index
// records the active splice (rows at the replacements, the originals in
// history), verify agrees with it, and the splice can be undone from the
// rebuilt index, leaving the store as before the splice.
func TestSpliceVerifyReindex(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := nowK() - 30
	e := newEnv(t)
	rec := testenv.NewSim(t, simulate.Options{})
	e.record(t, rec, base, base+9, nil)
	before := e.snapshot(t)
	url := serveSim(t, testenv.NewSim(t, simulate.Options{Variant: 1}))
	f, err := repair.OpenMPD(ctx, repair.NameFor(url), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := repair.Splice(ctx, e.a, f, repair.SpliceOptions{Channel: testChannel, From: kt(base + 3), To: kt(base + 6)})
	if err != nil {
		t.Fatal(err)
	}
	verify := func(db *index.DB, what string) {
		t.Helper()
		r, err := reconcile.Verify(ctx, e.store, db, reconcile.VerifyOptions{ReadData: true})
		if err != nil {
			t.Fatal(err)
		}
		if r.Mismatches != 0 {
			t.Errorf("verify --read-data of %s: %+v", what, r.Channels)
		}
	}
	verify(e.db, "the splicing index")

	fresh, err := index.Open(ctx, filepath.Join(t.TempDir(), "fresh.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	ri, err := reconcile.Reindex(ctx, e.store, fresh, reconcile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ri.Channels) != 1 || ri.Channels[0].Splices != 1 || len(ri.Channels[0].Problems) != 0 {
		t.Fatalf("reindex: %+v", ri.Channels)
	}
	ch, err := fresh.Channel(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range reps {
		orig, fr := e.track(t, r), index.Track{}
		if fr, err = fresh.Track(ctx, ch.ID, r); err != nil {
			t.Fatal(err)
		}
		want, _ := e.db.Segments(ctx, orig.ID, math.MinInt64, math.MaxInt64)
		got, _ := fresh.Segments(ctx, fr.ID, math.MinInt64, math.MaxInt64)
		if len(got) != len(want) {
			t.Fatalf("%s: %d rows rebuilt, %d recorded", r, len(got), len(want))
		}
		for i := range want {
			if got[i].K != want[i].K || got[i].Key != want[i].Key || got[i].SHA256 != want[i].SHA256 {
				t.Errorf("%s K %d: rebuilt %s %.12s, recorded %s %.12s", r, want[i].K, got[i].Key, got[i].SHA256, want[i].Key, want[i].SHA256)
			}
		}
	}
	verify(fresh, "the rebuilt index")

	// Undo from the rebuilt index.
	b := archive.New(e.store, fresh, nil)
	u, err := repair.UndoSplice(ctx, b, repair.UndoOptions{Channel: testChannel, ID: sp.ID})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Undone || u.Restored != 6 { // K base+3..base+5 of two tracks
		t.Errorf("undo from the rebuilt index: %+v", u)
	}
	if d := before.Tree.Diff(e.snapshot(t).Tree); d != nil {
		t.Errorf("the store after undo from the rebuilt index: %v", d)
	}
	verify(fresh, "the rebuilt index after undo")
}
