package repair_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/repair"
	"github.com/reaparchive/reaparchive/simulate"
)

const (
	testChannel = "ch1"
	segD        = 2 * time.Second
)

var reps = []string{simulate.VideoRep, simulate.AudioRep}

// env is an archive over a file store and an index in a temporary directory.
type env struct {
	storeURL string
	store    *cloud.Store
	db       *index.DB
	a        *archive.Archive
	ch       *archive.Channel
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	dir := tb.TempDir()
	return fromArchivetest(archivetest.Open(tb, testenv.FileStoreURL(dir), filepath.Join(dir, "index.db"), testChannel, segD))
}

// fromArchivetest is the env of an opened archivetest.Env.
func fromArchivetest(r *archivetest.Env) *env {
	return &env{storeURL: r.StoreURL, store: r.Store, db: r.DB, a: r.Archive, ch: r.Channel}
}

// record stores every K in [from, to] of sim as source a, except the K in
// gaps, which sources a and b record as missing.
func (e *env) record(tb testing.TB, sim *simulate.Server, from, to int64, gaps []int64) {
	tb.Helper()
	ctx := context.Background()
	for _, rep := range reps {
		if _, err := e.ch.OfferInit(ctx, "a", rep, testenv.MustInit(tb, sim, rep), false); err != nil {
			tb.Fatal(err)
		}
		for k := from; k <= to; k++ {
			if slices.Contains(gaps, k) {
				for _, src := range []string{"a", "b"} {
					if err := e.ch.RecordMissing(ctx, src, rep, k, "GET …: 404 Not Found"); err != nil {
						tb.Fatal(err)
					}
				}
				continue
			}
			if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: rep, Data: testenv.MustSeg(tb, sim, rep, k), ExpectK: k}); err != nil {
				tb.Fatalf("offer %s %d: %v", rep, k, err)
			}
		}
	}
}

func (e *env) track(tb testing.TB, rep string) index.Track {
	tb.Helper()
	t, err := e.db.Track(context.Background(), e.ch.Info.ID, rep)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// keys lists the channel's media keys.
func (e *env) keys(tb testing.TB) []string {
	tb.Helper()
	var out []string
	err := e.store.List(context.Background(), testChannel+"/", func(a cloud.Attrs) error {
		out = append(out, a.Key)
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// deliveryCount is the number of delivery rows of the channel's tracks.
func (e *env) deliveryCount(tb testing.TB) int {
	tb.Helper()
	n := 0
	for _, rep := range reps {
		ds, err := e.db.DeliveriesBetween(context.Background(), e.track(tb, rep).ID, 0, 1<<62)
		if err != nil {
			tb.Fatal(err)
		}
		n += len(ds)
	}
	return n
}

// checkConsistent checks that every segment row's object exists with the
// indexed sha256, and that every media object has a row.
func (e *env) checkConsistent(tb testing.TB) {
	tb.Helper()
	ctx := context.Background()
	rows := 0
	for _, rep := range reps {
		err := e.db.ForEachSegment(ctx, e.track(tb, rep).ID, 0, 1<<62, func(s index.Segment) error {
			rows++
			at, err := e.store.Attributes(ctx, s.Key)
			if err != nil {
				tb.Errorf("%s K %d: indexed, but the object: %v", rep, s.K, err)
			} else if at.Meta[layout.MetaSHA256] != s.SHA256 {
				tb.Errorf("%s K %d: object sha256 %.12s, index %.12s", rep, s.K, at.Meta[layout.MetaSHA256], s.SHA256)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	media := 0
	for _, k := range e.keys(tb) {
		if o, _ := layout.Parse(k); o.Kind == layout.KindMedia {
			media++
		}
	}
	if media != rows {
		tb.Errorf("%d media objects, %d segment rows", media, rows)
	}
}

// serveSim serves h on loopback and returns its MPD URL.
func serveSim(tb testing.TB, h http.Handler) string {
	tb.Helper()
	srv := httptest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv.URL + "/manifest.mpd"
}

func nowK() int64 { return time.Now().UnixNano() / int64(segD) }

// withoutLastSample re-encodes a one-fragment media segment without its last
// sample: same start, one sample short.
func withoutLastSample(tb testing.TB, init, seg []byte) []byte {
	tb.Helper()
	fi, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		tb.Fatal(err)
	}
	fs, err := mp4.DecodeFile(bytes.NewReader(seg))
	if err != nil {
		tb.Fatal(err)
	}
	frag := fs.Segments[0].Fragments[0]
	samples, err := frag.GetFullSamples(fi.Init.Moov.Mvex.Trex)
	if err != nil {
		tb.Fatal(err)
	}
	nf, err := mp4.CreateFragment(frag.Moof.Mfhd.SequenceNumber, frag.Moof.Traf.Tfhd.TrackID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range samples[:len(samples)-1] {
		nf.AddFullSample(s)
	}
	nf.Moof.Traf.Tfdt.Version = 1
	var buf bytes.Buffer
	if err := mp4.NewStyp("msdh", 0, []string{"msdh", "msix"}).Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	if err := nf.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var segPath = regexp.MustCompile(`^/(video|audio)/([0-9]+)\.m4s$`)

// replacing serves sim, with fn's answer for the paths it handles.
func replacing(sim *simulate.Server, fn func(path string) ([]byte, bool)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if body, ok := fn(r.URL.Path); ok {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
			return
		}
		sim.ServeHTTP(w, r)
	})
}

// want is what a repair should do with one (rep, K): "filled", "missing"
// or "rejected", and a substring of the reason.
type want struct{ class, reason string }

func classes(r *repair.Report) map[string]want {
	out := map[string]want{}
	for _, x := range []struct {
		class string
		items []repair.Item
	}{{"filled", r.Filled}, {"missing", r.Missing}, {"rejected", r.Rejected}, {"planned", r.Planned}} {
		for _, it := range x.items {
			out[fmt.Sprintf("%s/%d", it.Rep, it.K)] = want{x.class, it.Reason}
		}
	}
	return out
}

// TestFillFromMPD fills the gaps of an archive recorded from a simulated
// encoder from another simulated encoder's I-MPD, clean or faulty.
func TestRepairFillFromMPD(t *testing.T) {
	t.Parallel()
	base := nowK() - 20
	gaps := []int64{base + 3, base + 7, base + 8, base + 12}
	all := func(w want) func(string, int64) want { return func(string, int64) want { return w } }
	filled := want{"filled", ""}
	tests := []struct {
		name     string
		opts     simulate.Options
		wrap     func(*simulate.Server) http.Handler
		parallel int
		want     func(rep string, k int64) want
	}{
		{name: "clean", want: all(filled)},
		{name: "clean one at a time", parallel: 1, want: all(filled)},
		{name: "drops", opts: simulate.Options{Drop: func(rep string, k int64) bool {
			return rep == simulate.VideoRep && k == base+7 || rep == simulate.AudioRep && k == base+12
		}}, want: func(rep string, k int64) want {
			if rep == simulate.VideoRep && k == base+7 || rep == simulate.AudioRep && k == base+12 {
				return want{"missing", "404 Not Found"}
			}
			return filled
		}},
		{name: "other codec configuration", wrap: func(sim *simulate.Server) http.Handler {
			init := testenv.ModifiedVideoInit(t, testenv.MustInit(t, sim, simulate.VideoRep))
			return replacing(sim, func(p string) ([]byte, bool) { return init, p == "/video/init.mp4" })
		}, want: func(rep string, k int64) want {
			if rep == simulate.VideoRep {
				return want{"rejected", "codec configuration differs"}
			}
			return filled
		}},
		{name: "one sample short", wrap: func(sim *simulate.Server) http.Handler {
			init := testenv.MustInit(t, sim, simulate.VideoRep)
			return replacing(sim, func(p string) ([]byte, bool) {
				m := segPath.FindStringSubmatch(p)
				if m == nil || m[1] != simulate.VideoRep {
					return nil, false
				}
				k, _ := strconv.ParseInt(m[2], 10, 64)
				return withoutLastSample(t, init, testenv.MustSeg(t, sim, simulate.VideoRep, k)), true
			})
		}, want: func(rep string, k int64) want {
			if rep == simulate.VideoRep {
				return want{"rejected", "duration"}
			}
			return filled
		}},
		{name: "encoder restart as a new Period", opts: simulate.Options{RestartAt: base + 8}, want: all(filled)},
		{name: "encoder restart as a new Period with another video init", opts: simulate.Options{RestartAt: base + 8, RestartInit: func(rep string, init []byte) []byte {
			if rep == simulate.VideoRep {
				return testenv.ModifiedVideoInit(t, init)
			}
			return init
		}}, want: func(rep string, k int64) want {
			if rep == simulate.VideoRep && k >= base+8 { // checked against the new Period's init
				return want{"rejected", "codec configuration differs"}
			}
			return filled // checked against the init of the Period that holds K
		}},
		{name: "one tick late", opts: simulate.Options{TimingSkew: 1}, want: all(want{"rejected", "the stored segment K"})},
		{name: "off the grid", opts: simulate.Options{TimingSkew: 4500}, want: all(want{"rejected", "off the track's grid"})},
		{name: "other segment duration", opts: simulate.Options{SegmentDuration: 4 * time.Second}, want: all(want{"rejected", "segments last 4s, the track's 2s"})},
		{name: "outside the time-shift window", opts: simulate.Options{TimeShiftBuffer: 6 * time.Second}, want: all(want{"missing", "time-shift window"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			rec := testenv.NewSim(t, simulate.Options{})
			e := newEnv(t)
			e.record(t, rec, base, base+15, gaps)
			src := testenv.NewSim(t, tt.opts)
			var h http.Handler = src
			if tt.wrap != nil {
				h = tt.wrap(src)
			}
			url := serveSim(t, h)
			f, err := repair.OpenMPD(ctx, repair.NameFor(url), url, nil)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := repair.Fill(ctx, e.a, f, repair.Options{Channel: testChannel, Parallel: tt.parallel})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Wanted != int64(len(gaps)*len(reps)) {
				t.Errorf("wanted %d, want %d", rep.Wanted, len(gaps)*len(reps))
			}
			for _, it := range append(rep.Missing, rep.Rejected...) {
				t.Logf("%s %d: %s", it.Rep, it.K, it.Reason)
			}
			got := classes(rep)
			left := map[string][]int64{}
			for _, r := range reps {
				for _, k := range gaps {
					key := fmt.Sprintf("%s/%d", r, k)
					w, g := tt.want(r, k), got[key]
					if g.class != w.class || !strings.Contains(g.reason, w.reason) {
						t.Errorf("%s: %s %q, want %s with %q", key, g.class, g.reason, w.class, w.reason)
					}
					if w.class == "filled" {
						data, err := e.store.Get(ctx, layout.MediaKey(testChannel, r, k, "m4s"))
						if err != nil {
							t.Errorf("%s: filled, but: %v", key, err)
						} else if !bytes.Equal(data, testenv.MustSeg(t, src, r, k)) {
							t.Errorf("%s: stored bytes are not the source's", key)
						}
					} else {
						left[r] = append(left[r], k)
					}
				}
			}
			if rep.Complete() != (len(left) == 0) {
				t.Errorf("Complete() = %v with %v left", rep.Complete(), left)
			}
			e.checkConsistent(t)

			// The K not filled are still gaps, and the repair source is
			// among the sources tried.
			after, err := repair.Find(ctx, e.db, testChannel, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			gotLeft := map[string][]int64{}
			for _, g := range after {
				for k := g.From; k <= g.To; k++ {
					gotLeft[g.Rep] = append(gotLeft[g.Rep], k)
				}
				var names []string
				for _, tr := range g.Tried {
					names = append(names, tr.Source)
				}
				if want := []string{"a", "b", f.Name()}; !slices.Equal(names, want) {
					t.Errorf("gap %s %d-%d: tried %v, want %v", g.Rep, g.From, g.To, names, want)
				}
			}
			if fmt.Sprint(gotLeft) != fmt.Sprint(left) {
				t.Errorf("gaps after the repair %v, want %v", gotLeft, left)
			}

			// A second run stores nothing new.
			keys := e.keys(t)
			rep2, err := repair.Fill(ctx, e.a, f, repair.Options{Channel: testChannel, Parallel: tt.parallel})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep2.Filled) != 0 || len(rep2.Missing)+len(rep2.Rejected) != len(rep.Missing)+len(rep.Rejected) {
				t.Errorf("second run: filled %d, missing %d, rejected %d; the first left %d missing, %d rejected",
					len(rep2.Filled), len(rep2.Missing), len(rep2.Rejected), len(rep.Missing), len(rep.Rejected))
			}
			if k2 := e.keys(t); !slices.Equal(keys, k2) {
				t.Errorf("second run changed the store: %d keys, then %d", len(keys), len(k2))
			}
		})
	}
}

// TestRepairDryRun: a dry run lists what it would fetch and where, and
// writes nothing: no object, no delivery, no source.
func TestRepairDryRun(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := nowK() - 20
	gaps := []int64{base + 3, base + 7, base + 8}
	e := newEnv(t)
	e.record(t, testenv.NewSim(t, simulate.Options{}), base, base+15, gaps)
	var mu sync.Mutex
	var requests []string
	src := testenv.NewSim(t, simulate.Options{})
	url := serveSim(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.URL.Path)
		mu.Unlock()
		src.ServeHTTP(w, r)
	}))
	f, err := repair.OpenMPD(ctx, "repair.test", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, deliveries := e.keys(t), e.deliveryCount(t)
	rep, err := repair.Fill(ctx, e.a, f, repair.Options{Channel: testChannel, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Planned) != len(gaps)*len(reps) || len(rep.Filled)+len(rep.Missing)+len(rep.Rejected) != 0 {
		t.Errorf("dry run: planned %d, filled %d, missing %d, rejected %d; want %d planned", len(rep.Planned), len(rep.Filled), len(rep.Missing), len(rep.Rejected), len(gaps)*len(reps))
	}
	for _, it := range rep.Planned {
		if want := fmt.Sprintf("/%s/%d.m4s", it.Rep, it.K); !strings.HasSuffix(it.From, want) {
			t.Errorf("planned %s %d from %q, want a URL ending in %s", it.Rep, it.K, it.From, want)
		}
	}
	if !slices.Equal(requests, []string{"/manifest.mpd"}) {
		t.Errorf("dry run requested %v, want only the MPD", requests)
	}
	if k2 := e.keys(t); !slices.Equal(keys, k2) {
		t.Errorf("dry run changed the store")
	}
	if d2 := e.deliveryCount(t); d2 != deliveries {
		t.Errorf("dry run recorded %d deliveries", d2-deliveries)
	}
	srcs, err := e.db.Sources(ctx, e.ch.Info.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(srcs) != 2 {
		t.Errorf("dry run added a source: %+v", srcs)
	}
}

// TestRepairFillFromArchive fills from another archive's store, read by
// its layout.
func TestRepairFillFromArchive(t *testing.T) {
	t.Parallel()
	const base = int64(888_000_000) // 2026: any K works, an archive has no time-shift window
	gaps := []int64{base + 3, base + 7, base + 8, base + 12}
	filled := want{"filled", ""}
	tests := []struct {
		name string
		// fill prepares the other archive (sim has recorded the gaps' K)
		fill func(t *testing.T, other *env, sim *simulate.Server)
		want func(rep string, k int64) want
	}{
		{"recorded", func(t *testing.T, other *env, sim *simulate.Server) {
			other.record(t, sim, base, base+15, nil)
		}, func(string, int64) want { return filled }},
		{"lacks some", func(t *testing.T, other *env, sim *simulate.Server) {
			other.record(t, sim, base, base+15, []int64{base + 8})
		}, func(_ string, k int64) want {
			if k == base+8 {
				return want{"missing", "is not in"}
			}
			return filled
		}},
		{"objects without attributes", func(t *testing.T, other *env, sim *simulate.Server) {
			for _, rep := range reps {
				init := testenv.MustInit(t, sim, rep)
				if err := other.store.Create(t.Context(), layout.InitKey(testChannel, rep, sha(init)), init, nil); err != nil {
					t.Fatal(err)
				}
				for _, k := range gaps {
					if err := other.store.Create(t.Context(), layout.MediaKey(testChannel, rep, k, "m4s"), testenv.MustSeg(t, sim, rep, k), nil); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, func(string, int64) want { return filled }},
		{"init missing", func(t *testing.T, other *env, sim *simulate.Server) {
			for _, rep := range reps {
				for _, k := range gaps {
					meta := map[string]string{layout.MetaInit: "0123456789abcdef"}
					if err := other.store.Create(t.Context(), layout.MediaKey(testChannel, rep, k, "m4s"), testenv.MustSeg(t, sim, rep, k), meta); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, func(string, int64) want { return want{"missing", "init segment"} }},
		{"other codec configuration", func(t *testing.T, other *env, sim *simulate.Server) {
			init := testenv.ModifiedVideoInit(t, testenv.MustInit(t, sim, simulate.VideoRep))
			if _, err := other.ch.OfferInit(t.Context(), "x", simulate.VideoRep, init, false); err != nil {
				t.Fatal(err)
			}
			if _, err := other.ch.OfferInit(t.Context(), "x", simulate.AudioRep, testenv.MustInit(t, sim, simulate.AudioRep), false); err != nil {
				t.Fatal(err)
			}
			for _, rep := range reps {
				for _, k := range gaps {
					if _, err := other.ch.OfferSegment(t.Context(), archive.Offer{Source: "x", Rep: rep, Data: testenv.MustSeg(t, sim, rep, k), ExpectK: k}); err != nil {
						t.Fatal(err)
					}
				}
			}
		}, func(rep string, _ int64) want {
			if rep == simulate.VideoRep {
				return want{"rejected", "codec configuration differs"}
			}
			return filled
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			sim := testenv.NewSim(t, simulate.Options{})
			e, other := newEnv(t), newEnv(t)
			e.record(t, sim, base, base+15, gaps)
			tt.fill(t, other, sim)
			f := repair.NewStore(repair.NameFor(other.storeURL), other.store)
			if f.Name() != "repair.store" || f.URL() != "archive:"+other.store.URL() {
				t.Errorf("name %q, URL %q", f.Name(), f.URL())
			}
			rep, err := repair.Fill(ctx, e.a, f, repair.Options{Channel: testChannel})
			if err != nil {
				t.Fatal(err)
			}
			got := classes(rep)
			for _, r := range reps {
				for _, k := range gaps {
					key := fmt.Sprintf("%s/%d", r, k)
					w, g := tt.want(r, k), got[key]
					if g.class != w.class || !strings.Contains(g.reason, w.reason) {
						t.Errorf("%s: %s %q, want %s with %q", key, g.class, g.reason, w.class, w.reason)
					}
					if w.class == "filled" {
						data, err := e.store.Get(ctx, layout.MediaKey(testChannel, r, k, "m4s"))
						if err != nil || !bytes.Equal(data, testenv.MustSeg(t, sim, r, k)) {
							t.Errorf("%s: filled, but the stored object is not the segment (%v)", key, err)
						}
					}
				}
			}
			e.checkConsistent(t)
		})
	}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestRepairFindGaps: gaps with their wall-clock span and the sources that
// were tried, clipped to a range; JSON field names.
func TestRepairFindGaps(t *testing.T) {
	t.Parallel()
	const base = int64(888_000_000)
	e := newEnv(t)
	e.record(t, testenv.NewSim(t, simulate.Options{}), base, base+15, []int64{base + 3, base + 7, base + 8, base + 12})
	kt := func(k int64) time.Time { return time.Unix(k*2, 0).UTC() }
	tests := []struct {
		name     string
		from, to time.Time
		want     [][2]int64 // per rep
	}{
		{"all", time.Time{}, time.Time{}, [][2]int64{{base + 3, base + 3}, {base + 7, base + 8}, {base + 12, base + 12}}},
		{"range", kt(base + 4), kt(base + 8), [][2]int64{{base + 7, base + 7}}},
		{"partial segments count", kt(base + 3).Add(time.Second), kt(base + 7).Add(time.Millisecond), [][2]int64{{base + 3, base + 3}, {base + 7, base + 7}}},
		{"before the recording", kt(base - 10), kt(base), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			gaps, err := repair.Find(t.Context(), e.db, testChannel, tt.from, tt.to)
			if err != nil {
				t.Fatal(err)
			}
			var got [][2]int64
			for _, g := range gaps {
				if g.Rep != simulate.VideoRep {
					continue
				}
				got = append(got, [2]int64{g.From, g.To})
				if !g.FromTime.Equal(kt(g.From)) || !g.ToTime.Equal(kt(g.To+1)) || g.Duration != time.Duration(g.To-g.From+1)*segD || g.Segments != g.To-g.From+1 {
					t.Errorf("gap %+v: times or duration wrong", g)
				}
				if len(g.Tried) != 2 || g.Tried[0].Source != "a" || g.Tried[1].Source != "b" ||
					g.Tried[0].Outcomes["missing"] != int(g.Segments) || g.Tried[0].Detail == "" {
					t.Errorf("gap %d-%d: tried %+v, want a and b, each missing every K", g.From, g.To, g.Tried)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("video gaps %v, want %v", got, tt.want)
			}
			if n := len(gaps); n != 2*len(tt.want) {
				t.Errorf("%d gaps, want %d in each of 2 tracks", n, len(tt.want))
			}
		})
	}
	gaps, err := repair.Find(t.Context(), e.db, testChannel, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(gaps[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rep", "from", "to", "from_time", "to_time", "duration_seconds", "tried"} {
		if _, ok := m[k]; !ok {
			t.Errorf("gap JSON has no %q: %s", k, b)
		}
	}
	if m["from_time"] != kt(base+3).Format(time.RFC3339) {
		t.Errorf("from_time %v, want %s", m["from_time"], kt(base+3).Format(time.RFC3339))
	}
	if _, err := repair.Find(t.Context(), e.db, "nosuch", time.Time{}, time.Time{}); err == nil {
		t.Errorf("Find of an unknown channel: no error")
	}
}

// TestRepairNameFor: derived source names are valid names.
func TestRepairNameFor(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"http://127.0.0.1:8080/livesim2/testpic_2s/Manifest.mpd": "repair.127.0.0.1-8080",
		"file:///var/lib/reaparchive/store":                      "repair.store",
		"s3://bucket?region=eu-west-1":                           "repair.bucket",
		"http://[::1]:80/x.mpd":                                  "repair.1--80",
		"mem://":                                                 "repair.source",
	} {
		got := repair.NameFor(in)
		if got != want {
			t.Errorf("NameFor(%q) = %q, want %q", in, got, want)
		}
		if err := layout.ValidName("source", got); err != nil {
			t.Errorf("NameFor(%q): %v", in, err)
		}
	}
}

// TestRepairReplacesCorruptObject: a corrupt object (bytes changed after it
// was stored, its reap-* attributes kept) whose row verify --repair-index
// dropped is a gap that repair fills: it keeps the corrupt bytes at the
// quarantine key, removes the object and stores the source's copy. A sound
// object found in place (another recorder stored it) is only indexed.
func TestRepairReplacesCorruptObject(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	base := nowK() - 20
	rec := testenv.NewSim(t, simulate.Options{})
	e := newEnv(t)
	e.record(t, rec, base, base+6, nil)
	bad, sound := base+2, base+4
	vt := e.track(t, simulate.VideoRep)
	badKey := layout.MediaKey(testChannel, simulate.VideoRep, bad, "m4s")
	at, err := e.store.Attributes(ctx, badKey)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(testenv.MustSeg(t, rec, simulate.VideoRep, bad))
	for i := len(corrupt) - 100; i < len(corrupt); i++ {
		corrupt[i] ^= 0xff
	}
	if err := e.store.Put(ctx, badKey, corrupt, at.Meta); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int64{bad, sound} { // as verify --repair-index leaves them: rows gone
		if err := e.db.DeleteSegment(ctx, vt.ID, k); err != nil {
			t.Fatal(err)
		}
	}
	url := serveSim(t, testenv.NewSim(t, simulate.Options{}))
	f, err := repair.OpenMPD(ctx, repair.NameFor(url), url, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := repair.Fill(ctx, e.a, f, repair.Options{Channel: testChannel})
	if err != nil {
		t.Fatal(err)
	}
	got := classes(rep)
	for k, want := range map[int64]string{bad: "replaced a corrupt object", sound: "already stored meanwhile"} {
		g := got[fmt.Sprintf("%s/%d", simulate.VideoRep, k)]
		if g.class != "filled" || !strings.Contains(g.reason, want) {
			t.Errorf("K=%d: %s %q, want filled with %q", k, g.class, g.reason, want)
		}
	}
	if data, err := e.store.Get(ctx, badKey); err != nil || !bytes.Equal(data, testenv.MustSeg(t, rec, simulate.VideoRep, bad)) {
		t.Errorf("%s after repair: %v (the source's bytes: %v)", badKey, err, err == nil && bytes.Equal(data, testenv.MustSeg(t, rec, simulate.VideoRep, bad)))
	}
	h := sha256.Sum256(corrupt)
	q := layout.QuarantineKey(testChannel, simulate.VideoRep, bad, hex.EncodeToString(h[:]), "m4s")
	if data, err := e.store.Get(ctx, q); err != nil || !bytes.Equal(data, corrupt) {
		t.Errorf("the corrupt bytes are not kept at %s: %v", q, err)
	}
	if !rep.Complete() {
		t.Errorf("repair not complete: %+v", rep)
	}
	e.checkConsistent(t)
}
