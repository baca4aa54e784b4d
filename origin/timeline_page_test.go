package origin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/origin"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestTimelinePage: / lists every channel and its tracks, offers exports
// only with --export-to, and serves the page's script and the vendored
// Shaka Player.
func TestTimelinePage(t *testing.T) {
	t.Parallel()
	e := timelineArchive(t)
	for _, tc := range []struct {
		name     string
		exportTo string
		want     []string
		absent   []string
	}{
		{"exports off", "", []string{`data-channel="ch1"`, `data-rep="video"`, `data-rep="audio"`, `data-exports="off"`, `/_timeline/vendor/shaka-player.compiled.js`},
			[]string{`data-act="export"`}},
		{"exports on", "file://" + t.TempDir(), []string{`data-exports="on"`, `data-act="export"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, e, e.DB, &clock{liveNow}, origin.Config{ExportTo: tc.exportTo})
			res, body := get(t, s, http.MethodGet, "/", nil)
			if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/html; charset=utf-8" {
				t.Fatalf("GET /: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
			}
			for _, w := range tc.want {
				if !bytes.Contains(body, []byte(w)) {
					t.Errorf("GET /: no %s in\n%s", w, body)
				}
			}
			for _, w := range tc.absent {
				if bytes.Contains(body, []byte(w)) {
					t.Errorf("GET /: %s in\n%s", w, body)
				}
			}
		})
	}
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	for target, want := range map[string]string{
		"/_timeline/timeline.js":                     "timelineState",
		"/_timeline/vendor/shaka-player.compiled.js": "shaka",
		"/_timeline/timeline.css":                    ".lane",
	} {
		if body := mustGet(t, s, target); !strings.Contains(string(body), want) {
			t.Errorf("GET %s: no %q", target, want)
		}
	}
	if res, _ := get(t, s, http.MethodGet, "/_timeline/timeline.html", nil); res.StatusCode != 404 {
		t.Errorf("GET /_timeline/timeline.html: %d, want 404", res.StatusCode)
	}
}

// exportJobDoc mirrors an export job (README: serve, timeline page).
type exportJobDoc struct {
	ID       string  `json:"id"`
	State    string  `json:"state"`
	Out      string  `json:"out"`
	MPD      string  `json:"mpd"`
	HLS      string  `json:"hls"`
	Segments int     `json:"segments"`
	Copied   int     `json:"copied"`
	Elapsed  float64 `json:"elapsed_seconds"`
	Step     string  `json:"step"`
	Done     int     `json:"done"`
	Total    int     `json:"total"`
	Percent  float64 `json:"percent"`
	Error    string  `json:"error"`
}

// post sends a form POST to h.
func post(tb testing.TB, h http.Handler, target string, form url.Values) (*http.Response, []byte) {
	tb.Helper()
	return get(tb, h, http.MethodPost, target+"?"+form.Encode(), nil)
}

// TestTimelineExport: POST /api/<channel>/exports starts an export-vod
// of the range into --export-to and GET .../exports/<id> reports it running,
// then done with what it wrote; the package is on disk. Bad requests are
// 4xx with the reason, and exports are refused without --export-to.
func TestTimelineExport(t *testing.T) {
	t.Parallel()
	e := timelineArchive(t)
	dir := t.TempDir()
	s := newServer(t, e, e.DB, &clock{liveNow}, origin.Config{ExportTo: "file://" + dir})
	from, to := kTime(k0+3).Unix(), kTime(k0+9).Unix()
	res, body := post(t, s, "/api/ch1/exports", url.Values{"from": {fmt.Sprint(from)}, "to": {fmt.Sprint(to)}})
	var job exportJobDoc
	if res.StatusCode != http.StatusAccepted || json.Unmarshal(body, &job) != nil || job.State != "running" || job.Step != "plan" || job.Percent != 0 {
		t.Fatalf("POST exports: %d %s; want 202, running, step plan at 0 %%", res.StatusCode, body)
	}
	if loc := res.Header.Get("Location"); loc != "/api/ch1/exports/"+job.ID {
		t.Errorf("POST exports: Location %q", loc)
	}
	job = waitJob(t, s, job)
	wantDir := filepath.Join(dir, fmt.Sprintf("ch1-%d-%d", from, to))
	if job.State != "done" || job.Segments != 2*6 || job.Copied == 0 || job.MPD != filepath.Join(wantDir, "manifest.mpd") || job.HLS == "" {
		t.Fatalf("export job: %+v; want done, 12 segments copied, MPD in %s", job, wantDir)
	}
	// Its progress: every object copied and the manifests, 100 %.
	if job.Step != "done" || job.Total != job.Copied+1 || job.Done != job.Total || job.Percent != 100 {
		t.Errorf("export job progress: step %q, %d of %d, %.1f %%; want done, %d of %d, 100 %%", job.Step, job.Done, job.Total, job.Percent, job.Copied+1, job.Copied+1)
	}
	mpd, err := os.ReadFile(job.MPD)
	if err != nil || !bytes.Contains(mpd, []byte(`type="static"`)) {
		t.Errorf("exported MPD %s: %v\n%s", job.MPD, err, mpd)
	}
	if copies, _ := filepath.Glob(filepath.Join(wantDir, channel, simulate.VideoRep, "*")); len(copies) == 0 {
		t.Errorf("exported copies: none in %s", filepath.Join(wantDir, channel, simulate.VideoRep))
	}

	// A range the archive has nothing of fails, with the reason.
	_, body = post(t, s, "/api/ch1/exports", url.Values{"from": {"1"}, "to": {"2"}})
	if err := json.Unmarshal(body, &job); err != nil {
		t.Fatalf("POST exports: %s", body)
	}
	if job = waitJob(t, s, job); job.State != "failed" || !strings.Contains(job.Error, "export") {
		t.Errorf("export of an empty range: %+v; want failed with the reason", job)
	}

	off := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	ok := url.Values{"from": {fmt.Sprint(from)}, "to": {fmt.Sprint(to)}}
	for _, tc := range []struct {
		name   string
		h      http.Handler
		target string
		form   url.Values
		code   int
		body   string
	}{
		{"no --export-to", off, "/api/ch1/exports", ok, 403, "--export-to"},
		{"no from", s, "/api/ch1/exports", url.Values{"to": {"1"}}, 400, "from:"},
		{"bad to", s, "/api/ch1/exports", url.Values{"from": {"1"}, "to": {"soon"}}, 400, `to: "soon"`},
		{"to before from", s, "/api/ch1/exports", url.Values{"from": {fmt.Sprint(to)}, "to": {fmt.Sprint(from)}}, 400, "is not after from"},
		{"gaps fill", s, "/api/ch1/exports", url.Values{"from": {"1"}, "to": {"2"}, "gaps": {"fill"}}, 400, "want signal or split"},
		{"unknown channel", s, "/api/nope/exports", ok, 404, `no channel "nope"`},
	} {
		res, body := post(t, tc.h, tc.target, tc.form)
		if res.StatusCode != tc.code || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s: POST %s %v: %d %s; want %d %q", tc.name, tc.target, tc.form, res.StatusCode, body, tc.code, tc.body)
		}
	}
	if res, _ := get(t, s, http.MethodGet, "/api/ch1/exports/0123", nil); res.StatusCode != 404 {
		t.Errorf("unknown job: %d, want 404", res.StatusCode)
	}
}

// waitJob polls job of channel ch1 on s until it is no longer running (at
// most 30 s).
func waitJob(t *testing.T, s http.Handler, job exportJobDoc) exportJobDoc {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for job.State == "running" && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if err := json.Unmarshal(mustGet(t, s, "/api/ch1/exports/"+job.ID), &job); err != nil {
			t.Fatal(err)
		}
	}
	return job
}

// TestTimelineExportOtherOrigin: an export job started on one origin is
// reported by another origin with the same --export-to, from the job's
// record in that store (_jobs/<channel>/<id>.json): done, as the origin
// that ran it reports it. A running record its origin stopped rewriting is
// reported failed; an origin with another --export-to knows no such job.
func TestTimelineExportOtherOrigin(t *testing.T) {
	t.Parallel()
	e := timelineArchive(t)
	dir := t.TempDir()
	cfg := origin.Config{ExportTo: "file://" + dir}
	a, b := newServer(t, e, e.DB, &clock{liveNow}, cfg), newServer(t, e, e.DB, &clock{liveNow}, cfg)
	from, to := kTime(k0+3).Unix(), kTime(k0+9).Unix()
	_, body := post(t, a, "/api/ch1/exports", url.Values{"from": {fmt.Sprint(from)}, "to": {fmt.Sprint(to)}})
	var job exportJobDoc
	if err := json.Unmarshal(body, &job); err != nil || job.ID == "" {
		t.Fatalf("POST exports: %s", body)
	}
	if job = waitJob(t, b, job); job.State != "done" || job.Percent != 100 || job.Segments != 2*6 {
		t.Fatalf("the other origin reports %+v; want done at 100 %%, 12 segments", job)
	}
	if ran, other := mustGet(t, a, "/api/ch1/exports/"+job.ID), mustGet(t, b, "/api/ch1/exports/"+job.ID); !bytes.Equal(ran, other) {
		t.Errorf("the origin that ran the job reports\n%s\nthe other\n%s", ran, other)
	}

	// Records as a running origin leaves them, read by b.
	record := func(id string, updated time.Time) {
		rec := fmt.Sprintf(`{"version":1,"id":%q,"channel":"ch1","from":"x","to":"y","out":"o","state":"running","step":"copy","done":3,"total":10,"percent":30,"started":%q,"updated":%q}`,
			id, liveNow.Add(-2*time.Hour).Format(time.RFC3339), updated.Format(time.RFC3339))
		if err := os.WriteFile(filepath.Join(dir, "_jobs", "ch1", id+".json"), []byte(rec), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	record("00000000000000aa", liveNow.Add(-time.Second))
	record("00000000000000bb", liveNow.Add(-time.Hour))
	other := newServer(t, e, e.DB, &clock{liveNow}, origin.Config{ExportTo: "file://" + t.TempDir()})
	for _, tc := range []struct {
		name, id  string
		h         http.Handler
		code      int
		state     string
		errorPart string
	}{
		{"running, rewritten a second ago", "00000000000000aa", b, 200, "running", ""},
		{"running, not rewritten for an hour", "00000000000000bb", b, 200, "failed", "stopped updating it at"},
		{"another --export-to", job.ID, other, 404, "", "no export"},
		{"no record", "00000000000000cc", b, 404, "", "no export"},
		{"malformed id", "0123XYZ", b, 404, "", "no export"},
	} {
		res, body := get(t, tc.h, http.MethodGet, "/api/ch1/exports/"+tc.id, nil)
		var got exportJobDoc
		_ = json.Unmarshal(body, &got)
		if res.StatusCode != tc.code || got.State != tc.state || !strings.Contains(string(body), tc.errorPart) {
			t.Errorf("%s: GET job %s: %d %s; want %d, state %q, %q", tc.name, tc.id, res.StatusCode, body, tc.code, tc.state, tc.errorPart)
		}
	}
}
