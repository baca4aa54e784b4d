package origin_test

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/hls-m3u8/m3u8"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestLiveHLSNumbersNeverChange plays the live and start-over HLS media
// playlists of a channel while it is recorded, the window sliding over two
// gaps both encoders lost (gapK, and one more while it plays): every
// segment keeps its media sequence number (EXT-X-MEDIA-SEQUENCE plus its
// place) and its discontinuity sequence number (EXT-X-DISCONTINUITY-
// SEQUENCE plus the EXT-X-DISCONTINUITY tags up to it) in every later
// playlist that lists it, neither sequence ever goes back, the live
// window's discontinuity sequence does go up as a discontinuity slides out
// (RFC 8216 6.2.2), and an origin that numbered the earlier playlists
// answers as a new one does.
func TestLiveHLSNumbersNeverChange(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, target string
		minDisc      uint64 // the least EXT-X-DISCONTINUITY-SEQUENCE at the end
	}{
		{"live video", "/ch1/media-" + simulate.VideoRep + ".m3u8", 2},
		{"live audio", "/ch1/media-" + simulate.AudioRep + ".m3u8", 2},
		// From after gapK: its discontinuity numbers are the live ones.
		{"start-over", fmt.Sprintf("/ch1/media-%s~start=%d.m3u8", simulate.VideoRep, kTime(gapK+2).Unix()), 1},
		// Each gap is a Period of fillers and the run after it another.
		{"live video, gaps filled", "/ch1/media-" + simulate.VideoRep + "~gaps=fill.m3u8", 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := recorded(t)
			sim := testenv.NewSim(t, simulate.Options{})
			c := &clock{}
			cfg := originConfig()
			cfg.Window = 24 * time.Second // gapK is in the first window
			fill := strings.Contains(tc.target, "gaps=fill")
			if fill {
				cfg.Slate = testSlate(t)
			}
			s := newServer(t, e, e.DB, c, cfg)
			seen := map[string]string{} // URI: "msn dsn"
			var last *m3u8.MediaPlaylist
			for k := lastK + 1; k <= lastK+18; k++ {
				if k != lastK+4 { // both encoders lose it
					for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
						e.Offer(t, "a", sim, rep, k)
					}
				}
				c.t = kTime(k + 1).Add(origin.DefaultEdgeLag).Add(100 * time.Millisecond)
				body := mustGet(t, s, tc.target)
				if fresh := mustGet(t, newServer(t, e, e.DB, &clock{c.t}, cfg), tc.target); !bytes.Equal(body, fresh) {
					t.Errorf("at K %d: the origin and a new one (no memo) differ:\n%s\n----\n%s", k, body, fresh)
				}
				p := parseMedia(t, body)
				if fill {
					checkFilledMSN(t, p)
				}
				if last != nil && (p.SeqNo < last.SeqNo || p.DiscontinuitySeq < last.DiscontinuitySeq) {
					t.Errorf("at K %d: EXT-X-MEDIA-SEQUENCE %d, EXT-X-DISCONTINUITY-SEQUENCE %d went back from %d, %d",
						k, p.SeqNo, p.DiscontinuitySeq, last.SeqNo, last.DiscontinuitySeq)
				}
				for uri, n := range numbers(p) {
					if was, ok := seen[uri]; ok && was != n {
						t.Errorf("at K %d: %s was msn dsn %s, now %s", k, uri, was, n)
					}
					seen[uri] = n
				}
				last = p
			}
			if last.DiscontinuitySeq < tc.minDisc {
				t.Errorf("EXT-X-DISCONTINUITY-SEQUENCE %d at the end, want at least %d: the window slid past two gaps", last.DiscontinuitySeq, tc.minDisc)
			}
		})
	}
}

// TestLiveHLSDiscontinuityAfterPrune checks the live HLS discontinuity
// sequence when prune deletes the oldest segments: it counts the live
// Periods from the archive's first K every track has, so it stays while
// the start moves within the first run and drops by one when the start
// moves past a gap; an origin that numbered before answers as a new one.
func TestLiveHLSDiscontinuityAfterPrune(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		deleteTo      int64 // the rows of K k0..deleteTo go
		before, after uint64
		msnShift      uint64 // of every segment
		fill          bool   // a late copy fills gapK first
	}{
		{"start within the first run", k0 + 3, 1, 1, 0, false},
		{"start past the gap", gapK, 1, 0, 1, false},
		{"gap filled, start at it", gapK - 1, 1, 0, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := recorded(t)
			cfg := originConfig()
			cfg.Window = 10 * time.Second // gapK slid out
			c := &clock{liveNow}
			s := newServer(t, e, e.DB, c, cfg)
			target := "/ch1/media-" + simulate.VideoRep + ".m3u8"
			was := parseMedia(t, mustGet(t, s, target))
			if was.DiscontinuitySeq != tc.before {
				t.Fatalf("EXT-X-DISCONTINUITY-SEQUENCE %d before prune, want %d", was.DiscontinuitySeq, tc.before)
			}
			for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
				if tc.fill {
					e.Offer(t, "b", testenv.NewSim(t, simulate.Options{}), rep, gapK)
				}
				for k := k0; k <= tc.deleteTo; k++ {
					if k == gapK {
						continue
					}
					if err := e.DB.DeleteSegment(context.Background(), e.Track(t, rep).ID, k); err != nil {
						t.Fatal(err)
					}
				}
			}
			c.t = c.t.Add(time.Second)
			body := mustGet(t, s, target)
			now := parseMedia(t, body)
			if now.DiscontinuitySeq != tc.after {
				t.Errorf("EXT-X-DISCONTINUITY-SEQUENCE %d after prune, want %d", now.DiscontinuitySeq, tc.after)
			}
			after := numbers(now)
			for uri, n := range numbers(was) {
				var msn, dsn uint64
				fmt.Sscanf(n, "%d %d", &msn, &dsn)
				if want := fmt.Sprintf("%d %d", msn+tc.msnShift, dsn+tc.after-tc.before); after[uri] != "" && after[uri] != want {
					t.Errorf("%s: msn dsn %s after prune, want %s", uri, after[uri], want)
				}
			}
			if fresh := mustGet(t, newServer(t, e, e.DB, &clock{c.t}, cfg), target); !bytes.Equal(body, fresh) {
				t.Errorf("after prune the origin and a new one differ:\n%s\n----\n%s", body, fresh)
			}
		})
	}
}

// TestLiveHLSNewTrack checks that the live HLS numbers follow the tracks:
// when a track joins the channel, the Periods are those of the new set of
// tracks (its holes cut them too), counted from the first K every track
// has, by an origin that numbered the old set as by a new one.
func TestLiveHLSNewTrack(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	cfg := originConfig()
	cfg.Window = 10 * time.Second
	c := &clock{liveNow}
	s := newServer(t, e, e.DB, c, cfg)
	target := "/ch1/media-" + simulate.VideoRep + ".m3u8"
	if got := parseMedia(t, mustGet(t, s, target)).DiscontinuitySeq; got != 1 {
		t.Fatalf("EXT-X-DISCONTINUITY-SEQUENCE %d, want 1 (gapK)", got)
	}
	offerWebVTT(t, e, k0+2, lastK, k0+4, gapK) // a hole of its own at k0+4
	c.t = c.t.Add(time.Second)
	body := mustGet(t, s, target)
	if got := parseMedia(t, body).DiscontinuitySeq; got != 2 {
		t.Errorf("EXT-X-DISCONTINUITY-SEQUENCE %d with the text track, want 2 (k0+4, gapK)", got)
	}
	if fresh := mustGet(t, newServer(t, e, e.DB, &clock{c.t}, cfg), target); !bytes.Equal(body, fresh) {
		t.Errorf("with the text track the origin and a new one differ:\n%s\n----\n%s", body, fresh)
	}
}

// parseMedia parses an HLS media playlist.
func parseMedia(tb testing.TB, body []byte) *m3u8.MediaPlaylist {
	tb.Helper()
	pl, lt, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || lt != m3u8.MEDIA {
		tb.Fatalf("not a media playlist (%v):\n%s", err, body)
	}
	return pl.(*m3u8.MediaPlaylist)
}

// numbers is each segment's media and discontinuity sequence numbers, by
// URI.
func numbers(p *m3u8.MediaPlaylist) map[string]string {
	out := map[string]string{}
	disc := p.DiscontinuitySeq
	for i, seg := range p.GetAllSegments() {
		if seg.Discontinuity {
			disc++
		}
		out[seg.URI] = fmt.Sprintf("%d %d", p.SeqNo+uint64(i), disc)
	}
	return out
}

// checkFilledMSN checks that a playlist whose gaps are filled lists every
// K from its first: EXT-X-MEDIA-SEQUENCE is the first entry's K, and each
// entry's media sequence number its K.
func checkFilledMSN(tb testing.TB, p *m3u8.MediaPlaylist) {
	tb.Helper()
	for i, seg := range p.Segments {
		if seg == nil {
			break
		}
		k, err := strconv.ParseInt(strings.TrimSuffix(path.Base(seg.URI), path.Ext(seg.URI)), 10, 64)
		if i := strings.IndexByte(path.Base(seg.URI), '-'); err != nil && i > 0 {
			k, err = strconv.ParseInt(path.Base(seg.URI)[:i], 10, 64) // a filler: <K>-<slate>.m4s
		}
		if err != nil || uint64(k) != p.SeqNo+uint64(i) {
			tb.Errorf("entry %d (%s) has media sequence number %d, not its K", i, seg.URI, p.SeqNo+uint64(i))
			return
		}
	}
}
