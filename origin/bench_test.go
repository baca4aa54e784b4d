package origin_test

// Benchmarks of the origin (issue 15, "fast enough to be the origin"),
// each against a baseline measured in the same run: the same bytes served
// as a static file by net/http's FileServer. BENCHMARKS.md says how to run
// them and read the ratios.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/gcfloor"
	"github.com/reaparchive/reaparchive/internal/testenv/benchday"
	"github.com/reaparchive/reaparchive/origin"
)

// Load of the benchmarks: concurrent clients, each sending requests one
// after the other.
const (
	benchClients = 100
	benchFor     = 5 * time.Second // per op and server: the clients send requests for this long (manifests), so the origin makes builds (about one a second) while they do
)

// BenchmarkOriginManifest24h8Tracks: the live MPD of a channel whose
// 24-hour window holds 8 tracks (345,600 segments), read by 100
// concurrent clients over HTTP (from a process of their own: hammer)
// while the clock runs (a build per second, the per-second cache for the
// rest; Prebuild builds each second's ahead), against the same bytes as a
// static file. It reports p50/p99 of both, their p99 ratio, build-ms: one
// build without the cache (a new second), and build-p50-ms, build-p99-ms
// and build-max-ms of every manifest build the origin made while the
// clients hammered it (requests that missed the cache and Prebuild's;
// origin.Config.OnBuild), with builds their number (about 10 per op: run
// -benchtime 10x for a p99 that is not the maximum). It runs three times,
// with Prebuild's thread: at the process's priority (build-nice=0); at
// origin.DefaultBuildNice alone; at serve's defaults, that nice value and
// a realtime priority while it builds (origin.DefaultBuildRealtime).
// Below nice 0 and realtime need CAP_SYS_NICE; refused, a run equals the
// one before.
func BenchmarkOriginManifest24h8Tracks(b *testing.B) {
	for _, pr := range []struct{ nice, rt int }{{0, 0}, {origin.DefaultBuildNice, 0}, {origin.DefaultBuildNice, origin.DefaultBuildRealtime}} {
		name := fmt.Sprintf("build-nice=%d", pr.nice)
		if pr.rt != 0 {
			name += fmt.Sprintf(",build-rt=%d", pr.rt)
		}
		b.Run(name, func(b *testing.B) { benchManifest(b, pr.nice, pr.rt) })
	}
}

// benchManifest is BenchmarkOriginManifest24h8Tracks with Prebuild's
// thread at nice and, while it builds, realtime priority rt
// (origin.Config.BuildNice, BuildRealtime).
func benchManifest(b *testing.B, nice, rt int) {
	bd, st, _ := benchday.Filled(b)
	dayEnd := time.Unix(0, (benchday.K0+benchday.PerTrack)*int64(2*time.Second))
	start := time.Now()
	clk := func() time.Time { return dayEnd.Add(origin.DefaultEdgeLag + time.Since(start)) }
	var builds buildTimes
	s, err := origin.New(origin.Config{Store: st, DB: bd.DB, Now: clk, Window: 24 * time.Hour, OnBuild: builds.add, BuildNice: nice, BuildRealtime: rt})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	go s.Prebuild(ctx)                                 // as serve runs it
	go gcfloor.Keep(ctx, gcfloor.Default, time.Second) // as serve runs it
	body := fetchAll(b, srv.URL+"/"+benchday.Channel+"/manifest.mpd")
	static := staticServer(b, "manifest.mpd", body)
	build := buildTime(b, st, bd.DB, dayEnd)
	var og, sg []time.Duration
	builds.reset()
	b.ResetTimer()
	for range b.N {
		og = append(og, hammer(b, srv.URL+"/"+benchday.Channel+"/manifest.mpd", benchFor)...)
		sg = append(sg, hammer(b, static.URL+"/manifest.mpd", benchFor)...)
	}
	b.StopTimer()
	bt := builds.reset()
	reportLatency(b, "origin", og)
	reportLatency(b, "static", sg)
	b.ReportMetric(pct(og, 99).Seconds()/pct(sg, 99).Seconds(), "p99-ratio")
	b.ReportMetric(build.Seconds()*1000, "build-ms")
	if len(bt) == 0 {
		b.Fatalf("the origin made no manifest build in %s of requests: build-p99-ms needs some", benchFor)
	}
	b.ReportMetric(pct(bt, 50).Seconds()*1000, "build-p50-ms")
	b.ReportMetric(pct(bt, 99).Seconds()*1000, "build-p99-ms")
	b.ReportMetric(slices.Max(bt).Seconds()*1000, "build-max-ms")
	b.ReportMetric(float64(len(bt)), "builds")
	b.ReportMetric(float64(len(body)), "MPD-bytes")
}

// buildTimes are the durations of an origin's manifest builds
// (origin.Config.OnBuild).
type buildTimes struct {
	mu sync.Mutex
	d  []time.Duration
}

func (bt *buildTimes) add(d time.Duration) {
	bt.mu.Lock()
	bt.d = append(bt.d, d)
	bt.mu.Unlock()
}

// reset returns the durations noted so far and forgets them.
func (bt *buildTimes) reset() []time.Duration {
	bt.mu.Lock()
	defer bt.mu.Unlock()
	d := bt.d
	bt.d = nil
	return d
}

// buildTime is the time of one live MPD build of the day without the
// per-second cache (the memo of runs warm, as on a running origin).
func buildTime(b *testing.B, st *cloud.Store, db *index.DB, dayEnd time.Time) time.Duration {
	now := dayEnd.Add(origin.DefaultEdgeLag)
	s, err := origin.New(origin.Config{Store: st, DB: db, Now: func() time.Time { return now }, Window: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	req := func() time.Duration {
		t0 := time.Now()
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+benchday.Channel+"/manifest.mpd", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("manifest: %d %s", rec.Code, rec.Body)
		}
		return time.Since(t0)
	}
	req() // the first walks back the day once
	now = now.Add(time.Second)
	return req()
}

// BenchmarkOriginSegments: 100 concurrent clients each fetching 32 media
// segments of the day's 1080p track (about 1.5 MB each) from the origin
// (index lookup, store read, ServeContent) and, as the baseline, the same
// files from a static file server; MB/s of each and their ratio.
func BenchmarkOriginSegments(b *testing.B) {
	bd, st, storeDir := benchday.Filled(b)
	const n = 32
	keys := storeSegments(b, st, bd, n)
	s, err := origin.New(origin.Config{Store: st, DB: bd.DB})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	b.Cleanup(srv.Close)
	static := httptest.NewServer(http.FileServer(http.Dir(storeDir)))
	b.Cleanup(static.Close)
	var ob, sb int64
	var od, sd time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		ob += fetchEach(b, srv.URL, keys)
		od += time.Since(t0)
		t0 = time.Now()
		sb += fetchEach(b, static.URL, keys)
		sd += time.Since(t0)
	}
	b.StopTimer()
	omb, smb := float64(ob)/(1<<20)/od.Seconds(), float64(sb)/(1<<20)/sd.Seconds()
	b.ReportMetric(omb, "origin-MB/s")
	b.ReportMetric(smb, "static-MB/s")
	b.ReportMetric(omb/smb, "MB/s-ratio")
}

// storeSegments writes the first n segments of the day's first track as
// objects of their index size; their keys.
func storeSegments(b *testing.B, st *cloud.Store, bd *benchday.Day, n int) []string {
	rows, err := bd.DB.Segments(context.Background(), bd.Tracks[0].ID, benchday.K0, benchday.K0+int64(n)-1)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var keys []string
	for _, r := range rows {
		data := make([]byte, r.Size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		if err := st.Create(context.Background(), r.Key, data, nil); err != nil {
			b.Fatal(err)
		}
		keys = append(keys, r.Key)
	}
	return keys
}

// fetchEach has every client fetch every key from base; the bytes read.
func fetchEach(b *testing.B, base string, keys []string) int64 {
	c := benchClient()
	var mu sync.Mutex
	var total int64
	var wg sync.WaitGroup
	for i := range benchClients {
		wg.Go(func() {
			var n int64
			for j := range keys {
				n += get1(b, c, base+"/"+keys[(i+j)%len(keys)])
			}
			mu.Lock()
			total += n
			mu.Unlock()
		})
	}
	wg.Wait()
	return total
}

// hammerEnv names the URL the load generator process hammers
// (hammerEnv+"_FOR": for how long).
const hammerEnv = "REAPARCHIVE_BENCH_HAMMER"

// hammer has benchClients concurrent clients GET url for d, each sending
// its next request as soon as the last is answered, and returns every
// request's latency. The clients run in a process of their own (this test
// binary again: hammerMain), as players do elsewhere: they share the
// machine's 2 cores with the server, not its heap and garbage collector.
// With REAPARCHIVE_BENCH_HAMMER_NICE=N they run at nice N (19: the kernel
// gives the cores to the server first, as if the clients were on other
// machines; BENCHMARKS.md reports both).
func hammer(b *testing.B, url string, d time.Duration) []time.Duration {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if n := os.Getenv(hammerEnv + "_NICE"); n != "" {
		cmd = exec.Command("nice", "-n", n, os.Args[0], "-test.run=^$")
	}
	cmd.Env = append(os.Environ(), hammerEnv+"="+url, hammerEnv+"_FOR="+d.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("load generator: %v\n%s", err, stderr.Bytes())
	}
	var lat []time.Duration
	for _, f := range strings.Fields(string(out)) {
		ns, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			b.Fatalf("load generator: %q: %v", f, err)
		}
		lat = append(lat, time.Duration(ns))
	}
	if len(lat) == 0 {
		b.Fatalf("load generator sent no request\n%s", stderr.Bytes())
	}
	return lat
}

// hammerMain is the load generator process of hammer: it prints the
// latency of every request (nanoseconds, one per line), and exits 1 if a
// request failed.
func hammerMain(url string) int {
	d, err := time.ParseDuration(os.Getenv(hammerEnv + "_FOR"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	c := benchClient()
	var mu sync.Mutex
	var all []time.Duration
	var failed atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range benchClients {
		wg.Go(func() {
			var lat []time.Duration
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if _, err := getOnce(c, url); err != nil {
					failed.Add(1)
					fmt.Fprintln(os.Stderr, err)
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	w := bufio.NewWriter(os.Stdout)
	for _, l := range all {
		fmt.Fprintln(w, l.Nanoseconds())
	}
	if err := w.Flush(); err != nil || failed.Load() > 0 {
		return 1
	}
	return 0
}

// getOnce GETs url, which must answer 200, and reads the body: its bytes.
func getOnce(c *http.Client, url string) (int64, error) {
	res, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		return n, fmt.Errorf("GET %s: %w", url, err)
	}
	if res.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %d", url, res.StatusCode)
	}
	return n, nil
}

func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: benchClients, MaxConnsPerHost: benchClients, DisableCompression: true}}
}

// get1 GETs url, which must answer 200; the body bytes read.
func get1(b *testing.B, c *http.Client, url string) int64 {
	n, err := getOnce(c, url)
	if err != nil {
		b.Error(err)
	}
	return n
}

func fetchAll(b *testing.B, url string) []byte {
	res, err := http.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		b.Fatalf("GET %s: %d %v %s", url, res.StatusCode, err, body)
	}
	return body
}

// staticServer serves body as the file name with net/http's FileServer.
func staticServer(b *testing.B, name string, body []byte) *httptest.Server {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
		b.Fatal(err)
	}
	s := httptest.NewServer(http.FileServer(http.Dir(dir)))
	b.Cleanup(s.Close)
	return s
}

// pct is the p-th percentile of lat.
func pct(lat []time.Duration, p int) time.Duration {
	s := slices.Clone(lat)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func reportLatency(b *testing.B, who string, lat []time.Duration) {
	b.ReportMetric(pct(lat, 50).Seconds()*1000, fmt.Sprintf("%s-p50-ms", who))
	b.ReportMetric(pct(lat, 99).Seconds()*1000, fmt.Sprintf("%s-p99-ms", who))
}

// BenchmarkOriginBuild24h8Tracks: one warm build of the day's live MPD
// per op, without the per-second cache (each op a new second); the first,
// cold build (it reads the day's rows and walks back to where the first
// run began) is outside the timer. The floor under
// BenchmarkOriginManifest24h8Tracks's slowest requests.
func BenchmarkOriginBuild24h8Tracks(b *testing.B) {
	bd, st, _ := benchday.Filled(b)
	dayEnd := time.Unix(0, (benchday.K0+benchday.PerTrack)*int64(2*time.Second))
	now := dayEnd.Add(origin.DefaultEdgeLag)
	s, err := origin.New(origin.Config{Store: st, DB: bd.DB, Now: func() time.Time { return now }, Window: 24 * time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	build := func() {
		now = now.Add(time.Second)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+benchday.Channel+"/manifest.mpd", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("manifest: %d %s", rec.Code, rec.Body)
		}
	}
	build() // cold
	b.ResetTimer()
	for range b.N {
		build()
	}
}

// BenchmarkOriginHLSCold24h8Tracks: the first live HLS media playlist of a
// new origin over the day's archive with the default 2-hour window, which
// counts the live Periods of the 22 hours before the window once
// (EXT-X-MEDIA-SEQUENCE, EXT-X-DISCONTINUITY-SEQUENCE), against the same
// origin's build of the next second (warm: it reads only the Ks the window
// slid over) as the baseline: cold-ms, warm-ms and their ratio.
func BenchmarkOriginHLSCold24h8Tracks(b *testing.B) {
	bd, st, _ := benchday.Filled(b)
	dayEnd := time.Unix(0, (benchday.K0+benchday.PerTrack)*int64(2*time.Second))
	target := "/" + benchday.Channel + "/media-v1080.m3u8"
	var cold, warm time.Duration
	b.ResetTimer()
	for range b.N {
		now := dayEnd.Add(origin.DefaultEdgeLag)
		s, err := origin.New(origin.Config{Store: st, DB: bd.DB, Now: func() time.Time { return now }})
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []*time.Duration{&cold, &warm} {
			t0 := time.Now()
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", target, rec.Code, rec.Body)
			}
			*d += time.Since(t0)
			now = now.Add(time.Second)
		}
	}
	b.StopTimer()
	b.ReportMetric(cold.Seconds()*1000/float64(b.N), "cold-ms")
	b.ReportMetric(warm.Seconds()*1000/float64(b.N), "warm-ms")
	b.ReportMetric(cold.Seconds()/warm.Seconds(), "cold-ratio")
}
