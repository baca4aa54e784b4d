package export_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/mpdtest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// checkTimeline is mpdtest.CheckTimeline against e's index.
func checkTimeline(t *testing.T, e *env, m mpdtest.MPD, dir string) {
	t.Helper()
	mpdtest.CheckTimeline(t, m, dir, e.timing)
}

// TestExportZeroCopy: an MPD written inside (or beside) the archive's
// directory references the archived objects in place through a relative
// BaseURL.
func TestExportZeroCopy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		out     string // relative to the test dir
		mpd     string // where the MPD lands, relative to the test dir
		baseURL string
		decode  bool
		give    bool // --base-url baseURL: the MPD is outside the store
	}{
		{name: "vod dir in the store", out: "store/vod/day.mpd", mpd: "store/vod/day.mpd", baseURL: "../", decode: true},
		{name: "nested dir in the store", out: "store/vod/2026/04/", mpd: "store/vod/2026/04/manifest.mpd", baseURL: "../../../"},
		{name: "store root", out: "store/all.mpd", mpd: "store/all.mpd", baseURL: ""},
		{name: "beside the store", out: "exports/x.mpd", mpd: "exports/x.mpd", baseURL: "../store/", decode: true, give: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			sim := testenv.NewSim(t, simulate.Options{})
			e.Fill(t, "a", sim, k0, k0+3)
			out := fileURL(filepath.Join(e.dir, filepath.FromSlash(tc.out)))
			if strings.HasSuffix(tc.out, "/") {
				out += "/"
			}
			o := export.Options{From: kTime(k0), To: kTime(k0 + 4), Out: out}
			if tc.give {
				o.BaseURL = tc.baseURL
			}
			res := e.export(t, o)
			want := filepath.Join(e.dir, filepath.FromSlash(tc.mpd))
			if res.MPDPath != want || res.Segments != 8 || res.Tracks != 2 || res.Periods != 1 || res.Gaps != 0 || res.Copied != 0 || res.Duration != 8*time.Second {
				t.Errorf("result %+v; want MPD at %s, 8 segments", res, want)
			}
			m := mpdtest.Read(t, want)
			if m.BaseURL != tc.baseURL {
				t.Errorf("BaseURL %q; want %q", m.BaseURL, tc.baseURL)
			}
			if len(m.Periods) != 1 || m.Duration != 8*time.Second {
				t.Fatalf("%d Periods, duration %v", len(m.Periods), m.Duration)
			}
			for _, rep := range reps {
				if ks := m.Periods[0].Ks(rep); !mpdtest.EqualKs(ks, mpdtest.KRange(k0, k0+3)) {
					t.Errorf("%s Ks %v", rep, ks)
				}
				if tr := m.Periods[0].Tracks[rep]; tr.PTO != uint64(k0)*segDurOf(rep) {
					t.Errorf("%s presentationTimeOffset %d; want K0*D*T", rep, tr.PTO)
				}
			}
			checkTimeline(t, e, m, filepath.Dir(want))
			if tc.decode {
				video, audio := testenv.DecodedFrames(t, want)
				if video != 4*50 || audio < 4*93 {
					t.Errorf("decoded %d video, %d audio frames; want 200 video", video, audio)
				}
			}
		})
	}
}

// TestExportOtherStore: a zero-copy export whose MPD is not in the archive's
// store needs a base URL (OutsideStoreError; the CLI names --base-url).
func TestExportOtherStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+1)
	o := export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 2), Out: "mem://"}
	var outside *export.OutsideStoreError
	if _, err := e.x.VoD(ctx, o); !errors.As(err, &outside) {
		t.Fatalf("export to mem:// without a base URL: %v; want an error asking for a base URL", err)
	}
	o.BaseURL = "https://cdn.example/archive/"
	if _, err := e.x.VoD(ctx, o); err != nil {
		t.Fatalf("with --base-url: %v", err)
	}
	// With a base URL the MPD names it, wherever the MPD is written.
	o.Out = fileURL(filepath.Join(e.dir, "elsewhere", "cdn.mpd"))
	res, err := e.x.VoD(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if m := mpdtest.Read(t, res.MPDPath); m.BaseURL != o.BaseURL {
		t.Errorf("BaseURL %q; want %q", m.BaseURL, o.BaseURL)
	}
	// An archive in memory and an MPD on disk do not share a store either.
	mem, err := cloud.Open(ctx, "mem://")
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	memArchive := export.Deps{Store: mem, DB: e.db}
	o.BaseURL, o.Out = "", fileURL(filepath.Join(e.dir, "x.mpd"))
	if _, err := memArchive.VoD(ctx, o); !errors.As(err, &outside) {
		t.Errorf("mem archive, file out: %v; want an error asking for a base URL", err)
	}
}

// TestExportCopy: --copy writes every referenced object beside the MPD, and
// the MPD has no BaseURL; the package plays on its own.
func TestExportCopy(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0+4)
	pkg := filepath.Join(e.dir, "pkg")
	res := e.export(t, export.Options{From: kTime(k0 + 1), To: kTime(k0 + 5), Out: fileURL(pkg) + "/", Copy: true})
	mpdPath := filepath.Join(pkg, "manifest.mpd")
	if res.MPDPath != mpdPath || res.Segments != 8 || res.Copied != 8+2 {
		t.Errorf("result %+v; want 8 segments and 2 inits copied to %s", res, mpdPath)
	}
	m := mpdtest.Read(t, mpdPath)
	if m.BaseURL != "./" { // the copies are beside it (see openOut for why not none)
		t.Errorf("a --copy MPD has BaseURL %q, want ./", m.BaseURL)
	}
	refs := m.Refs()
	if len(refs) != res.Copied {
		t.Errorf("%d referenced objects, %d copied", len(refs), res.Copied)
	}
	for _, r := range refs {
		got, err := os.ReadFile(filepath.Join(pkg, filepath.FromSlash(r)))
		if err != nil {
			t.Errorf("copied object: %v", err)
			continue
		}
		if want := e.Get(t, r); !bytes.Equal(got, want) {
			t.Errorf("%s: the copy differs from the archived object", r)
		}
	}
	checkTimeline(t, e, m, pkg)
	// Nothing of the package lives in the archive's store.
	if _, err := os.Stat(filepath.Join(e.storeDir, "manifest.mpd")); err == nil {
		t.Error("MPD written into the archive")
	}
	// --copy to a store of another kind needs no base URL either.
	if r, err := e.x.VoD(ctx, export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 1), Out: "mem://", Copy: true}); err != nil || r.Copied != 4 {
		t.Errorf("export --copy to mem://: %+v, %v", r, err)
	}
	// The copy needs neither the archive nor a base URL: move the archive away.
	if err := os.Rename(e.storeDir, e.storeDir+".moved"); err != nil {
		t.Fatal(err)
	}
	video, audio := testenv.DecodedFrames(t, mpdPath)
	if video != 4*50 {
		t.Errorf("decoded %d video frames; want 4 segments × 50", video)
	}
	var ticks uint64
	for _, s := range m.Periods[0].Tracks[simulate.AudioRep].Segs {
		ticks += s.D
	}
	if want := int(ticks / 1024); audio < want-1 || audio > want+1 {
		t.Errorf("decoded %d audio frames; the segments hold %d", audio, want)
	}
}

// TestExportGap: a segment missing from the archive is a hole in the
// timeline, never a reference to an absent object.
func TestExportGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+6, k0+3, k0+4)
	res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 7), Out: fileURL(filepath.Join(e.storeDir, "vod", "gap.mpd"))})
	if res.Gaps != 2 || res.Segments != 10 || res.Periods != 1 {
		t.Errorf("result %+v; want 10 segments, a gap in each of 2 tracks, 1 Period", res)
	}
	m := mpdtest.Read(t, res.MPDPath)
	for _, rep := range reps {
		if ks := m.Periods[0].Ks(rep); !mpdtest.EqualKs(ks, mpdtest.KRange(k0, k0+6, k0+3, k0+4)) {
			t.Errorf("%s addresses Ks %v", rep, ks)
		}
	}
	checkTimeline(t, e, m, filepath.Dir(res.MPDPath))
	// The tracks with a hole are SegmentLists (players ignore S@n), whose
	// S after the hole carries @t.
	raw, err := os.ReadFile(res.MPDPath)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Count(raw, []byte("<SegmentList")) != 2 || bytes.Contains(raw, []byte(` n="`)) {
		t.Errorf("want two SegmentLists and no S@n:\n%s", raw)
	}
	// Range that starts and ends in holes of its own.
	res = e.export(t, export.Options{From: kTime(k0 + 3), To: kTime(k0 + 5).Add(time.Second), Out: fileURL(filepath.Join(e.storeDir, "vod", "hole.mpd"))})
	if res.Segments != 2 || res.Gaps != 0 {
		t.Errorf("range from a hole: %+v; want K0+5 of both tracks", res)
	}
}

// TestExportInitChange: an init change inside the range starts a new Period.
func TestExportInitChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0+2)
	orig := testenv.MustInit(t, sim, simulate.VideoRep)
	changed := testenv.ModifiedVideoInit(t, orig)
	if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, changed, false); err != nil {
		t.Fatal(err)
	}
	for k := k0 + 3; k <= k0+5; k++ {
		for _, rep := range reps {
			e.Offer(t, "a", sim, rep, k)
		}
	}
	res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(filepath.Join(e.storeDir, "vod", "restart.mpd"))})
	if res.Periods != 2 || res.Segments != 12 {
		t.Errorf("result %+v; want 2 Periods, 12 segments", res)
	}
	m := mpdtest.Read(t, res.MPDPath)
	if len(m.Periods) != 2 {
		t.Fatalf("%d Periods; want 2", len(m.Periods))
	}
	p0, p1 := m.Periods[0], m.Periods[1]
	if p0.Start != 0 || p1.Start != 6*time.Second {
		t.Errorf("Period starts %v, %v; want 0s, 6s", p0.Start, p1.Start)
	}
	for _, rep := range reps {
		if !mpdtest.EqualKs(p0.Ks(rep), mpdtest.KRange(k0, k0+2)) || !mpdtest.EqualKs(p1.Ks(rep), mpdtest.KRange(k0+3, k0+5)) {
			t.Errorf("%s: Period Ks %v | %v", rep, p0.Ks(rep), p1.Ks(rep))
		}
		for i, p := range []mpdtest.Period{p0, p1} {
			if want := uint64(k0+3*int64(i)) * segDurOf(rep); p.Tracks[rep].PTO != want {
				t.Errorf("%s Period %d: presentationTimeOffset %d; want %d", rep, i, p.Tracks[rep].PTO, want)
			}
		}
	}
	if a, b := p0.Tracks[simulate.AudioRep].Init, p1.Tracks[simulate.AudioRep].Init; a != b {
		t.Errorf("audio init changed across Periods: %s, %s", a, b)
	}
	oi, ci := sha(orig)[:16], sha(changed)[:16]
	if !strings.Contains(p0.Tracks[simulate.VideoRep].Init, oi) || !strings.Contains(p1.Tracks[simulate.VideoRep].Init, ci) {
		t.Errorf("video inits %s, %s; want init-%s then init-%s", p0.Tracks[simulate.VideoRep].Init, p1.Tracks[simulate.VideoRep].Init, oi, ci)
	}
	checkTimeline(t, e, m, filepath.Dir(res.MPDPath))
	// A range on one side of the change is one Period.
	res = e.export(t, export.Options{From: kTime(k0 + 3), To: kTime(k0 + 6), Out: fileURL(filepath.Join(e.storeDir, "vod", "after.mpd"))})
	if res.Periods != 1 {
		t.Errorf("after the change: %d Periods", res.Periods)
	}
}

// TestExportRange: every segment overlapping [from, to) is exported.
func TestExportRange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+9)
	ms := time.Millisecond
	cases := []struct {
		name     string
		from, to time.Time
		first    int64
		last     int64
	}{
		{"whole segments", kTime(k0 + 2), kTime(k0 + 5), k0 + 2, k0 + 4},
		{"partial ends", kTime(k0 + 2).Add(time.Second), kTime(k0 + 5).Add(ms), k0 + 2, k0 + 5},
		{"last ns of a segment", kTime(k0 + 3).Add(-1), kTime(k0 + 3), k0 + 2, k0 + 2},
		{"first ns of a segment", kTime(k0 + 3), kTime(k0 + 3).Add(1), k0 + 3, k0 + 3},
		{"wider than the archive", kTime(k0 - 100), kTime(k0 + 100), k0, k0 + 9},
		{"clipped at the start", kTime(k0 - 1), kTime(k0 + 1), k0, k0},
		{"clipped at the end", kTime(k0 + 9).Add(1500 * ms), kTime(k0 + 12), k0 + 9, k0 + 9},
		{"non-UTC times", kTime(k0 + 4).In(time.FixedZone("X", 5*3600+1800)), kTime(k0 + 6).In(time.FixedZone("Y", -7*3600)), k0 + 4, k0 + 5},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := fileURL(filepath.Join(e.storeDir, "vod", "r"+strconv.Itoa(i)+".mpd"))
			res := e.export(t, export.Options{From: tc.from, To: tc.to, Out: out})
			n := tc.last - tc.first + 1
			if res.Segments != int(2*n) || res.Duration != time.Duration(n)*segD {
				t.Errorf("result %+v; want %d segments per track, %v", res, n, time.Duration(n)*segD)
			}
			m := mpdtest.Read(t, res.MPDPath)
			for _, rep := range reps {
				if ks := m.Periods[0].Ks(rep); !mpdtest.EqualKs(ks, mpdtest.KRange(tc.first, tc.last)) {
					t.Errorf("%s Ks %v; want %d..%d", rep, ks, tc.first, tc.last)
				}
			}
			checkTimeline(t, e, m, filepath.Dir(res.MPDPath))
		})
	}
}

// TestExportDeterministic: the same archive and range give the same bytes,
// whatever Archive value or time zone is used.
func TestExportDeterministic(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0+5, k0+2)
	e.Fill(t, "b", testenv.NewSim(t, simulate.Options{Variant: 1}), k0+2, k0+2)
	vod := filepath.Join(e.storeDir, "vod")
	r1 := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(filepath.Join(vod, "one.mpd"))})
	a2 := export.Deps{Store: e.store, DB: e.db}
	r2, err := a2.VoD(context.Background(), export.Options{Channel: testChannel,
		From: kTime(k0).In(time.FixedZone("Z", 3600)), To: kTime(k0 + 6).Local(), Out: fileURL(filepath.Join(vod, "two.mpd"))})
	if err != nil {
		t.Fatal(err)
	}
	b1, err1 := os.ReadFile(r1.MPDPath)
	b2, err2 := os.ReadFile(r2.MPDPath)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("two exports differ:\n%s\n---\n%s", b1, b2)
	}
	// Re-exporting over the same name rewrites the same bytes.
	r3 := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(r1.MPDPath)})
	if b3, _ := os.ReadFile(r3.MPDPath); !bytes.Equal(b1, b3) {
		t.Error("re-export differs")
	}
	for _, s := range []string{"publishTime", "availabilityStartTime"} {
		if bytes.Contains(b1, []byte(s)) {
			t.Errorf("static MPD carries %s", s)
		}
	}
}

// TestExportErrors: empty ranges, ranges without segments, unknown channels
// and bad --out values are errors that say so.
func TestExportErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+2)
	out := fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))
	cases := []struct {
		name string
		o    export.Options
		want string
	}{
		{"empty range", export.Options{Channel: testChannel, From: kTime(k0 + 1), To: kTime(k0 + 1), Out: out}, "empty range"},
		{"reversed range", export.Options{Channel: testChannel, From: kTime(k0 + 2), To: kTime(k0), Out: out}, "empty range"},
		{"zero range", export.Options{Channel: testChannel, Out: out}, "empty range"},
		{"range without segments", export.Options{Channel: testChannel, From: kTime(k0 + 10), To: kTime(k0 + 20), Out: out}, "no segments"},
		{"range before the archive", export.Options{Channel: testChannel, From: kTime(k0 - 5), To: kTime(k0), Out: out}, "no segments"},
		{"unknown channel", export.Options{Channel: "nope", From: kTime(k0), To: kTime(k0 + 2), Out: out}, "nope"},
		{"no out", export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 2)}, "no output URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.x.VoD(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v; want one saying %q", err, tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(e.storeDir, "vod", "x.mpd")); err == nil {
		t.Error("a failed export wrote its MPD")
	}
}

// TestExportCompatibleInitsOnePeriod: redundant encoders whose init
// segments differ in bytes but not in codec configuration (equal stsd:
// "compatible" in LAYOUT.md) do not split the export into Periods.
func TestExportCompatibleInitsOnePeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.OfferInits(t, "a", sim)
	for _, rep := range reps {
		other := testenv.WithCreationTime(t, testenv.MustInit(t, sim, rep), 3_900_000_000)
		if _, err := e.ch.OfferInit(ctx, "b", rep, other, true); err != nil {
			t.Fatal(err)
		}
	}
	for k := k0; k < k0+6; k++ {
		src := []string{"a", "b"}[k%2]
		for _, rep := range reps {
			e.Offer(t, src, sim, rep, k)
		}
	}
	res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))})
	if res.Periods != 1 {
		t.Errorf("%d Periods for 6 segments alternating between two compatible inits; want 1", res.Periods)
	}
}

// TestExportCopyIntoArchiveRoot: --copy with --out at the archive's root
// must not rewrite archive objects (they are immutable and carry the reap-*
// attributes a reindex reads).
func TestExportCopyIntoArchiveRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+1)
	key := mediaKey(simulate.VideoRep, k0)
	before, err := e.store.Attributes(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.x.VoD(ctx, export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 2), Copy: true, Out: fileURL(filepath.Join(e.storeDir, "copy.mpd"))})
	after, aerr := e.store.Attributes(ctx, key)
	if aerr != nil {
		t.Fatal(aerr)
	}
	if after.Meta[layout.MetaSHA256] != before.Meta[layout.MetaSHA256] || !after.ModTime.Equal(before.ModTime) {
		t.Errorf("export --copy into the archive root (err %v) rewrote %s: attributes %v -> %v", err, key, before.Meta, after.Meta)
	}
}

// TestExportTrackIDChangeNewPeriod: an encoder restart whose init has the
// same codec configuration but another track_ID is a new init version for
// the recorder, so the export starts a new Period there (LAYOUT.md, "Init
// segments and encoder restarts"): segments must decode with the init whose
// track_ID they carry.
func TestExportTrackIDChangeNewPeriod(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.OfferInits(t, "a", sim)
	for k := k0; k < k0+3; k++ {
		e.Offer(t, "a", sim, simulate.VideoRep, k)
	}
	init2 := withTrackID(t, testenv.MustInit(t, sim, simulate.VideoRep), 7)
	res, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, init2, false)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed {
		t.Fatal("OfferInit of an init with another track_ID: not a change")
	}
	for k := k0 + 3; k < k0+6; k++ {
		seg := withTrackID(t, testenv.MustSeg(t, sim, simulate.VideoRep, k), 7)
		if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: simulate.VideoRep, Data: seg, ExpectK: k}); err != nil {
			t.Fatalf("K=%d: %v", k, err)
		}
	}
	out := filepath.Join(e.storeDir, "vod", "x.mpd")
	ex := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(out)})
	if ex.Periods != 2 {
		t.Errorf("%d Periods across a track_ID change; want 2", ex.Periods)
	}
}

// withTrackID rewrites the track_ID of an init segment (tkhd, trex) or of
// a media segment (tfhd).
func withTrackID(tb testing.TB, data []byte, id uint32) []byte {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	if f.Init != nil {
		f.Init.Moov.Trak.Tkhd.TrackID = id
		f.Init.Moov.Mvex.Trex.TrackID = id
	}
	for _, s := range f.Segments {
		for _, fr := range s.Fragments {
			fr.Moof.Traf.Tfhd.TrackID = id
		}
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}
