package origin_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestEndpoints checks each endpoint's status, headers and body.
func TestEndpoints(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	seg, _ := e.Segment(t, simulate.VideoRep, k0+1)
	segBytes := e.Get(t, seg.Key)
	init := e.InitKeys(t, simulate.VideoRep)[0]
	start, end := kTime(k0+3).Unix(), kTime(k0+16).Unix()
	catchUp := fmt.Sprintf("/ch1/manifest.mpd?start=%d&end=%d", start, end)
	segPath := fmt.Sprintf("/ch1/video/%d.m4s", k0+1)
	for _, tc := range []struct {
		name, method, target string
		hdr                  map[string]string
		code                 int
		headers              map[string]string // "" value: must be absent
		body                 string            // the body contains it
	}{
		{name: "live MPD", target: "/ch1/manifest.mpd", code: 200,
			headers: map[string]string{"Content-Type": "application/dash+xml", "Cache-Control": "public, max-age=1", "Access-Control-Allow-Origin": "*", "Vary": "Accept-Encoding"},
			body:    `type="dynamic" availabilityStartTime="1970-01-01T00:00:00Z"`},
		{name: "live MPD window", target: "/ch1/manifest.mpd", code: 200, body: `timeShiftBufferDepth="PT2H"`},
		{name: "live MPD number is K", target: "/ch1/manifest.mpd", code: 200, body: fmt.Sprintf(`startNumber="%d"`, k0+13)},
		{name: "start-over", target: fmt.Sprintf("/ch1/manifest.mpd?start=%s", kTime(k0+3).Format(time.RFC3339)), code: 200,
			headers: map[string]string{"Cache-Control": "public, max-age=1"}, body: fmt.Sprintf(`<Period id="P%d"`, k0+3)},
		// Players count the delay back from the end of the last listed segment.
		{name: "start-over starts players at start", target: fmt.Sprintf("/ch1/manifest.mpd?start=%d", kTime(k0+3).Unix()), code: 200,
			body: fmt.Sprintf(`timeShiftBufferDepth="PT%dS" suggestedPresentationDelay="PT%dS"`, liveSecs(k0+3), int64(kTime(lastK+1).Sub(kTime(k0+3))/time.Second))},
		{name: "catch-up", target: catchUp, code: 200,
			headers: map[string]string{"Cache-Control": "public, max-age=31536000, immutable"}, body: `type="static"`},
		{name: "catch-up reaching the live edge", target: fmt.Sprintf("/ch1/manifest.mpd?start=%d&end=%d", start, kTime(lastK+5).Unix()), code: 200,
			headers: map[string]string{"Cache-Control": "public, max-age=1"}},
		{name: "gzip", target: "/ch1/manifest.mpd", hdr: map[string]string{"Accept-Encoding": "br, gzip"}, code: 200,
			headers: map[string]string{"Content-Encoding": "gzip"}},
		{name: "gzip refused", target: "/ch1/manifest.mpd", hdr: map[string]string{"Accept-Encoding": "gzip;q=0"}, code: 200,
			headers: map[string]string{"Content-Encoding": ""}},
		{name: "bad T", target: "/ch1/manifest.mpd?start=yesterday", code: 400, body: `start: "yesterday" is neither an RFC 3339 time`},
		{name: "end without start", target: "/ch1/manifest.mpd?end=1", code: 400, body: "end without start"},
		{name: "end before start", target: fmt.Sprintf("/ch1/manifest.mpd?start=%d&end=%d", end, start), code: 400, body: "is not after start"},
		{name: "start in the future", target: fmt.Sprintf("/ch1/manifest.mpd?start=%d", liveNow.Unix()+10), code: 400, body: "in the future"},
		{name: "gaps fill without a slate", target: catchUp + "&gaps=fill", code: 400, body: "no slate to fill gaps with (serve --slate)"},
		{name: "gaps signal on live", target: "/ch1/manifest.mpd?gaps=signal", code: 400, body: "want split or fill"},
		{name: "gaps unknown", target: catchUp + "&gaps=hide", code: 400, body: "want signal, split or fill"},
		{name: "gaps split on live", target: "/ch1/manifest.mpd?gaps=split", code: 200, body: `type="dynamic"`},
		{name: "unknown channel", target: "/nope/manifest.mpd", code: 404, body: `channel "nope"`},
		{name: "range before the archive", target: "/ch1/manifest.mpd?start=1000&end=2000", code: 404, body: "no segments"},
		{name: "unknown manifest", target: "/ch1/index.html", code: 404},
		{name: "HLS master", target: "/ch1/master.m3u8", code: 200,
			headers: map[string]string{"Content-Type": "application/vnd.apple.mpegurl"}, body: "#EXT-X-STREAM-INF"},
		{name: "HLS live media", target: "/ch1/media-video.m3u8", code: 200, body: "#EXT-X-PLAYLIST-TYPE:EVENT"},
		{name: "HLS catch-up media", target: fmt.Sprintf("/ch1/media-audio~start=%d~end=%d.m3u8", start, end), code: 200,
			headers: map[string]string{"Cache-Control": "public, max-age=31536000, immutable"}, body: "#EXT-X-ENDLIST"},
		{name: "HLS bad media parameters", target: "/ch1/media-video~start=x.m3u8", code: 400},
		{name: "HLS unknown track", target: "/ch1/media-nope.m3u8", code: 404},
		{name: "segment", target: segPath, code: 200,
			headers: map[string]string{"ETag": `"` + seg.SHA256 + `"`, "Cache-Control": "public, max-age=31536000, immutable",
				"Content-Type": "video/iso.segment", "Content-Length": fmt.Sprint(len(segBytes))}},
		{name: "segment HEAD", method: http.MethodHead, target: segPath, code: 200,
			headers: map[string]string{"Content-Length": fmt.Sprint(len(segBytes)), "Accept-Ranges": "bytes"}},
		{name: "segment range", target: segPath, hdr: map[string]string{"Range": "bytes=0-9"}, code: 206,
			headers: map[string]string{"Content-Range": fmt.Sprintf("bytes 0-9/%d", len(segBytes)), "Content-Length": "10"}},
		{name: "segment bad range", target: segPath, hdr: map[string]string{"Range": "bytes=99999999-"}, code: 416},
		{name: "segment not modified", target: segPath, hdr: map[string]string{"If-None-Match": `"` + seg.SHA256 + `"`}, code: 304},
		{name: "segment of the gap", target: fmt.Sprintf("/ch1/video/%d.m4s", gapK), code: 404, body: "no segment K="},
		{name: "segment wrong extension", target: fmt.Sprintf("/ch1/video/%d.mp4", k0), code: 404},
		{name: "segment of an unknown track", target: fmt.Sprintf("/ch1/nope/%d.m4s", k0), code: 404},
		{name: "init", target: "/" + init, code: 200, headers: map[string]string{"Content-Type": "video/mp4", "Cache-Control": "public, max-age=31536000, immutable"}},
		{name: "unknown init", target: "/ch1/video/init-0000000000000000.mp4", code: 404},
		{name: "preflight", method: http.MethodOptions, target: "/ch1/manifest.mpd", code: 204,
			headers: map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "Authorization, Range, If-None-Match, If-Range"}},
		{name: "healthz", target: "/healthz", code: 200, body: "ok"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			res, body := get(t, s, method, tc.target, tc.hdr)
			if res.StatusCode != tc.code {
				t.Fatalf("%s %s: %d %s; want %d", method, tc.target, res.StatusCode, body, tc.code)
			}
			for k, v := range tc.headers {
				if got := res.Header.Get(k); got != v {
					t.Errorf("%s: %q; want %q", k, got, v)
				}
			}
			if res.Header.Get("Content-Encoding") == "gzip" {
				body = gunzip(t, body)
			}
			if !strings.Contains(string(body), tc.body) {
				t.Errorf("body does not contain %q:\n%s", tc.body, body)
			}
			if method == http.MethodHead && len(body) != 0 {
				t.Errorf("HEAD has a body of %d bytes", len(body))
			}
		})
	}
}

// liveSecs is how many whole seconds liveNow is after the start of K.
func liveSecs(k int64) int64 { return int64(liveNow.Truncate(time.Second).Sub(kTime(k)) / time.Second) }

func gunzip(tb testing.TB, b []byte) []byte {
	tb.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		tb.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// TestGzipSameBytes checks that the compressed manifest is the plain one.
func TestGzipSameBytes(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	plain := mustGet(t, s, "/ch1/manifest.mpd")
	res, gz := get(t, s, http.MethodGet, "/ch1/manifest.mpd", map[string]string{"Accept-Encoding": "gzip"})
	if res.Header.Get("ETag") == "" || res.Header.Get("ETag") == strongETagOf(t, s) {
		t.Errorf("gzip ETag %q: want its own", res.Header.Get("ETag"))
	}
	if got := gunzip(t, gz); !bytes.Equal(got, plain) {
		t.Errorf("gunzipped manifest differs from the plain one")
	}
}

func strongETagOf(tb testing.TB, h http.Handler) string {
	res, _ := get(tb, h, http.MethodGet, "/ch1/manifest.mpd", nil)
	return res.Header.Get("ETag")
}

// TestToken checks the bearer token on manifests (objects stay open).
func TestToken(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	cfg := originConfig()
	cfg.Token = "s3cret"
	s := newServer(t, e, e.DB, &clock{liveNow}, cfg)
	for _, tc := range []struct {
		target, auth string
		code         int
	}{
		{"/ch1/manifest.mpd", "", 401},
		{"/ch1/manifest.mpd", "Bearer nope", 401},
		{"/ch1/master.m3u8", "Basic czNjcmV0", 401},
		{"/ch1/manifest.mpd", "Bearer s3cret", 200},
		{fmt.Sprintf("/ch1/video/%d.m4s", k0), "", 200},
	} {
		res, body := get(t, s, http.MethodGet, tc.target, map[string]string{"Authorization": tc.auth})
		if res.StatusCode != tc.code {
			t.Errorf("GET %s with %q: %d %s; want %d", tc.target, tc.auth, res.StatusCode, body, tc.code)
		}
		if tc.code == 401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
}

// TestMetrics checks that /metrics counts requests, bytes, latency and
// the manifest cache's hits.
func TestMetrics(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	mustGet(t, s, "/ch1/manifest.mpd")
	mustGet(t, s, "/ch1/manifest.mpd") // same second: from the cache
	mustGet(t, s, fmt.Sprintf("/ch1/video/%d.m4s", k0))
	get(t, s, http.MethodGet, "/ch1/manifest.mpd?start=x", nil)
	body := string(mustGet(t, s, "/metrics"))
	for _, want := range []string{
		`reaparchive_origin_requests_total{code="200",kind="manifest"} 2`,
		`reaparchive_origin_requests_total{code="400",kind="manifest"} 1`,
		`reaparchive_origin_requests_total{code="200",kind="object"} 1`,
		`reaparchive_origin_manifest_cache_total{result="hit"} 1`,
		`reaparchive_origin_manifest_cache_total{result="miss"} 1`,
		`reaparchive_origin_request_duration_seconds_count{kind="manifest"} 3`,
		`reaparchive_origin_response_bytes_total{kind="object"}`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

// readFromRecorder is a ResponseWriter that, as net/http's does, takes a
// body copy through io.ReaderFrom (sendfile for a file); it counts what it
// took that way.
type readFromRecorder struct {
	*httptest.ResponseRecorder
	readFrom int64
}

func (r *readFromRecorder) ReadFrom(src io.Reader) (int64, error) {
	n, err := io.Copy(r.ResponseRecorder, src)
	r.readFrom += n
	return n, err
}

// TestObjectsReachReaderFrom: an object reaches the connection's
// io.ReaderFrom through the origin's metrics (sendfile for a segment from a
// file store), not a copy buffer of the origin's.
func TestObjectsReachReaderFrom(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	target := fmt.Sprintf("/ch1/video/%d.m4s", k0)
	w := &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	if w.Code != http.StatusOK || w.Body.Len() == 0 {
		t.Fatalf("GET %s: %d, %d bytes", target, w.Code, w.Body.Len())
	}
	if w.readFrom != int64(w.Body.Len()) {
		t.Errorf("GET %s: %d of %d body bytes went through the writer's ReadFrom", target, w.readFrom, w.Body.Len())
	}
}

// TestManifestBodiesNotCopied: a manifest from the cache is written as it
// is, not copied through a buffer of its size per response (the largest
// garbage of a manifest request, so more collections under load): what a
// request allocates does not grow with the manifest. Not parallel: it reads
// the process's allocation count.
func TestManifestBodiesNotCopied(t *testing.T) {
	e := recorded(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	small, large := "/ch1/master.m3u8", "/ch1/manifest.mpd"
	perRequest := func(target string) (allocated uint64, size int) {
		const n = 200
		ws := make([]*readFromRecorder, n)
		reqs := make([]*http.Request, n)
		for i := range ws {
			ws[i] = &readFromRecorder{ResponseRecorder: httptest.NewRecorder()}
			ws[i].Body.Grow(64 << 10)
			reqs[i] = httptest.NewRequest(http.MethodGet, target, nil)
		}
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, target, nil)) // built and cached
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range ws {
			s.ServeHTTP(ws[i], reqs[i])
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / n, ws[0].Body.Len()
	}
	aSmall, nSmall := perRequest(small)
	aLarge, nLarge := perRequest(large)
	if nLarge-nSmall < 1024 {
		t.Fatalf("%s (%d bytes) is not 1 KiB larger than %s (%d bytes)", large, nLarge, small, nSmall)
	}
	if grew := int64(aLarge) - int64(aSmall); grew > int64(nLarge-nSmall)/2 {
		t.Errorf("a request of %s (%d bytes) allocates %d bytes, of %s (%d bytes) %d: the body is copied per response",
			large, nLarge, aLarge, small, nSmall, aSmall)
	}
}

// TestRedirectNeedsSigningStore checks that --redirect over a file store
// is refused at the start.
func TestRedirectNeedsSigningStore(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	_, err := origin.New(origin.Config{Store: e.Store, DB: e.DB, Redirect: true})
	if !errors.Is(err, origin.ErrCannotRedirect) {
		t.Fatalf("New with Redirect over %s: %v; want ErrCannotRedirect", e.Store, err)
	}
}

// TestParseTime checks the forms of T.
func TestParseTime(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "2026-04-12T13:20:00Z", want: time.Date(2026, 4, 12, 13, 20, 0, 0, time.UTC)},
		{in: "2026-04-12T15:20:00.5+02:00", want: time.Date(2026, 4, 12, 13, 20, 0, 5e8, time.UTC)},
		{in: "1776000000", want: time.Unix(1776000000, 0).UTC()},
		{in: "1776000000.25", want: time.Unix(1776000000, 25e7).UTC()},
		{in: "", bad: true},
		{in: "-5", bad: true},
		{in: "1e9", bad: true},
		{in: "1/2", bad: true},
		{in: "2026-04-12", bad: true},
		{in: "99999999999999999999", bad: true},
	} {
		got, err := origin.ParseTime(tc.in)
		switch {
		case tc.bad && err == nil:
			t.Errorf("ParseTime(%q) = %v; want an error", tc.in, got)
		case !tc.bad && (err != nil || !got.Equal(tc.want)):
			t.Errorf("ParseTime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
