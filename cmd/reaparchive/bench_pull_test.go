package main

// BenchmarkPull50Channels: one `reaparchive record` (the binary) following
// 50 channels × 8 tracks × 2 sources of simulate in real time on loopback,
// against a fetcher that GETs the same segments at the same rate and
// archives nothing (this test binary, re-run as pullFetcherMain), measured
// in the same run. BENCHMARKS.md says how to run it.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// Environment of BenchmarkPull50Channels.
const (
	envPullFor      = "REAPARCHIVE_BENCH_PULL_FOR"      // real time recorded per op, default 30s
	envPullChannels = "REAPARCHIVE_BENCH_PULL_CHANNELS" // default 50
	// envPullFetcher, set to a pullFetch as JSON, makes this test binary
	// the baseline fetcher (TestMain).
	envPullFetcher = "REAPARCHIVE_BENCH_PULL_FETCHER"
)

const (
	pullSegDur = 2 * time.Second
	// pullVideo and pullAudio tracks per channel: 8 in all.
	pullVideo, pullAudio = 4, 4
)

// pullFetch is what the baseline fetcher fetches: every rep of every
// channel from every source base URL (<base>/<channel>/manifest.mpd,
// <rep>/init.mp4, <rep>/<K>.m4s), for For.
type pullFetch struct {
	Bases    []string      `json:"bases"`
	Channels []string      `json:"channels"`
	Reps     []string      `json:"reps"`
	SegDur   time.Duration `json:"seg_dur"`
	For      time.Duration `json:"for"`
}

func BenchmarkPull50Channels(b *testing.B) {
	d := benchEnvDuration(b, envPullFor, 30*time.Second)
	n := envInt(b, envPullChannels, 50)
	bin := buildBinary(b, b.TempDir())
	video, audio := testenv.Assets(b)
	var bases []string
	for range 2 {
		sim, err := simulate.New(simulate.Options{Video: video, Audio: audio, SegmentDuration: pullSegDur, VideoTracks: pullVideo, AudioTracks: pullAudio})
		if err != nil {
			b.Fatal(err)
		}
		srv := httptest.NewServer(channelPrefix(newSegmentCache(sim)))
		b.Cleanup(srv.Close)
		bases = append(bases, srv.URL)
	}
	fetch := pullFetch{Bases: bases, SegDur: pullSegDur, For: d}
	for i := range n {
		fetch.Channels = append(fetch.Channels, fmt.Sprintf("ch%02d", i))
	}
	for i := range pullVideo {
		fetch.Reps = append(fetch.Reps, simulate.TrackRep(simulate.VideoRep, i))
	}
	for i := range pullAudio {
		fetch.Reps = append(fetch.Reps, simulate.TrackRep(simulate.AudioRep, i))
	}
	b.Logf("%d channels × %d tracks × %d sources for %s per op (D %s)", n, len(fetch.Reps), len(bases), d, pullSegDur)
	b.ResetTimer()
	var recCPU, fetchCPU, hours float64
	gaps := 0
	for range b.N {
		r := pullOnce(b, bin, fetch)
		recCPU, fetchCPU, hours = recCPU+r.recCPU, fetchCPU+r.fetchCPU, hours+r.channelHours
		gaps += r.gaps
	}
	b.ReportMetric(recCPU/hours, "cpu-s/channel-hour")
	b.ReportMetric(fetchCPU/hours, "fetcher-cpu-s/channel-hour")
	b.ReportMetric(recCPU/fetchCPU, "cpu-ratio-to-fetcher")
	b.ReportMetric(float64(gaps), "gaps") // 0: pullOnce fails on any
}

// channelPrefix serves sim under /<any channel>/.
func channelPrefix(sim http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, rest, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + rest
		sim.ServeHTTP(w, r2)
	})
}

// segmentCache serves the init and media segments a simulator served
// before from memory, as an encoder's origin does (simulate builds every
// segment it serves anew): the 50 channels of a source get the same bytes.
type segmentCache struct {
	sim http.Handler
	mu  sync.Mutex
	got map[string]cachedSegment // by path
}

// cachedSegment is a 200 response of the simulator.
type cachedSegment struct {
	contentType string
	body        []byte
}

func newSegmentCache(sim http.Handler) *segmentCache {
	return &segmentCache{sim: sim, got: map[string]cachedSegment{}}
}

func (c *segmentCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasSuffix(r.URL.Path, ".mpd") {
		c.sim.ServeHTTP(w, r)
		return
	}
	c.mu.Lock()
	seg, ok := c.got[r.URL.Path]
	c.mu.Unlock()
	if !ok {
		rec := httptest.NewRecorder()
		c.sim.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			copyResponse(w, rec)
			return
		}
		seg = cachedSegment{contentType: rec.Header().Get("Content-Type"), body: rec.Body.Bytes()}
		c.mu.Lock()
		if len(c.got) > 4096 {
			clear(c.got) // old segments; inits are fetched again
		}
		c.got[r.URL.Path] = seg
		c.mu.Unlock()
	}
	w.Header().Set("Content-Type", seg.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(seg.body)))
	_, _ = w.Write(seg.body)
}

// copyResponse writes a recorded response.
func copyResponse(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

// pullResult is one op: CPU seconds of the recorder and the fetcher, and
// the channel-hours recorded.
type pullResult struct {
	recCPU, fetchCPU, channelHours float64
	gaps                           int
}

// pullOnce runs the recorder and the fetcher at the same time for
// fetch.For, then checks the recording: every channel has every track and
// no gap.
func pullOnce(b *testing.B, bin string, fetch pullFetch) pullResult {
	dir := b.TempDir()
	ar := &e2eArchive{dir: dir, store: filepath.Join(dir, "store"), index: filepath.Join(dir, "index.db")}
	cfg := filepath.Join(dir, "reaparchive.yaml")
	writePullConfig(b, cfg, ar, fetch)
	spec, err := json.Marshal(fetch)
	if err != nil {
		b.Fatal(err)
	}
	rec := exec.Command(bin, "record", "--config", cfg, "--for", fetch.For.String(), "--log-level", "info", "--log-format", "json")
	fetcher := exec.Command(os.Args[0], "-test.run=^$")
	fetcher.Env = append(os.Environ(), envPullFetcher+"="+string(spec))
	logs := make([]strings.Builder, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, cmd := range []*exec.Cmd{rec, fetcher} {
		cmd.Stdout, cmd.Stderr = &logs[i], &logs[i]
		wg.Go(func() { errs[i] = cmd.Run() })
	}
	wg.Wait()
	if errs[0] != nil {
		b.Fatalf("record: %v\n%s", errs[0], tail(withoutInfo(logs[0].String())))
	}
	if errs[1] != nil {
		b.Fatalf("fetcher: %v\n%s", errs[1], tail(logs[1].String()))
	}
	hours, gaps := checkPullRecording(b, ar, fetch)
	return pullResult{recCPU: cpuSeconds(rec), fetchCPU: cpuSeconds(fetcher), channelHours: hours, gaps: gaps}
}

func cpuSeconds(cmd *exec.Cmd) float64 {
	return (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
}

// withoutInfo is a JSON log without its INFO lines.
func withoutInfo(log string) string {
	var out strings.Builder
	for line := range strings.Lines(log) {
		if !strings.Contains(line, `"level":"INFO"`) {
			out.WriteString(line)
		}
	}
	return out.String()
}

// tail is the end of a log.
func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

// writePullConfig writes record's config: every channel with sources a, b,
// … at the fetch's base URLs.
func writePullConfig(b *testing.B, path string, ar *e2eArchive, fetch pullFetch) {
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store: %q\nindex: %q\nchannels:\n", ar.storeURL(), ar.index)
	for _, ch := range fetch.Channels {
		fmt.Fprintf(&cfg, "  - name: %s\n    sources:\n", ch)
		for i, base := range fetch.Bases {
			fmt.Fprintf(&cfg, "      - name: %c\n        mpd: %s/%s/manifest.mpd\n", 'a'+i, base, ch)
		}
	}
	if err := os.WriteFile(path, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}

// checkPullRecording fails unless `status --json` shows every channel with
// every track and no gap; it returns the channel-hours recorded (the first
// video track's segments × D) and the gaps.
func checkPullRecording(b *testing.B, ar *e2eArchive, fetch pullFetch) (hours float64, gaps int) {
	ctx := context.Background()
	r := runCLI(ctx, ar.args("status", "--json")...)
	if r.code != exitOK {
		b.Fatalf("status: %s", r)
	}
	var st jsonStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		b.Fatalf("status --json: %v", err)
	}
	if len(st.Channels) != len(fetch.Channels) {
		b.Fatalf("status shows %d channels, want %d", len(st.Channels), len(fetch.Channels))
	}
	segs := int64(0)
	for _, ch := range st.Channels {
		if len(ch.Tracks) != len(fetch.Reps) {
			b.Errorf("channel %s: %d tracks, want %d", ch.Name, len(ch.Tracks), len(fetch.Reps))
		}
		for _, tr := range ch.Tracks {
			gaps += len(tr.Gaps)
			if len(tr.Gaps) > 0 {
				b.Errorf("channel %s track %s: gaps %v", ch.Name, tr.Rep, tr.Gaps)
			}
			segs += tr.Segments
			if tr.Rep == simulate.VideoRep {
				hours += float64(tr.Segments) * fetch.SegDur.Hours()
			}
		}
	}
	if gaps > 0 || b.Failed() || hours == 0 {
		b.Fatalf("recording has %d gaps, %.4f channel-hours", gaps, hours)
	}
	b.Logf("recorded %d segments, %.3f channel-hours, %d gaps", segs, hours, gaps)
	return hours, gaps
}

// pullFetcherMain is the baseline fetcher (this test binary run with
// envPullFetcher): per source and channel the MPD, then every 10·D; per
// source, channel and rep the init, then each segment K as soon as it is
// available (at (K+1)·D), read and discarded; until For is over.
func pullFetcherMain(spec string) int {
	var f pullFetch
	if err := json.Unmarshal([]byte(spec), &f); err != nil {
		fmt.Fprintln(os.Stderr, "fetcher:", err)
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.For)
	defer cancel()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4096, MaxIdleConns: 4096}}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed error
	)
	get := func(url string) {
		if err := fetchDiscard(ctx, client, url); err != nil && ctx.Err() == nil {
			mu.Lock()
			failed = err
			mu.Unlock()
		}
	}
	for _, base := range f.Bases {
		for _, ch := range f.Channels {
			prefix := base + "/" + ch + "/"
			wg.Go(func() { everySegment(ctx, 10*f.SegDur, func(int64) { get(prefix + "manifest.mpd") }) })
			for _, rep := range f.Reps {
				wg.Go(func() {
					get(prefix + rep + "/init.mp4")
					everySegment(ctx, f.SegDur, func(k int64) { get(prefix + rep + "/" + strconv.FormatInt(k, 10) + ".m4s") })
				})
			}
		}
	}
	wg.Wait()
	if failed != nil {
		fmt.Fprintln(os.Stderr, "fetcher:", failed)
		return 1
	}
	return 0
}

// everySegment calls fn(K) at once for the newest K of period d, then for
// each next K when it is complete, until ctx ends.
func everySegment(ctx context.Context, d time.Duration, fn func(k int64)) {
	k := time.Now().UnixNano()/int64(d) - 1
	for {
		fn(k)
		k++
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(time.Unix(0, (k+1)*int64(d)))):
		}
	}
}

// fetchDiscard GETs url and discards the body; non-200 is an error.
func fetchDiscard(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// benchEnvDuration is env name as a duration, def when unset.
func benchEnvDuration(b *testing.B, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		b.Fatalf("%s=%q: want a positive duration", name, s)
	}
	return d
}
