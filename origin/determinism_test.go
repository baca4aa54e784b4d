package origin_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/manifest"
	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestDeterministicAcrossOrigins checks that two origins over one archive,
// one over the index the recorder wrote and one over an index rebuilt from
// storage by reindex, answer 20 requests (live at successive seconds and
// catch-up ranges, DASH and HLS) with identical bytes; the second origin is
// new for each request, so neither its cache nor its memo of runs helps.
func TestDeterministicAcrossOrigins(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	db2 := reindexed(t, e)
	c := &clock{}
	cfg := originConfig()
	cfg.Window = 20 * time.Second // the window slides over the gap
	a := newServer(t, e, e.DB, c, cfg)
	var targets []string
	for i := range 10 {
		targets = append(targets, fmt.Sprintf("@%d /ch1/manifest.mpd", i*2))
	}
	for i := range 5 {
		from, to := kTime(k0+int64(i)).Unix(), kTime(k0+int64(10+2*i)).Unix()
		targets = append(targets, fmt.Sprintf("@0 /ch1/manifest.mpd?start=%d&end=%d", from, to),
			fmt.Sprintf("@0 /ch1/media-video~start=%d~end=%d.m3u8", from, to))
	}
	targets = append(targets, "@5 /ch1/master.m3u8", "@7 /ch1/media-audio.m3u8")
	targets = targets[:20]
	for _, tg := range targets {
		var sec int
		var target string
		fmt.Sscanf(tg, "@%d %s", &sec, &target)
		c.t = liveNow.Add(time.Duration(sec)*time.Second + 250*time.Millisecond)
		got1 := mustGet(t, a, target)
		c2 := &clock{c.t.Add(400 * time.Millisecond)} // another host, within the same second
		got2 := mustGet(t, newServer(t, e, db2, c2, cfg), target)
		if !bytes.Equal(got1, got2) {
			t.Errorf("%s at +%ds: the recorder's index and the rebuilt one give different manifests:\n%s\n----\n%s", target, sec, got1, got2)
		}
	}
}

// TestLiveTimelineNeverChanges plays a live channel while it is recorded:
// every segment a live MPD listed stays at the same place (same S@t
// instant, same $Number$ = K, same Period) in every later MPD that still
// covers it, and a segment is listed only once its start is EdgeLag old.
//
// It does so with gaps split (the default: a Period per run) and fill
// (slate fillers over the lost K, a Period of their own).
func TestLiveTimelineNeverChanges(t *testing.T) {
	t.Parallel()
	for _, gaps := range []export.GapMode{export.GapsSplit, export.GapsFill} {
		t.Run(string(gaps), func(t *testing.T) {
			t.Parallel()
			cfg := originConfig()
			cfg.Window = 30 * time.Second
			if gaps == export.GapsFill {
				cfg.Slate, cfg.LiveGaps = testSlate(t), export.GapsFill
			}
			liveTimelineNeverChanges(t, cfg)
		})
	}
}

func liveTimelineNeverChanges(t *testing.T, cfg origin.Config) {
	e := recorded(t)
	sim := testenv.NewSim(t, simulate.Options{})
	c := &clock{}
	s := newServer(t, e, e.DB, c, cfg)
	var prev *manifest.Live
	for k := lastK + 1; k <= lastK+20; k++ {
		if k != lastK+7 { // both encoders lose it
			for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
				e.Offer(t, "a", sim, rep, k)
			}
		}
		// The segment after K is in, but younger than the edge lag.
		if k > lastK+1 {
			for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
				if _, ok := e.Segment(t, rep, k+1); !ok && k+1 != lastK+7 {
					e.Offer(t, "a", sim, rep, k+1)
				}
			}
		}
		c.t = kTime(k + 1).Add(origin.DefaultEdgeLag).Add(100 * time.Millisecond)
		body := mustGet(t, s, "/ch1/manifest.mpd")
		l, err := manifest.ParseLive(body, "http://origin/ch1/manifest.mpd")
		if err != nil {
			t.Fatalf("at K %d: %v\n%s", k, err, body)
		}
		checkLive(t, l, k)
		if cfg.LiveGaps == export.GapsFill {
			checkNoHoles(t, l)
		}
		if prev != nil {
			checkKept(t, prev, l, kTime(k+1).Add(-cfg.Window))
		}
		prev = l
	}
}

// checkLive checks that every entry's $Number$ is its K and that nothing
// after K last (the newest K past the edge lag) is listed.
func checkLive(tb testing.TB, l *manifest.Live, last int64) {
	tb.Helper()
	for _, tr := range l.Tracks {
		for _, pt := range periodsOf(l, tr) {
			for _, en := range pt.Track.Timeline {
				if en.Number != en.K {
					tb.Errorf("%s K %d has $Number$ %d", tr.Rep, en.K, en.Number)
				}
				if en.K > last {
					tb.Errorf("%s K %d listed before it is %s old", tr.Rep, en.K, origin.DefaultEdgeLag)
				}
			}
		}
	}
}

// periodsOf is the track's Periods (of a one-Period MPD: the Period, its
// id from the MPD's text, as ParseLive gives none).
func periodsOf(l *manifest.Live, tr manifest.LiveTrack) []manifest.PeriodTrack {
	if len(tr.Periods) > 0 {
		return tr.Periods
	}
	id := ""
	if m := periodID.FindSubmatch(l.Raw); m != nil {
		id = string(m[1])
	}
	return []manifest.PeriodTrack{{ID: id, Track: tr}}
}

var periodID = regexp.MustCompile(`<Period id="([^"]+)"`)

// checkKept checks that each entry of prev that begins after windowStart
// is in cur, in a Period of the same id, with the same timing and number.
func checkKept(tb testing.TB, prev, cur *manifest.Live, windowStart time.Time) {
	tb.Helper()
	for _, pt := range prev.Tracks {
		ct, ok := cur.Track(pt.Rep)
		if !ok {
			tb.Fatalf("track %s gone", pt.Rep)
		}
		now := map[int64]string{}
		for _, p := range periodsOf(cur, *ct) {
			for _, en := range p.Track.Timeline {
				now[en.K] = fmt.Sprintf("%s t=%d d=%d n=%d", p.ID, en.T, en.D, en.Number)
			}
		}
		for _, p := range periodsOf(prev, pt) {
			for _, en := range p.Track.Timeline {
				if kTime(en.K).Before(windowStart.Add(2 * segD)) {
					continue // slid out of the window
				}
				if want := fmt.Sprintf("%s t=%d d=%d n=%d", p.ID, en.T, en.D, en.Number); now[en.K] != want {
					tb.Errorf("%s K %d was %q, now %q", pt.Rep, en.K, want, now[en.K])
				}
			}
		}
	}
}

// TestCatchUpIsExportVoD checks that a catch-up MPD is byte for byte what
// export-vod writes for the range, apart from the BaseURL, in each gap
// mode and events mode the origin offers.
func TestCatchUpIsExportVoD(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	slate := testSlate(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, origin.Config{Slate: slate})
	x := export.Deps{Store: e.Store, DB: e.DB}
	for i, tc := range []struct {
		from, to int64
		gaps     export.GapMode
		events   export.EventsMode
	}{
		{k0, lastK + 1, export.GapsSignal, export.EventsBoth},
		{k0 + 3, k0 + 16, export.GapsSplit, export.EventsBoth},
		{k0 + 2, k0 + 9, export.GapsSignal, export.EventsInband},
		{k0 + 10, k0 + 15, export.GapsSignal, export.EventsStream},
		{k0 + 4, k0 + 18, export.GapsFill, export.EventsBoth},
	} {
		from, to := kTime(tc.from), kTime(tc.to)
		out := e.StoreURL + fmt.Sprintf("/vod/%d.mpd", i)
		o := export.Options{Channel: channel, From: from, To: to, Out: out, Gaps: tc.gaps, Events: tc.events}
		if tc.gaps == export.GapsFill {
			o.Slate = slateDir(t)
		}
		if _, err := x.VoD(context.Background(), o); err != nil {
			t.Fatal(err)
		}
		want := e.Get(t, fmt.Sprintf("vod/%d.mpd", i))
		target := fmt.Sprintf("/ch1/manifest.mpd?start=%s&end=%s&gaps=%s&events=%s", from.Format(time.RFC3339), to.Format(time.RFC3339), tc.gaps, tc.events)
		got := mustGet(t, s, target)
		if a, b := withoutBaseURL(got), withoutBaseURL(want); a != b {
			t.Errorf("%s differs from export-vod's %s:\n%s\n----\n%s", target, filepath.Base(out), a, b)
		}
	}
}

// withoutBaseURL is an MPD without its BaseURL line.
func withoutBaseURL(mpd []byte) string {
	var out []string
	for _, l := range strings.Split(string(mpd), "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "<BaseURL>") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestLiveRowsFollowIndex checks that an origin holding a live window's
// rows between builds answers as a new origin does after the index changed
// below the rows it reads again: a late copy into an old gap, a deleted
// segment.
func TestLiveRowsFollowIndex(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	sim := testenv.NewSim(t, simulate.Options{})
	cfg := originConfig()
	cfg.Reread = 2 // gapK is further back
	c := &clock{liveNow}
	s := newServer(t, e, e.DB, c, cfg)
	mustGet(t, s, "/ch1/manifest.mpd")
	for _, change := range []struct {
		name string
		do   func()
	}{
		{"late copy into the gap", func() {
			for _, rep := range archivetest.Reps {
				e.Offer(t, "b", sim, rep, gapK)
			}
		}},
		{"segment deleted", func() {
			if err := e.DB.DeleteSegment(context.Background(), e.Track(t, simulate.AudioRep).ID, k0+4); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		change.do()
		c.t = c.t.Add(time.Second)
		got := mustGet(t, s, "/ch1/manifest.mpd")
		want := mustGet(t, newServer(t, e, e.DB, &clock{c.t}, cfg), "/ch1/manifest.mpd")
		if !bytes.Equal(got, want) {
			t.Errorf("%s: the origin's live MPD differs from a new origin's:\n%s\n----\n%s", change.name, got, want)
		}
	}
}
