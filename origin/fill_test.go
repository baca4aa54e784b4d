package origin_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/manifest"
	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// slateDir is the repository's test slate, testdata/slate.
func slateDir(tb testing.TB) string {
	tb.Helper()
	d, err := filepath.Abs(filepath.Join("..", "testdata", "slate"))
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// testSlate is the repository's test slate, loaded.
func testSlate(tb testing.TB) *export.Slate {
	tb.Helper()
	sl, err := export.LoadSlate(context.Background(), slateDir(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return sl
}

// checkNoHoles checks that every track of a live MPD lists every K from
// its first to its last: the gaps are filled.
func checkNoHoles(tb testing.TB, l *manifest.Live) {
	tb.Helper()
	for _, tr := range l.Tracks {
		next := int64(-1)
		for _, pt := range periodsOf(l, tr) {
			for _, en := range pt.Track.Timeline {
				if next >= 0 && en.K != next {
					tb.Errorf("%s: K %d follows K %d", tr.Rep, en.K, next-1)
				}
				next = en.K + 1
			}
		}
	}
}

// TestLiveFill checks live and start-over presentations with gaps=fill
// (the origin's default with LiveGaps, or asked for by a request): the
// lost K is a Period of slate fillers; its filler segment and init are
// served with a strong ETag, also by a second origin whose index never
// made them (a reindexed one), which gives the same manifest; without a
// slate gaps=fill is refused.
func TestLiveFill(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	slate := testSlate(t)
	for _, tc := range []struct {
		name   string
		cfg    origin.Config
		target string
	}{
		{"default fill", origin.Config{Slate: slate, LiveGaps: export.GapsFill}, "/ch1/manifest.mpd"},
		{"asked for", origin.Config{Slate: slate}, "/ch1/manifest.mpd?gaps=fill"},
		{"start-over", origin.Config{Slate: slate}, fmt.Sprintf("/ch1/manifest.mpd?start=%d&gaps=fill", kTime(k0+2).Unix())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newServer(t, e, e.DB, &clock{liveNow}, tc.cfg)
			body := mustGet(t, a, tc.target)
			l, err := manifest.ParseLive(body, "http://origin"+tc.target)
			if err != nil {
				t.Fatalf("%v\n%s", err, body)
			}
			checkNoHoles(t, l)
			filler := regexp.MustCompile(`media="(ch1/video/filler/)\$Number\$(-[0-9a-f]+\.m4s)" initialization="(ch1/video/filler/init-[0-9a-f]+\.mp4)"`).FindSubmatch(body)
			if filler == nil || !bytes.Contains(body, fmt.Appendf(nil, `<Period id="P%d"`, gapK)) {
				t.Fatalf("no filler Period at K %d:\n%s", gapK, body)
			}
			seg := fmt.Sprintf("%s%d%s", filler[1], gapK, filler[2])
			b := newServer(t, e, reindexed(t, e), &clock{liveNow}, tc.cfg)
			for _, s := range []*origin.Server{a, b} {
				for _, key := range []string{seg, string(filler[3])} {
					checkObject(t, s, key, e.Get(t, key))
				}
			}
			if got := mustGet(t, b, tc.target); !bytes.Equal(got, body) {
				t.Errorf("the reindexed origin's manifest differs:\n%s\n----\n%s", got, body)
			}
		})
	}
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ch1/manifest.mpd?gaps=fill", nil))
	if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "no slate") {
		t.Errorf("gaps=fill without a slate: %d %s", rec.Code, rec.Body)
	}
}

// checkObject checks that s serves the object at key with want's bytes
// and a strong ETag.
func checkObject(tb testing.TB, s *origin.Server, key string, want []byte) {
	tb.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+key, nil))
	etag := rec.Header().Get("ETag")
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), want) || !strings.HasPrefix(etag, `"`) || len(etag) < 10 {
		tb.Errorf("GET /%s: %d, %d bytes (want %d), ETag %s", key, rec.Code, rec.Body.Len(), len(want), etag)
	}
}

// TestLiveFillRaggedEnd checks that a live presentation that fills gaps
// ends at the last K every track has: a K one track has not delivered yet
// is not listed as a filler (which its segment would later replace).
func TestLiveFillRaggedEnd(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Offer(t, "a", sim, simulate.VideoRep, lastK+1)
	s := newServer(t, e, e.DB, &clock{liveNow.Add(segD)}, origin.Config{Slate: testSlate(t), LiveGaps: export.GapsFill})
	body := mustGet(t, s, "/ch1/manifest.mpd")
	l, err := manifest.ParseLive(body, "http://origin/ch1/manifest.mpd")
	if err != nil {
		t.Fatal(err)
	}
	checkLive(t, l, lastK)
	if bytes.Contains(body, fmt.Appendf(nil, `<Period id="P%d"`, lastK+1)) {
		t.Errorf("K %d (video only so far) is listed with a filler:\n%s", lastK+1, body)
	}
}
