package ingest_test

// BenchmarkIngestLoad: the issue "a load generator pushing 8 channels × 8
// tracks concurrently (small audio-like and large video-like segments) into
// a file store; segments/s, MB/s and peak memory, each as a ratio to (a)
// writing the same bytes straight to the same directory and (b) livesim2's
// cmaf-ingest-receiver v1.9.0 on the same load, measured in the same run".
// See BENCHMARKS.md at the repository root; scripts/bench.sh runs it with
// everything it needs.
//
// Sub-benchmarks (impl=…), all on the same load (internal/loadgen) and the
// same file system (the test's temporary directory), each op on a fresh
// directory. Each op sends (writes) every track's init segment, one after
// the other, and one warm-up media segment per track, untimed; then, timed,
// the remaining media segments, one goroutine per track:
//
//	reaparchive         `reaparchive record --listen` as its own process
//	reaparchive-inproc  ingest.Server in the benchmark process (Go heap; -cpuprofile)
//	directwrite         the same bytes written by 64 goroutines: temp file, fsync, rename, fsync dir
//	directwrite-nosync  the same, plain os.WriteFile (no durability)
//	cmafingestreceiver  livesim2's cmaf-ingest-receiver v1.9.0 as its own process
//
// Metrics: MB/s (b.SetBytes: timed media bytes, 10^6), segments/s, p50-ms and
// p99-ms (time from sending a segment to its 2xx / from starting a file
// write to its end), peak-RSS-MiB (VmHWM of a receiver process: its whole
// peak resident memory), RSS-growth-MiB (peak RSS minus the RSS just before
// the timed load: for receiver processes after their start, the init and
// warm-up segments; for in-process variants, whose process also holds the load
// itself, the only comparable figure), recv-cpu-s (CPU time of a receiver
// process during the load), peak-heap-MiB (in-process receiver), sync-ms
// (a sync(2) right after the load: what a writer that does not fsync has
// left unflushed).
//
// Environment:
//
//	REAPARCHIVE_BENCH_CMAF_INGEST_RECEIVER  path of cmaf-ingest-receiver v1.9.0 (required unless -short)
//	REAPARCHIVE_BENCH_REAPARCHIVE           path of a built reaparchive binary (default: go build)
//	REAPARCHIVE_BENCH_SEGMENTS              timed media segments per track (default 8; -short: 2)

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/loadgen"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
)

const (
	envCmafIngestReceiver = "REAPARCHIVE_BENCH_CMAF_INGEST_RECEIVER"
	envReaparchiveBin     = "REAPARCHIVE_BENCH_REAPARCHIVE"
	envSegments           = "REAPARCHIVE_BENCH_SEGMENTS"
	benchSource           = "enc1"
	// warmup media segments per track are pushed (written) before the timed
	// part, after the init segments, as every receiver sees its tracks'
	// first segments: cmaf-ingest-receiver v1.9.0 crashes (nil pointer in
	// deriveAndSetFrameRates) when the first video track of a channel
	// completes its second segment before another video track of the
	// channel completed its first, which free-running pushers can cause.
	warmup = 1
)

var (
	loadOnce sync.Once
	loadVal  *loadgen.Load
	loadErr  error
)

// benchLoad is the load, generated once per test binary.
func benchLoad(b *testing.B) *loadgen.Load {
	b.Helper()
	video, audio := testenv.Assets(b)
	loadOnce.Do(func() {
		n := 8
		if testing.Short() {
			n = 2
		}
		if s := os.Getenv(envSegments); s != "" {
			var err error
			if n, err = strconv.Atoi(s); err != nil || n <= 0 {
				loadErr = fmt.Errorf("%s=%q: want a positive number", envSegments, s)
				return
			}
		}
		opts := loadgen.Options{Segments: warmup + n, Video: video, Audio: audio}
		loadVal, loadErr = loadgen.New(opts)
	})
	if loadErr != nil {
		b.Fatal(loadErr)
	}
	return loadVal
}

func BenchmarkIngestLoad(b *testing.B) {
	l := benchLoad(b)
	n, size := l.Size(warmup, -1)
	b.Logf("load: %d channels × %d tracks × %d timed segments (+%d warm-up) = %d media segments, %.1f MB (D %v)",
		len(l.Channels()), len(l.Tracks)/len(l.Channels()), len(l.Tracks[0].Segments)-warmup, warmup, n, float64(size)/1e6, l.SegmentDuration)
	b.Run("impl=reaparchive", func(b *testing.B) { benchProcess(b, l, startReaparchive) })
	b.Run("impl=reaparchive-inproc", func(b *testing.B) { benchInProcess(b, l) })
	b.Run("impl=directwrite", func(b *testing.B) { benchDirectWrite(b, l, true) })
	b.Run("impl=directwrite-nosync", func(b *testing.B) { benchDirectWrite(b, l, false) })
	b.Run("impl=cmafingestreceiver", func(b *testing.B) { benchProcess(b, l, startCmafIngestReceiver) })
}

// benchOpDir makes a fresh directory for one op, flushes what earlier ops left
// dirty in the page cache, and removes it when the benchmark ends.
func benchOpDir(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp(b.TempDir(), "op")
	if err != nil {
		b.Fatal(err)
	}
	syscall.Sync()
	return dir
}

// benchReport reports the figures every variant has.
func benchReport(b *testing.B, l *loadgen.Load, st loadgen.Stats, syncDur time.Duration) {
	b.ReportMetric(float64(st.Segments)/st.Elapsed.Seconds(), "segments/s")
	b.ReportMetric(float64(st.Quantile(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(st.Quantile(0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(syncDur.Microseconds())/1000, "sync-ms")
	if n, size := l.Size(warmup, -1); st.Segments != n || st.Bytes != size {
		b.Fatalf("timed %d segments, %d bytes; the load has %d, %d", st.Segments, st.Bytes, n, size)
	}
}

// benchSync is a sync(2) right after the load.
func benchSync() time.Duration {
	t := time.Now()
	syscall.Sync()
	return time.Since(t)
}

// ---- receivers as processes ----

// benchReceiver is a receiver process serving on 127.0.0.1.
type benchReceiver struct {
	name    string
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	path    loadgen.PathFunc
	storage string // where its media files go
	media   *regexp.Regexp
	logFile string
	done    chan error
}

type benchStartFunc func(b *testing.B, dir string) *benchReceiver

func benchFreePort(b *testing.B) int {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// start runs the receiver's command and waits until ready answers true.
func (r *benchReceiver) start(b *testing.B, ready func(c *http.Client) bool) {
	b.Helper()
	lf, err := os.Create(r.logFile)
	if err != nil {
		b.Fatal(err)
	}
	r.cmd.Stdout = nil // /dev/null: cmaf-ingest-receiver logs every request there
	r.cmd.Stderr = lf
	if err := r.cmd.Start(); err != nil {
		lf.Close()
		b.Fatalf("start %s: %v", r.name, err)
	}
	lf.Close()
	r.done = make(chan error, 1)
	go func() { r.done <- r.cmd.Wait() }()
	c := &http.Client{Timeout: 2 * time.Second}
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(60 * time.Second)
	for !ready(c) {
		select {
		case err := <-r.done:
			r.done <- err
			b.Fatalf("%s exited before it was ready: %v\n%s", r.name, err, r.logTail())
		default:
		}
		if time.Now().After(deadline) {
			r.stop(b)
			b.Fatalf("%s not ready after 60 s\n%s", r.name, r.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *benchReceiver) logTail() string {
	data, _ := os.ReadFile(r.logFile)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// stop ends the process (SIGTERM, then SIGKILL after 15 s).
func (r *benchReceiver) stop(b *testing.B) {
	b.Helper()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// benchProcStatus reads VmRSS and VmHWM of a process, in MiB.
func benchProcStatus(b *testing.B, pid string) (rss, hwm float64) {
	b.Helper()
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		b.Fatalf("peak memory needs Linux /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		for _, k := range []struct {
			key string
			v   *float64
		}{{"VmRSS:", &rss}, {"VmHWM:", &hwm}} {
			if rest, ok := strings.CutPrefix(line, k.key); ok {
				kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
				if err != nil {
					b.Fatalf("/proc/%s/status: %q", pid, line)
				}
				*k.v = kb / 1024
			}
		}
	}
	if hwm == 0 {
		b.Fatalf("/proc/%s/status has no VmHWM", pid)
	}
	return rss, hwm
}

// benchCPUTime is the user+system CPU time of a process so far.
func benchCPUTime(b *testing.B, pid int) time.Duration {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the ")" that ends the command name: utime and stime are
	// fields 14 and 15 of the whole line, 12 and 13 after it.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, s)
	}
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks
}

// benchCountMedia walks a receiver's storage and counts the media segment files
// the pattern matches, and their bytes.
func benchCountMedia(b *testing.B, root string, media *regexp.Regexp) (n int, size int64) {
	b.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if media.MatchString(filepath.ToSlash(rel)) {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n++
			size += fi.Size()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n, size
}

// benchProcess runs the load against a receiver process: start it on a
// fresh directory, push the init and warm-up segments, then (timed) the
// other media segments.
func benchProcess(b *testing.B, l *loadgen.Load, startRecv benchStartFunc) {
	_, timed := l.Size(warmup, -1)
	b.SetBytes(timed)
	var peak, growth, cpu float64
	b.StopTimer()
	for range b.N {
		dir := benchOpDir(b)
		r := startRecv(b, dir)
		pid := strconv.Itoa(r.cmd.Process.Pid)
		client := loadgen.NewClient(2 * len(l.Tracks))
		ctx := context.Background()
		if err := l.PushInits(ctx, client, r.base, r.path); err != nil {
			r.stop(b)
			b.Fatalf("%s: %v\n%s", r.name, err, r.logTail())
		}
		if _, err := l.PushMedia(ctx, client, r.base, r.path, 0, warmup); err != nil {
			r.stop(b)
			b.Fatalf("%s: %v\n%s", r.name, err, r.logTail())
		}
		idle, _ := benchProcStatus(b, pid)
		cpu0 := benchCPUTime(b, r.cmd.Process.Pid)
		b.StartTimer()
		st, err := l.PushMedia(ctx, client, r.base, r.path, warmup, -1)
		b.StopTimer()
		if err != nil {
			r.stop(b)
			b.Fatalf("%s: %v\n%s", r.name, err, r.logTail())
		}
		cpu += (benchCPUTime(b, r.cmd.Process.Pid) - cpu0).Seconds()
		_, hwm := benchProcStatus(b, pid)
		peak += hwm
		growth += hwm - idle
		syncDur := benchSync()
		client.CloseIdleConnections()
		r.stop(b)
		if n, size := benchCountMedia(b, r.storage, r.media); n != l.MediaSegments || size != l.MediaBytes {
			b.Fatalf("%s stored %d media segments, %d bytes; pushed %d, %d\n%s", r.name, n, size, l.MediaSegments, l.MediaBytes, r.logTail())
		}
		benchReport(b, l, st, syncDur)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(peak/n, "peak-RSS-MiB")
	b.ReportMetric(growth/n, "RSS-growth-MiB")
	b.ReportMetric(cpu/n, "recv-cpu-s")
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// reaparchiveBin returns $REAPARCHIVE_BENCH_REAPARCHIVE or builds the
// command once per test binary.
func reaparchiveBin(b *testing.B) string {
	b.Helper()
	if p := os.Getenv(envReaparchiveBin); p != "" {
		return p
	}
	buildOnce.Do(func() {
		// One fixed place (rebuilt by every run), so that runs leave no
		// binaries behind.
		dir, err := os.UserCacheDir()
		if err != nil {
			dir = os.TempDir()
		}
		buildPath = filepath.Join(dir, "reaparchive-bench", "reaparchive")
		out, err := exec.Command("go", "build", "-o", buildPath, "github.com/reaparchive/reaparchive/cmd/reaparchive").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/reaparchive: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return buildPath
}

// startReaparchive runs `reaparchive record --listen` receiving the load's
// channels into a file store and index under dir.
func startReaparchive(b *testing.B, dir string) *benchReceiver {
	b.Helper()
	bin := reaparchiveBin(b)
	l := benchLoad(b)
	store := filepath.Join(dir, "store")
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store: file://%s\nindex: %s\nchannels:\n", filepath.ToSlash(store), filepath.Join(dir, "index.db"))
	for _, ch := range l.Channels() {
		fmt.Fprintf(&cfg, "  - name: %s\n", ch)
	}
	cfgPath := filepath.Join(dir, "reaparchive.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	port := benchFreePort(b)
	r := &benchReceiver{
		name: "reaparchive",
		cmd: exec.Command(bin, "record", "--config", cfgPath, "--log-level", "warn", "--log-format", "json",
			"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--ingest-segment-duration", l.SegmentDuration.String(),
			// The load is a fixed day (loadgen.DefaultK0), so that runs
			// compare: not the recorder's today.
			"--max-time-skew", "0"),
		base:    fmt.Sprintf("http://127.0.0.1:%d", port),
		path:    loadgen.ReaparchivePath(benchSource),
		storage: store,
		media:   regexp.MustCompile(`^[^/]+/[^/]+/[0-9]+\.(m4s|cmf[va])$`),
		logFile: filepath.Join(dir, "reaparchive.log"),
	}
	r.start(b, func(c *http.Client) bool {
		resp, err := c.Get(r.base + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return r
}

// startCmafIngestReceiver runs livesim2's cmaf-ingest-receiver with its
// storage under dir. It listens on all interfaces (it has no address flag)
// and is reached on 127.0.0.1. -tsbd 3600 keeps every segment of the run
// (by default it deletes segments older than 90 s worth of them), and
// -loglevel warn drops its per-segment log lines (its per-request access
// log goes to stdout, which is /dev/null).
func startCmafIngestReceiver(b *testing.B, dir string) *benchReceiver {
	b.Helper()
	bin := os.Getenv(envCmafIngestReceiver)
	if bin == "" {
		msg := envCmafIngestReceiver + " is not set: it must name livesim2's cmaf-ingest-receiver v1.9.0 (scripts/bench.sh builds it into .cache/bin)"
		if testing.Short() {
			b.Skip(msg)
		}
		b.Fatal(msg)
	}
	if _, err := os.Stat(bin); err != nil {
		b.Fatalf("%s: %v", envCmafIngestReceiver, err)
	}
	port := benchFreePort(b)
	storage := filepath.Join(dir, "storage")
	r := &benchReceiver{
		name:    "cmaf-ingest-receiver",
		cmd:     exec.Command(bin, "-port", strconv.Itoa(port), "-storage", storage, "-loglevel", "warn", "-tsbd", "3600"),
		base:    fmt.Sprintf("http://127.0.0.1:%d", port),
		path:    loadgen.PrefixPath("/upload"),
		storage: storage,
		media:   regexp.MustCompile(`^[^/]+/[^/]+/[0-9]+\.cmf[va]$`),
		logFile: filepath.Join(dir, "cmaf-ingest-receiver.log"),
	}
	r.start(b, func(c *http.Client) bool {
		conn, err := net.DialTimeout("tcp", strings.TrimPrefix(r.base, "http://"), time.Second)
		if err != nil {
			return false
		}
		conn.Close()
		return true
	})
	return r
}

// ---- in-process variants ----

// benchSelfRSS resets this process's peak RSS (VmHWM) to its current RSS after
// a GC that returns freed memory, and returns that RSS in MiB.
func benchSelfRSS(b *testing.B) float64 {
	b.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Fatalf("resetting the peak RSS (/proc/self/clear_refs): %v", err)
	}
	rss, _ := benchProcStatus(b, "self")
	return rss
}

// benchInProcess runs ingest.Server in this process over a file store and
// index in a fresh directory: what `reaparchive record --listen` runs,
// with the Go heap visible and profiles (-cpuprofile, -memprofile)
// covering the receiver.
func benchInProcess(b *testing.B, l *loadgen.Load) {
	_, timed := l.Size(warmup, -1)
	b.SetBytes(timed)
	var growth, heap float64
	b.StopTimer()
	for range b.N {
		dir := benchOpDir(b)
		ctx := context.Background()
		store, err := cloud.Open(ctx, "file://"+filepath.ToSlash(filepath.Join(dir, "store")))
		if err != nil {
			b.Fatal(err)
		}
		db, err := index.Open(ctx, filepath.Join(dir, "index.db"))
		if err != nil {
			b.Fatal(err)
		}
		var chans []ingest.PushChannel
		for _, ch := range l.Channels() {
			chans = append(chans, ingest.PushChannel{Name: ch})
		}
		srv, err := ingest.New(archive.New(store, db, nil), ingest.Options{Channels: chans, SegmentDuration: l.SegmentDuration})
		if err != nil {
			b.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		sctx, cancel := context.WithCancel(ctx)
		served := make(chan error, 1)
		go func() { served <- srv.Serve(sctx, ln) }()
		base := "http://" + ln.Addr().String()
		client := loadgen.NewClient(2 * len(l.Tracks))
		path := loadgen.ReaparchivePath(benchSource)
		if err := l.PushInits(ctx, client, base, path); err != nil {
			b.Fatal(err)
		}
		if _, err := l.PushMedia(ctx, client, base, path, 0, warmup); err != nil {
			b.Fatal(err)
		}
		rss0 := benchSelfRSS(b)
		hp := testenv.StartHeapPeak()
		b.StartTimer()
		st, err := l.PushMedia(ctx, client, base, path, warmup, -1)
		b.StopTimer()
		peak, _ := hp.Done()
		heap += peak
		if err != nil {
			b.Fatal(err)
		}
		_, hwm := benchProcStatus(b, "self")
		growth += hwm - rss0
		syncDur := benchSync()
		client.CloseIdleConnections()
		cancel()
		if err := <-served; err != nil {
			b.Fatal(err)
		}
		db.Close()
		store.Close()
		media := regexp.MustCompile(`^[^/]+/[^/]+/[0-9]+\.(m4s|cmf[va])$`)
		if n, size := benchCountMedia(b, filepath.Join(dir, "store"), media); n != l.MediaSegments || size != l.MediaBytes {
			b.Fatalf("stored %d media segments, %d bytes; pushed %d, %d", n, size, l.MediaSegments, l.MediaBytes)
		}
		benchReport(b, l, st, syncDur)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
	}
	n := float64(b.N)
	b.ReportMetric(growth/n, "RSS-growth-MiB")
	b.ReportMetric(heap/n, "peak-heap-MiB")
}

// benchDirectWrite writes the load's media segments straight into files
// under a fresh directory, in the archive's layout (<channel>/<rep>/<K>.<ext>),
// one goroutine per track as the receivers get them. durable: each file is
// written to a temporary file, fsynced, renamed into place and its
// directory fsynced (what the archive's file store does for every object,
// without the metadata sidecar); otherwise os.WriteFile.
func benchDirectWrite(b *testing.B, l *loadgen.Load, durable bool) {
	_, timed := l.Size(warmup, -1)
	b.SetBytes(timed)
	var growth float64
	b.StopTimer()
	for range b.N {
		dir := benchOpDir(b)
		var mkdir sync.Map // directories made (and their parents synced)
		write := func(_ context.Context, t *loadgen.Track, seg int) error {
			key := layout.MediaKey(t.Channel, t.Rep, l.K(seg), layout.Ext(""))
			p := filepath.Join(dir, filepath.FromSlash(key))
			d := filepath.Dir(p)
			if _, ok := mkdir.Load(d); !ok {
				if err := os.MkdirAll(d, 0o755); err != nil {
					return err
				}
				if durable {
					if err := benchSyncDirs(dir, d); err != nil {
						return err
					}
				}
				mkdir.Store(d, true)
			}
			if !durable {
				return os.WriteFile(p, t.Segments[seg], 0o644)
			}
			return benchWriteDurable(p, t.Segments[seg])
		}
		if _, err := l.Run(context.Background(), 0, warmup, write); err != nil {
			b.Fatal(err)
		}
		rss0 := benchSelfRSS(b)
		b.StartTimer()
		st, err := l.Run(context.Background(), warmup, -1, write)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		_, hwm := benchProcStatus(b, "self")
		growth += hwm - rss0
		syncDur := benchSync()
		media := regexp.MustCompile(`^[^/]+/[^/]+/[0-9]+\.m4s$`)
		if n, size := benchCountMedia(b, dir, media); n != l.MediaSegments || size != l.MediaBytes {
			b.Fatalf("wrote %d media segments, %d bytes; want %d, %d", n, size, l.MediaSegments, l.MediaBytes)
		}
		benchReport(b, l, st, syncDur)
		if err := os.RemoveAll(dir); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(growth/float64(b.N), "RSS-growth-MiB")
}

// benchWriteDurable writes data to p atomically and durably: temporary file in
// the same directory, write, fsync, close, rename, fsync the directory.
func benchWriteDurable(p string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, p)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return benchSyncDir(filepath.Dir(p))
}

// benchSyncDirs fsyncs the directories from root down to the parent of d (their
// entries for the new directories).
func benchSyncDirs(root, d string) error {
	for p := filepath.Dir(d); ; p = filepath.Dir(p) {
		if err := benchSyncDir(p); err != nil {
			return err
		}
		if p == root || len(p) <= len(root) {
			return nil
		}
	}
}

func benchSyncDir(d string) error {
	f, err := os.Open(d)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
