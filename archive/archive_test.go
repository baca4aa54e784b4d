package archive_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// Test fixtures: a channel with the simulator's 2 s segments, numbered from
// an epoch index in 2026 so that EPTs need 64-bit tfdts.
const (
	testChannel = "ch1"
	segD        = 2 * time.Second
	k0          = int64(888_000_000) // 2026-04-12T…Z at D = 2 s

	videoSegDur = 180000 // D*T, video timescale 90000
	audioSegDur = 96000  // D*T, audio timescale 48000
)

// env is an archive over a file store and an index in a temporary directory.
type env struct {
	*archivetest.Env
	dir      string // the test's temporary directory
	storeDir string
	store    *cloud.Store
	db       *index.DB
	a        *archive.Archive
	ch       *archive.Channel
}

func newEnv(tb testing.TB) *env {
	tb.Helper()
	return newEnvOn(tb, testenv.Store("file"))
}

// newEnvOn is newEnv with the store of the given kind (a new directory or
// bucket); storeDir is set for file stores only.
func newEnvOn(tb testing.TB, kind testenv.StoreKind) *env {
	tb.Helper()
	r, dir := archivetest.OpenOn(tb, kind, testChannel, segD)
	return &env{Env: r, dir: dir, storeDir: r.StoreDir, store: r.Store, db: r.DB, a: r.Archive, ch: r.Channel}
}

func (e *env) source(tb testing.TB, name string) index.SourceRow {
	tb.Helper()
	s, err := e.ch.Source(context.Background(), name, "")
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func (e *env) deliveries(tb testing.TB, rep string, k int64) []index.Delivery {
	tb.Helper()
	ds, err := e.db.Deliveries(context.Background(), e.Track(tb, rep).ID, k)
	if err != nil {
		tb.Fatal(err)
	}
	return ds
}

// mediaKeys lists the media segment keys of rep.
func (e *env) mediaKeys(tb testing.TB, rep string) []string {
	tb.Helper()
	var out []string
	for _, k := range e.Keys(tb, testChannel+"/"+rep+"/") {
		if o, err := layout.Parse(k); err == nil && o.Kind == layout.KindMedia {
			out = append(out, k)
		}
	}
	return out
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func mediaKey(rep string, k int64) string { return layout.MediaKey(testChannel, rep, k, "m4s") }

func segDurOf(rep string) uint64 {
	if rep == simulate.AudioRep {
		return audioSegDur
	}
	return videoSegDur
}

func outcomes(ds []index.Delivery) []index.Outcome {
	var out []index.Outcome
	for _, d := range ds {
		out = append(out, d.Outcome)
	}
	return out
}

var reps = archivetest.Reps

// TestOfferSegmentFirstDelivery: the first valid delivery is stored at its
// computable key with the reap-* attributes and indexed.
func TestOfferSegmentFirstDelivery(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		for _, rep := range reps {
			for _, k := range []int64{k0, k0 + 1, k0 + 3} { // k0+3: the asset loop's last 2 s
				t.Run(fmt.Sprintf("%s/%d", rep, k), func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					e := newEnvOn(t, kind)
					sim := testenv.NewSim(t, simulate.Options{})
					e.OfferInits(t, "a", sim)
					data := testenv.MustSeg(t, sim, rep, k)
					info, err := cmaf.ParseSegment(data, nil)
					if err != nil {
						t.Fatal(err)
					}
					res, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: rep, Data: data, ExpectK: k})
					if err != nil {
						t.Fatal(err)
					}
					key := mediaKey(rep, k)
					if res.Outcome != index.Stored || res.K != k || res.Key != key {
						t.Fatalf("result %+v; want stored K %d at %s", res, k, key)
					}
					if got := e.Get(t, key); !bytes.Equal(got, data) {
						t.Fatalf("stored object differs from the delivery")
					}
					tr := e.Track(t, rep)
					inits, err := e.db.Inits(ctx, tr.ID)
					if err != nil || len(inits) != 1 {
						t.Fatalf("inits %v, %v; want one", inits, err)
					}
					at, err := e.store.Attributes(ctx, key)
					if err != nil {
						t.Fatal(err)
					}
					ts := map[string]string{simulate.VideoRep: "90000", simulate.AudioRep: "48000"}[rep]
					want := map[string]string{
						layout.MetaEPT:       strconv.FormatUint(info.EPT, 10),
						layout.MetaDuration:  strconv.FormatUint(info.Duration, 10),
						layout.MetaTimescale: ts,
						layout.MetaSegDur:    strconv.FormatUint(segDurOf(rep), 10),
						layout.MetaSHA256:    sha(data),
						layout.MetaInit:      inits[0].Hash[:layout.HashLen],
						layout.MetaSource:    "a",
					}
					for name, v := range want {
						if at.Meta[name] != v {
							t.Errorf("attribute %s = %q; want %q", name, at.Meta[name], v)
						}
					}
					// The EPT is on the REaP grid: exactly K*D*T for video, within
					// one AAC frame after it for audio.
					off := int64(info.EPT) - k*int64(segDurOf(rep))
					if rep == simulate.VideoRep && off != 0 || rep == simulate.AudioRep && (off < 0 || off >= 1024) {
						t.Errorf("EPT %d is %d ticks from K*D", info.EPT, off)
					}
					seg, ok := e.Segment(t, rep, k)
					if !ok {
						t.Fatal("no index row")
					}
					wantSeg := index.Segment{TrackID: tr.ID, K: k, EPT: info.EPT, Duration: info.Duration, Size: int64(len(data)),
						SHA256: sha(data), Key: key, InitID: inits[0].ID, SourceID: e.source(t, "a").ID, ReceivedAt: seg.ReceivedAt}
					if seg != wantSeg {
						t.Errorf("index row %+v\nwant %+v", seg, wantSeg)
					}
					if inits[0].FirstK != k {
						t.Errorf("init FirstK %d; want %d", inits[0].FirstK, k)
					}
					ds := e.deliveries(t, rep, k)
					if len(ds) != 1 || ds[0].Outcome != index.Stored || !ds[0].Identical || !ds[0].TimingEqual {
						t.Errorf("deliveries %+v; want one identical stored", ds)
					}
					if n := len(e.mediaKeys(t, rep)); n != 1 {
						t.Errorf("%d media objects; want 1", n)
					}
				})
			}
		}
	})
}

// TestOfferSegmentDedup: a second delivery of the same (rep, K) is never
// stored; it is a duplicate (bit-identical or merely interchangeable) or,
// with different timing, a conflict that records both timings.
func TestOfferSegmentDedup(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		cases := []struct {
			name          string
			second        simulate.Options
			want          index.Outcome
			identical     bool
			timingEqual   bool
			sameSHA256Key bool
		}{
			{name: "same bytes", second: simulate.Options{}, want: index.Duplicate, identical: true, timingEqual: true},
			{name: "variant 1", second: simulate.Options{Variant: 1}, want: index.Duplicate, timingEqual: true},
			{name: "variant 7", second: simulate.Options{Variant: 7}, want: index.Duplicate, timingEqual: true},
			{name: "timing skew +900", second: simulate.Options{TimingSkew: 900}, want: index.Conflict},
			{name: "timing skew -1", second: simulate.Options{TimingSkew: -1}, want: index.Conflict},
		}
		for _, tc := range cases {
			for _, rep := range reps {
				t.Run(tc.name+"/"+rep, func(t *testing.T) {
					t.Parallel()
					e := newEnvOn(t, kind)
					a, b := testenv.NewSim(t, simulate.Options{}), testenv.NewSim(t, tc.second)
					e.OfferInits(t, "a", a)
					e.OfferInits(t, "b", b)
					k := k0 + 2
					first := testenv.MustSeg(t, a, rep, k)
					e.Offer(t, "a", a, rep, k)
					before, _ := e.Segment(t, rep, k)

					second := testenv.MustSeg(t, b, rep, k)
					if tc.identical != bytes.Equal(first, second) {
						t.Fatalf("fixture: bytes equal = %v", !tc.identical)
					}
					res := e.Offer(t, "b", b, rep, k)
					if res.Outcome != tc.want || res.K != k || res.Key != mediaKey(rep, k) {
						t.Fatalf("result %+v; want %s", res, tc.want)
					}
					if keys := e.mediaKeys(t, rep); len(keys) != 1 {
						t.Fatalf("media objects %v; want one", keys)
					}
					if got := e.Get(t, mediaKey(rep, k)); !bytes.Equal(got, first) {
						t.Fatal("the stored object changed")
					}
					if after, _ := e.Segment(t, rep, k); after != before {
						t.Fatalf("index row changed: %+v -> %+v", before, after)
					}
					ds := e.deliveries(t, rep, k)
					if len(ds) != 2 || ds[0].Outcome != index.Stored || ds[1].Outcome != tc.want {
						t.Fatalf("deliveries %v; want [stored %s]", outcomes(ds), tc.want)
					}
					d := ds[1]
					if d.SourceID != e.source(t, "b").ID || d.Identical != tc.identical || d.TimingEqual != tc.timingEqual || d.SHA256 != sha(second) {
						t.Errorf("delivery %+v; want identical=%v timing_equal=%v from b", d, tc.identical, tc.timingEqual)
					}
					if tc.want == index.Conflict {
						info, err := cmaf.ParseSegment(second, nil)
						if err != nil {
							t.Fatal(err)
						}
						for _, ept := range []uint64{before.EPT, info.EPT} {
							if !strings.Contains(d.Detail, strconv.FormatUint(ept, 10)) {
								t.Errorf("conflict detail %q does not name EPT %d", d.Detail, ept)
							}
						}
						if d.EPT != info.EPT || d.EPT == before.EPT {
							t.Errorf("conflict delivery EPT %d; stored %d, delivered %d", d.EPT, before.EPT, info.EPT)
						}
						if res.Detail != d.Detail {
							t.Errorf("result detail %q, delivery detail %q", res.Detail, d.Detail)
						}
					} else if d.Detail != "" {
						t.Errorf("duplicate with detail %q", d.Detail)
					}
				})
			}
		}
	})
}

// TestOfferSegmentInvalid: what is not a valid segment of the track, or not
// the segment that was asked for, is rejected: ErrInvalid, nothing stored, a
// rejected delivery.
func TestOfferSegmentInvalid(t *testing.T) {
	t.Parallel()
	sim := testenv.NewSim(t, simulate.Options{})
	k := k0 + 1
	good := testenv.MustSeg(t, sim, simulate.VideoRep, k)
	cases := []struct {
		name    string
		rep     string
		data    []byte
		noInits bool
		detail  string // substring of the delivery detail
	}{
		{name: "html error page", rep: simulate.VideoRep, data: []byte("<html><body>502 Bad Gateway</body></html>\n"), detail: ""},
		{name: "binary garbage", rep: simulate.VideoRep, data: []byte{0, 0, 0, 16, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8}, detail: "not a top-level ISOBMFF box"},
		{name: "empty", rep: simulate.VideoRep, data: []byte{}, detail: "empty"},
		{name: "truncated", rep: simulate.VideoRep, data: good[:len(good)-100], detail: "truncated"},
		{name: "truncated header", rep: simulate.VideoRep, data: good[:5], detail: ""},
		{name: "moof without mdat", rep: simulate.VideoRep, data: good[:bytes.Index(good, []byte("mdat"))-4], detail: "mdat"},
		{name: "init as segment", rep: simulate.VideoRep, data: testenv.MustInit(t, sim, simulate.VideoRep), detail: "init"},
		{name: "EPT is K+1", rep: simulate.VideoRep, data: testenv.MustSeg(t, sim, simulate.VideoRep, k+1), detail: "requested as " + strconv.FormatInt(k, 10)},
		{name: "EPT is K-1", rep: simulate.AudioRep, data: testenv.MustSeg(t, sim, simulate.AudioRep, k-1), detail: "requested as " + strconv.FormatInt(k, 10)},
		{name: "audio bytes as video", rep: simulate.VideoRep, data: testenv.MustSeg(t, sim, simulate.AudioRep, k), detail: ""},
		{name: "before any init", rep: simulate.VideoRep, data: good, noInits: true, detail: "no init"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if !tc.noInits {
				e.OfferInits(t, "a", sim)
			}
			res, err := e.ch.OfferSegment(context.Background(), archive.Offer{Source: "b", Rep: tc.rep, Data: tc.data, ExpectK: k})
			if !errors.Is(err, archive.ErrInvalid) {
				t.Fatalf("err = %v; want ErrInvalid", err)
			}
			if res.Outcome != index.Rejected {
				t.Errorf("outcome %q; want rejected", res.Outcome)
			}
			for _, rep := range reps {
				if keys := e.mediaKeys(t, rep); len(keys) != 0 {
					t.Errorf("objects stored: %v", keys)
				}
			}
			for _, kk := range []int64{k - 1, k, k + 1} {
				if _, ok := e.Segment(t, tc.rep, kk); ok {
					t.Errorf("segment %d indexed", kk)
				}
			}
			ds := e.deliveries(t, tc.rep, k)
			if len(ds) != 1 || ds[0].Outcome != index.Rejected || ds[0].SourceID != e.source(t, "b").ID || ds[0].Detail == "" {
				t.Fatalf("deliveries %+v; want one rejected from b with a detail", ds)
			}
			if !strings.Contains(ds[0].Detail, tc.detail) {
				t.Errorf("detail %q does not say %q", ds[0].Detail, tc.detail)
			}
			if ds[0].Size != int64(len(tc.data)) {
				t.Errorf("rejected delivery size %d; want %d", ds[0].Size, len(tc.data))
			}
			// The track still takes the valid segment afterwards.
			if !tc.noInits {
				if res := e.Offer(t, "a", sim, simulate.VideoRep, k); res.Outcome != index.Stored {
					t.Errorf("valid segment after a rejected one: %s", res.Outcome)
				}
			}
		})
	}
}

// TestOfferSegmentPushWithoutExpectK: with ExpectK -1 (push) identity comes
// from the bytes, and an invalid body is rejected without a delivery row (no
// K to attach it to).
func TestOfferSegmentPushWithoutExpectK(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.OfferInits(t, "a", sim)
	res, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: simulate.AudioRep, Data: testenv.MustSeg(t, sim, simulate.AudioRep, k0+5), ExpectK: -1})
	if err != nil || res.Outcome != index.Stored || res.K != k0+5 {
		t.Fatalf("push offer: %+v, %v; want stored K %d", res, err, k0+5)
	}
	if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: simulate.AudioRep, Data: []byte("junk junk"), ExpectK: -1}); !errors.Is(err, archive.ErrInvalid) {
		t.Fatalf("err = %v; want ErrInvalid", err)
	}
}

// TestOfferInit: init segments are stored once by content; a different
// codec configuration is refused (strict) or starts a new init version.
func TestOfferInit(t *testing.T) {
	t.Parallel()
	sim := testenv.NewSim(t, simulate.Options{})
	orig := testenv.MustInit(t, sim, simulate.VideoRep)
	changed := testenv.ModifiedVideoInit(t, orig)
	oi, err1 := cmaf.ParseInit(orig)
	ci, err2 := cmaf.ParseInit(changed)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if oi.ConfigHash == ci.ConfigHash {
		t.Fatal("fixture: the modified init has the same codec configuration")
	}
	origKey := layout.InitKey(testChannel, simulate.VideoRep, oi.SHA256)
	newKey := layout.InitKey(testChannel, simulate.VideoRep, ci.SHA256)

	t.Run("same bytes twice", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t)
		for i, src := range []string{"a", "b", "a"} {
			res, err := e.ch.OfferInit(ctx, src, simulate.VideoRep, orig, true)
			if err != nil {
				t.Fatal(err)
			}
			if res.Key != origKey || res.New != (i == 0) || res.Changed {
				t.Errorf("offer %d: %+v; want key %s, new=%v", i, res, origKey, i == 0)
			}
		}
		if keys := e.InitKeys(t, simulate.VideoRep); len(keys) != 1 || keys[0] != origKey {
			t.Errorf("init objects %v; want [%s]", keys, origKey)
		}
		at, err := e.store.Attributes(ctx, origKey)
		if err != nil || at.Meta[layout.MetaSource] != "a" {
			t.Errorf("init attributes %v, %v; want reap-source a", at.Meta, err)
		}
		inits, err := e.db.Inits(ctx, e.Track(t, simulate.VideoRep).ID)
		if err != nil || len(inits) != 1 {
			t.Errorf("inits %+v, %v; want one", inits, err)
		}
		tr := e.Track(t, simulate.VideoRep)
		if tr.ContentType != "video" || tr.Timescale != 90000 || tr.SegDur != videoSegDur || tr.Ext != "m4s" || tr.Width != 640 || tr.Height != 360 || tr.Codecs == "" {
			t.Errorf("track row %+v", tr)
		}
	})

	t.Run("strict mismatch", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t)
		if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, orig, true); err != nil {
			t.Fatal(err)
		}
		_, err := e.ch.OfferInit(ctx, "b", simulate.VideoRep, changed, true)
		if !errors.Is(err, archive.ErrInitMismatch) {
			t.Fatalf("err = %v; want ErrInitMismatch", err)
		}
		if keys := e.InitKeys(t, simulate.VideoRep); len(keys) != 1 || keys[0] != origKey {
			t.Errorf("init objects %v; want only %s", keys, origKey)
		}
		// Source b has no init of its own: its segments decode with the track's.
		if res := e.Offer(t, "b", sim, simulate.VideoRep, k0); res.Outcome != index.Stored {
			t.Errorf("segment from b: %s", res.Outcome)
		}
	})

	t.Run("audio init for the video track", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t)
		if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, orig, false); err != nil {
			t.Fatal(err)
		}
		if _, err := e.ch.OfferInit(ctx, "b", simulate.VideoRep, testenv.MustInit(t, sim, simulate.AudioRep), false); !errors.Is(err, archive.ErrInitMismatch) {
			t.Fatalf("err = %v; want ErrInitMismatch", err)
		}
	})

	t.Run("invalid init", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t)
		for _, data := range [][]byte{nil, []byte("not an init"), testenv.MustSeg(t, sim, simulate.VideoRep, k0), orig[:len(orig)/2]} {
			if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, data, false); !errors.Is(err, archive.ErrInvalid) {
				t.Errorf("%d bytes: err = %v; want ErrInvalid", len(data), err)
			}
		}
		if keys := e.Keys(t, testChannel+"/"); len(keys) != 0 {
			t.Errorf("objects %v", keys)
		}
	})

	t.Run("new version", func(t *testing.T) {
		t.Parallel()
		ctx := context.Background()
		e := newEnv(t)
		if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, orig, false); err != nil {
			t.Fatal(err)
		}
		e.Offer(t, "a", sim, simulate.VideoRep, k0)
		res, err := e.ch.OfferInit(ctx, "b", simulate.VideoRep, changed, false)
		if err != nil {
			t.Fatal(err)
		}
		if !res.New || !res.Changed || res.Key != newKey {
			t.Errorf("result %+v; want a new, changed init at %s", res, newKey)
		}
		keys := e.InitKeys(t, simulate.VideoRep)
		if len(keys) != 2 || !strings.Contains(strings.Join(keys, " "), origKey) || !strings.Contains(strings.Join(keys, " "), newKey) {
			t.Errorf("init objects %v; want %s and %s", keys, origKey, newKey)
		}
		if !bytes.Equal(e.Get(t, origKey), orig) || !bytes.Equal(e.Get(t, newKey), changed) {
			t.Error("init objects do not hold their init segments")
		}
		inits, err := e.db.Inits(ctx, e.Track(t, simulate.VideoRep).ID)
		if err != nil || len(inits) != 2 {
			t.Fatalf("inits %+v, %v; want two", inits, err)
		}
		// b's segments now decode with, and name, the new init; a's the old.
		e.Offer(t, "b", sim, simulate.VideoRep, k0+1)
		e.Offer(t, "a", sim, simulate.VideoRep, k0+2)
		if inits, err = e.db.Inits(ctx, e.Track(t, simulate.VideoRep).ID); err != nil {
			t.Fatal(err)
		}
		byHash := map[string]index.Init{}
		for _, in := range inits {
			byHash[in.Hash] = in
		}
		for k, want := range map[int64]string{k0: oi.SHA256, k0 + 1: ci.SHA256, k0 + 2: oi.SHA256} {
			seg, ok := e.Segment(t, simulate.VideoRep, k)
			if !ok || seg.InitID != byHash[want].ID {
				t.Errorf("segment %d: init %d; want %d", k, seg.InitID, byHash[want].ID)
			}
			at, err := e.store.Attributes(ctx, mediaKey(simulate.VideoRep, k))
			if err != nil || at.Meta[layout.MetaInit] != want[:layout.HashLen] {
				t.Errorf("segment %d: reap-init %q, %v; want %s", k, at.Meta[layout.MetaInit], err, want[:layout.HashLen])
			}
		}
		if got := byHash[ci.SHA256].FirstK; got != k0+1 {
			t.Errorf("new init FirstK %d; want %d", got, k0+1)
		}
		// A fresh Channel (a restarted recorder) loads both versions.
		ch2, err := e.a.OpenChannel(ctx, testChannel, segD)
		if err != nil {
			t.Fatal(err)
		}
		if res, err := ch2.OfferInit(ctx, "c", simulate.VideoRep, changed, true); err != nil || res.New {
			t.Errorf("known init after reopen: %+v, %v", res, err)
		}
	})
}

// TestOfferSegmentConcurrent: 32 sources offering the same (rep, K) at once
// store it exactly once.
func TestOfferSegmentConcurrent(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		for _, rep := range reps {
			t.Run(rep, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				e := newEnvOn(t, kind)
				sims := []*simulate.Server{testenv.NewSim(t, simulate.Options{}), testenv.NewSim(t, simulate.Options{Variant: 1}), testenv.NewSim(t, simulate.Options{Variant: 2})}
				const n = 32
				k := k0 + 7
				start := make(chan struct{})
				results := make([]archive.Result, n)
				errs := make([]error, n)
				var wg sync.WaitGroup
				for i := range n {
					src := fmt.Sprintf("enc%02d", i)
					sim := sims[i%len(sims)]
					init, data := testenv.MustInit(t, sim, rep), testenv.MustSeg(t, sim, rep, k)
					wg.Add(1)
					go func() {
						defer wg.Done()
						<-start
						if _, err := e.ch.OfferInit(ctx, src, rep, init, true); err != nil {
							errs[i] = err
							return
						}
						results[i], errs[i] = e.ch.OfferSegment(ctx, archive.Offer{Source: src, Rep: rep, Data: data, ExpectK: k})
					}()
				}
				close(start)
				wg.Wait()
				count := map[index.Outcome]int{}
				for i := range n {
					if errs[i] != nil {
						t.Fatalf("source %d: %v", i, errs[i])
					}
					count[results[i].Outcome]++
				}
				if count[index.Stored] != 1 || count[index.Duplicate] != n-1 {
					t.Fatalf("outcomes %v; want 1 stored, %d duplicates", count, n-1)
				}
				if keys := e.mediaKeys(t, rep); len(keys) != 1 {
					t.Fatalf("media objects %v; want one", keys)
				}
				if keys := e.InitKeys(t, rep); len(keys) != 1 {
					t.Fatalf("init objects %v; want one", keys)
				}
				seg, ok := e.Segment(t, rep, k)
				if !ok {
					t.Fatal("not indexed")
				}
				if got := e.Get(t, seg.Key); sha(got) != seg.SHA256 || int64(len(got)) != seg.Size {
					t.Fatal("index row does not describe the stored object")
				}
				ds := e.deliveries(t, rep, k)
				if len(ds) != n {
					t.Fatalf("%d deliveries; want %d", len(ds), n)
				}
				identical := 0
				for _, d := range ds {
					if d.Outcome == index.Stored && d.SourceID != seg.SourceID {
						t.Errorf("stored delivery from source %d, row names %d", d.SourceID, seg.SourceID)
					}
					if d.Outcome == index.Duplicate && d.Identical {
						identical++
					}
					if d.Identical != (d.SHA256 == seg.SHA256) {
						t.Errorf("delivery %+v: identical flag wrong", d)
					}
				}
				// Sources with the winner's variant are bit-identical duplicates.
				if identical < n/len(sims)-1 {
					t.Errorf("%d identical duplicates", identical)
				}
			})
		}
	})
}

// TestOfferSegmentExistingObject: an object another recorder stored (absent
// from this index) is never overwritten; the offer indexes it from its
// attributes (or its bytes) and counts itself as a duplicate or conflict.
func TestOfferSegmentExistingObject(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		cases := []struct {
			name      string
			winner    simulate.Options // what the other recorder stored
			meta      bool             // written with the reap-* attributes
			want      index.Outcome
			identical bool
		}{
			{name: "other variant with attributes", winner: simulate.Options{Variant: 1}, meta: true, want: index.Duplicate},
			{name: "other variant without attributes", winner: simulate.Options{Variant: 1}, want: index.Duplicate},
			{name: "same bytes with attributes", winner: simulate.Options{}, meta: true, want: index.Duplicate, identical: true},
			{name: "same bytes without attributes", winner: simulate.Options{}, want: index.Duplicate, identical: true},
			{name: "other timing with attributes", winner: simulate.Options{TimingSkew: 450}, meta: true, want: index.Conflict},
			{name: "other timing without attributes", winner: simulate.Options{TimingSkew: 450}, want: index.Conflict},
		}
		for _, tc := range cases {
			for _, rep := range reps {
				t.Run(tc.name+"/"+rep, func(t *testing.T) {
					t.Parallel()
					ctx := context.Background()
					e := newEnvOn(t, kind)
					mine, other := testenv.NewSim(t, simulate.Options{}), testenv.NewSim(t, tc.winner)
					e.OfferInits(t, "a", mine)
					k := k0 + 3
					key := mediaKey(rep, k)
					theirs := testenv.MustSeg(t, other, rep, k)
					info, err := cmaf.ParseSegment(theirs, nil)
					if err != nil {
						t.Fatal(err)
					}
					var meta map[string]string
					if tc.meta {
						meta = map[string]string{
							layout.MetaEPT: strconv.FormatUint(info.EPT, 10), layout.MetaDuration: strconv.FormatUint(info.Duration, 10),
							layout.MetaSHA256: info.SHA256, layout.MetaSource: "other-recorder",
						}
					}
					if err := e.store.Create(ctx, key, theirs, meta); err != nil {
						t.Fatal(err)
					}
					res := e.Offer(t, "a", mine, rep, k)
					if res.Outcome != tc.want {
						t.Fatalf("outcome %s; want %s", res.Outcome, tc.want)
					}
					if got := e.Get(t, key); !bytes.Equal(got, theirs) {
						t.Fatal("the existing object was overwritten")
					}
					if keys := e.mediaKeys(t, rep); len(keys) != 1 {
						t.Fatalf("media objects %v", keys)
					}
					seg, ok := e.Segment(t, rep, k)
					if !ok {
						t.Fatal("the existing object was not indexed")
					}
					if seg.SHA256 != sha(theirs) || seg.Size != int64(len(theirs)) || seg.EPT != info.EPT || seg.Duration != info.Duration || seg.Key != key {
						t.Errorf("index row %+v does not describe the stored object (EPT %d, %d bytes)", seg, info.EPT, len(theirs))
					}
					if seg.SourceID != 0 {
						t.Errorf("row names source %d; the stored copy is not this recorder's", seg.SourceID)
					}
					ds := e.deliveries(t, rep, k)
					if len(ds) != 1 || ds[0].Outcome != tc.want || ds[0].Identical != tc.identical || ds[0].SourceID != e.source(t, "a").ID {
						t.Fatalf("deliveries %+v; want one %s (identical=%v) from a", ds, tc.want, tc.identical)
					}
					// Later deliveries compare with the stored object.
					res = e.Offer(t, "b", other, rep, k)
					if res.Outcome != index.Duplicate {
						t.Errorf("winner's bytes from b: %s; want duplicate", res.Outcome)
					}
					if ds := e.deliveries(t, rep, k); len(ds) != 2 || !ds[1].Identical {
						t.Errorf("deliveries %+v", ds)
					}
				})
			}
		}
	})
}

// TestRecordMissing: a source that never delivered K gets a missing
// delivery; nothing is stored or indexed as a segment.
func TestRecordMissing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.OfferInits(t, "a", sim)
	e.Offer(t, "a", sim, simulate.VideoRep, k0)
	if err := e.ch.RecordMissing(ctx, "b", simulate.VideoRep, k0, "GET …/video/888000000.m4s: 404 Not Found"); err != nil {
		t.Fatal(err)
	}
	if err := e.ch.RecordMissing(ctx, "b", simulate.VideoRep, k0+1, "timeout"); err != nil {
		t.Fatal(err)
	}
	if err := e.ch.RecordMissing(ctx, "bad/name", simulate.VideoRep, k0+1, ""); err == nil {
		t.Error("RecordMissing accepted an invalid source name")
	}
	ds := e.deliveries(t, simulate.VideoRep, k0)
	if len(ds) != 2 || ds[1].Outcome != index.Missing || ds[1].SourceID != e.source(t, "b").ID || !strings.Contains(ds[1].Detail, "404") {
		t.Fatalf("deliveries %+v", ds)
	}
	if _, ok := e.Segment(t, simulate.VideoRep, k0+1); ok {
		t.Error("missing segment indexed")
	}
	if keys := e.mediaKeys(t, simulate.VideoRep); len(keys) != 1 {
		t.Errorf("media objects %v", keys)
	}
	rep, err := e.a.Status(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range rep.Channels[0].Tracks {
		if ts.Rep != simulate.VideoRep {
			continue
		}
		for _, s := range ts.Sources {
			if s.Name == "b" && s.Missing != 2 {
				t.Errorf("source b: %+v; want 2 missing", s)
			}
		}
	}
}

func TestEpochIndex(t *testing.T) {
	t.Parallel()
	const frame = 1024 // AAC frame at 48 kHz
	cases := []struct {
		name   string
		ept    uint64
		segDur uint64
		want   int64
	}{
		{"zero", 0, videoSegDur, 0},
		{"video on the grid", uint64(k0) * videoSegDur, videoSegDur, k0},
		{"video one tick late", uint64(k0)*videoSegDur + 1, videoSegDur, k0},
		{"video one tick early", uint64(k0)*videoSegDur - 1, videoSegDur, k0},
		{"video just under half", uint64(k0)*videoSegDur + videoSegDur/2 - 1, videoSegDur, k0},
		{"video half rounds up", uint64(k0)*videoSegDur + videoSegDur/2, videoSegDur, k0 + 1},
		{"video half early", uint64(k0)*videoSegDur - videoSegDur/2, videoSegDur, k0},
		{"video just over half early", uint64(k0)*videoSegDur - videoSegDur/2 - 1, videoSegDur, k0 - 1},
		{"audio on the grid", uint64(k0) * audioSegDur, audioSegDur, k0},
		{"audio one frame late", uint64(k0)*audioSegDur + frame, audioSegDur, k0},
		{"audio one frame early", uint64(k0)*audioSegDur - frame, audioSegDur, k0},
		{"audio constrained (K=1: 1024*94)", 94 * frame, audioSegDur, 1},
		{"audio constrained (K=3: 1024*282)", 282 * frame, audioSegDur, 3},
		{"audio 1 ms timescale", 1_776_000_000_000 + 21, 2000, k0},
		{"2100 at 90 kHz", uint64(2_000_000_000) * videoSegDur, videoSegDur, 2_000_000_000},
		{"odd segment duration", 7, 3, 2},
		{"unknown segment duration", 12345, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := archive.EpochIndex(tc.ept, tc.segDur); got != tc.want {
				t.Errorf("EpochIndex(%d, %d) = %d; want %d", tc.ept, tc.segDur, got, tc.want)
			}
		})
	}
	// The simulator's audio sits within one frame of K*D, for every phase
	// of the 2 s / 1024-sample pattern (it repeats every 8 s).
	sim := testenv.NewSim(t, simulate.Options{})
	for k := k0; k < k0+8; k++ {
		info, err := cmaf.ParseSegment(testenv.MustSeg(t, sim, simulate.AudioRep, k), nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := archive.EpochIndex(info.EPT, audioSegDur); got != k {
			t.Errorf("audio segment %d (EPT %d, %+d ticks off the grid): K = %d", k, info.EPT, int64(info.EPT)-k*audioSegDur, got)
		}
		if d := info.Duration; d != 93*frame && d != 94*frame {
			t.Errorf("audio segment %d lasts %d ticks; want 93 or 94 frames", k, d)
		}
	}
}

func TestKTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		k     int64
		track index.Track
		want  string
	}{
		{k0, index.Track{Timescale: 90000, SegDur: videoSegDur}, time.Unix(k0*2, 0).UTC().Format(time.RFC3339Nano)},
		{k0, index.Track{Timescale: 48000, SegDur: audioSegDur}, time.Unix(k0*2, 0).UTC().Format(time.RFC3339Nano)},
		{3, index.Track{Timescale: 30000, SegDur: 60060}, "1970-01-01T00:00:06.006Z"},
		{5, index.Track{Timescale: 1000, SegDur: 1920}, "1970-01-01T00:00:09.6Z"},
		{7, index.Track{}, "1970-01-01T00:00:00Z"},
	}
	for _, tc := range cases {
		if got := tc.track.KTime(tc.k).Format(time.RFC3339Nano); got != tc.want {
			t.Errorf("KTime(%d, %d/%d) = %s; want %s", tc.k, tc.track.SegDur, tc.track.Timescale, got, tc.want)
		}
	}
	if d := (index.Track{Timescale: 48000, SegDur: audioSegDur}).SegmentDuration(); d != segD {
		t.Errorf("SegmentDuration = %v", d)
	}
}

// TestStatus: first/last K and their K*D times, segment counts, gaps and
// per-source delivery counts.
func TestStatus(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	a, b := testenv.NewSim(t, simulate.Options{}), testenv.NewSim(t, simulate.Options{Variant: 1})
	skew := testenv.NewSim(t, simulate.Options{TimingSkew: 90})
	e.OfferInits(t, "a", a)
	e.OfferInits(t, "b", b)
	// video: K0..K0+9 from a but K0+2 and K0+5..K0+6 (gaps); b duplicates K0
	// and K0+1, conflicts at K0+3, is missing K0+2, and sends junk for K0+4.
	for k := k0; k < k0+10; k++ {
		if k == k0+2 || k == k0+5 || k == k0+6 {
			continue
		}
		e.Offer(t, "a", a, simulate.VideoRep, k)
	}
	e.Offer(t, "b", b, simulate.VideoRep, k0)
	e.Offer(t, "b", a, simulate.VideoRep, k0+1) // bit-identical
	e.Offer(t, "b", skew, simulate.VideoRep, k0+3)
	if err := e.ch.RecordMissing(ctx, "b", simulate.VideoRep, k0+2, "timeout"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ch.OfferSegment(ctx, archive.Offer{Source: "b", Rep: simulate.VideoRep, Data: []byte("junk"), ExpectK: k0 + 4}); !errors.Is(err, archive.ErrInvalid) {
		t.Fatal(err)
	}
	// audio: K0+1..K0+4, all from b.
	for k := k0 + 1; k <= k0+4; k++ {
		e.Offer(t, "b", b, simulate.AudioRep, k)
	}

	rep, err := e.a.Status(ctx, testChannel)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Channels) != 1 || rep.Channels[0].Name != testChannel || len(rep.Channels[0].Tracks) != 2 {
		t.Fatalf("report %+v", rep)
	}
	kt := func(k int64) string { return time.Unix(k*2, 0).UTC().Format(time.RFC3339) }
	video, audio := rep.Channels[0].Tracks[0], rep.Channels[0].Tracks[1]
	wantVideo := archive.TrackStatus{Rep: "video", ContentType: "video", Codecs: video.Codecs, First: k0, Last: k0 + 9,
		FirstTime: kt(k0), LastTime: kt(k0 + 9), EndTime: kt(k0 + 10), Segments: 7, ArchiveStart: kt(k0),
		Gaps:       []index.Range{{From: k0 + 2, To: k0 + 2}, {From: k0 + 5, To: k0 + 6}},
		Duplicates: 2, Conflicts: 1,
		Sources: []archive.SourceStatus{
			{Name: "a", Stored: 7},
			{Name: "b", Duplicates: 2, Identical: 1, Conflicts: 1, Missing: 1, Rejected: 1},
		}}
	wantAudio := archive.TrackStatus{Rep: "audio", ContentType: "audio", Codecs: audio.Codecs, First: k0 + 1, Last: k0 + 4,
		FirstTime: kt(k0 + 1), LastTime: kt(k0 + 4), EndTime: kt(k0 + 5), Segments: 4, Gaps: []index.Range{}, ArchiveStart: kt(k0 + 1),
		Sources: []archive.SourceStatus{{Name: "a"}, {Name: "b", Stored: 4}}}
	for _, c := range []struct{ got, want archive.TrackStatus }{{video, wantVideo}, {audio, wantAudio}} {
		g, _ := json.Marshal(c.got)
		w, _ := json.Marshal(c.want)
		if !bytes.Equal(g, w) {
			t.Errorf("track status\n got %s\nwant %s", g, w)
		}
	}
	if !strings.HasPrefix(video.Codecs, "avc1.") || !strings.HasPrefix(audio.Codecs, "mp4a.40.") {
		t.Errorf("codecs %q, %q", video.Codecs, audio.Codecs)
	}
	if video.FirstTime != "2026-04-12T13:20:00Z" {
		t.Errorf("first_time %s", video.FirstTime)
	}
	// JSON shape of `status --json`: gaps is a list, never null.
	body, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`"gaps":[]`, `"first_time":"` + kt(k0+1) + `"`, `"gaps":[{"from":888000002,"to":888000002},{"from":888000005,"to":888000006}]`} {
		if !bytes.Contains(body, []byte(s)) {
			t.Errorf("status JSON lacks %s:\n%s", s, body)
		}
	}

	// All channels; an unknown channel; a channel with a track but no segments.
	all, err := e.a.Status(ctx, "")
	if err != nil || len(all.Channels) != 1 {
		t.Errorf("Status(all) = %+v, %v", all, err)
	}
	if _, err := e.a.Status(ctx, "nope"); !errors.Is(err, index.ErrNotFound) {
		t.Errorf("unknown channel: %v", err)
	}
	ch2, err := e.a.OpenChannel(ctx, "empty", segD)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ch2.OfferInit(ctx, "a", simulate.VideoRep, testenv.MustInit(t, a, simulate.VideoRep), false); err != nil {
		t.Fatal(err)
	}
	er, err := e.a.Status(ctx, "empty")
	if err != nil {
		t.Fatal(err)
	}
	if ts := er.Channels[0].Tracks[0]; ts.Segments != 0 || ts.First != -1 || ts.FirstTime != "" || ts.Gaps == nil {
		t.Errorf("empty track status %+v", ts)
	}
}

// TestOfferInitStrictAfterChange: once a track has a new init version, a
// strict (push) offer of an init with the track's current codec
// configuration is accepted, whatever older versions the track had.
func TestOfferInitStrictAfterChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	orig := testenv.MustInit(t, sim, simulate.VideoRep)
	changed := testenv.ModifiedVideoInit(t, orig)
	if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, orig, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.ch.OfferInit(ctx, "a", simulate.VideoRep, changed, false); err != nil {
		t.Fatal(err)
	}
	same := testenv.WithCreationTime(t, changed, 3_900_000_000)
	if _, err := e.ch.OfferInit(ctx, "c", simulate.VideoRep, same, true); err != nil {
		t.Errorf("strict offer of the current configuration (other bytes): %v", err)
	}
}

// TestOfferSegmentTwoRecordersOneIndex: two recorders (two Archive values)
// on one store and one index, racing for the same segments: exactly one
// delivery per K is stored and none fails.
func TestOfferSegmentTwoRecordersOneIndex(t *testing.T) {
	t.Parallel()
	testenv.ForEachStore(t, func(t *testing.T, kind testenv.StoreKind) {
		ctx := context.Background()
		e := newEnvOn(t, kind)
		sim := testenv.NewSim(t, simulate.Options{})
		a2 := archive.New(e.store, e.db, nil)
		ch2, err := a2.OpenChannel(ctx, testChannel, segD)
		if err != nil {
			t.Fatal(err)
		}
		e.OfferInits(t, "a", sim)
		if _, err := ch2.OfferInit(ctx, "b", simulate.VideoRep, testenv.MustInit(t, sim, simulate.VideoRep), false); err != nil {
			t.Fatal(err)
		}
		for k := k0; k < k0+20; k++ {
			data := testenv.MustSeg(t, sim, simulate.VideoRep, k)
			var wg sync.WaitGroup
			results := make([]archive.Result, 8)
			errs := make([]error, 8)
			for i := range 8 {
				ch, src := e.ch, "a"+strconv.Itoa(i)
				if i%2 == 1 {
					ch, src = ch2, "b"+strconv.Itoa(i)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = ch.OfferSegment(ctx, archive.Offer{Source: src, Rep: simulate.VideoRep, Data: data, ExpectK: k})
				}()
			}
			wg.Wait()
			stored := 0
			for i := range 8 {
				if errs[i] != nil {
					t.Errorf("K %d: %v", k, errs[i])
				}
				if results[i].Outcome == index.Stored {
					stored++
				}
			}
			if stored != 1 {
				t.Errorf("K %d: %d stored deliveries; want 1", k, stored)
			}
		}
	})
}
