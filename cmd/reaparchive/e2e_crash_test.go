package main

// The crash test: `reaparchive record --listen`, the real binary, killed
// with SIGKILL at seeded random points while encoders push to it, then
// restarted on the same store and index as an operator would. After each
// restart every segment whose push was acknowledged (2xx) before the kill
// must be in the store and the index, byte-identical to what was sent, and
// `verify --read-data` must be clean.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/loadgen"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// Environment of the crash test's long form (README, Tests).
const (
	envCrashRounds = "REAPARCHIVE_CRASH_ROUNDS" // kills per store kind, default crashShortRounds
	envCrashSeed   = "REAPARCHIVE_CRASH_SEED"   // seed of the kill points, default: the clock
	envCrashStores = "REAPARCHIVE_CRASH_STORES" // comma-separated store kinds, default "file"
)

const (
	crashShortRounds = 3
	crashSource      = "enc"
	// crashPace is the pause of each track's pusher between segments: 8
	// tracks make at most 200 segments/s, so that a long form's load fits
	// in memory (crashSegsPerRound per track per round).
	crashPace         = 40 * time.Millisecond
	crashMaxKillDelay = 2 * time.Second
	crashSegsPerRound = int(crashMaxKillDelay/crashPace) + 10
)

// TestE2ECrashRecorder kills the recorder with SIGKILL at random points
// under push load, restarts it on the same store and index and checks,
// after each restart, every acknowledged segment (store, index, bytes) and
// `verify --read-data`.
func TestE2ECrashRecorder(t *testing.T) {
	t.Parallel()
	rounds := envInt(t, envCrashRounds, crashShortRounds)
	seed := envSeed(t, envCrashSeed)
	t.Logf("crash test: %d rounds per store, seed %d (rerun with %s=%d)", rounds, seed, envCrashSeed, seed)
	bin := buildBinary(t, t.TempDir())
	video, audio := testenv.Assets(t)
	load, err := loadgen.New(loadgen.Options{Video: video, Audio: audio, Channels: 2, VideoSizes: []int{100_000, 80_000},
		AudioTracks: 2, Segments: crashSegsPerRound*rounds + crashSegsPerRound, SegmentDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	kinds := "file"
	if s := os.Getenv(envCrashStores); s != "" {
		kinds = s
	}
	for i, kind := range strings.Split(kinds, ",") {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			c := newCrashRun(t, bin, testenv.Store(kind).URL(t), load, seed+uint64(i))
			c.run(t, rounds)
		})
	}
}

// crashRun is one store's crash test: the recorder's configuration, the
// load and what of it was acknowledged.
type crashRun struct {
	bin, dir, storeURL, index, config string
	load                              *loadgen.Load
	rng                               *rand.Rand
	mu                                sync.Mutex
	acked                             [][]bool // per track, per segment
}

func newCrashRun(t *testing.T, bin, storeURL string, load *loadgen.Load, seed uint64) *crashRun {
	dir := t.TempDir()
	c := &crashRun{bin: bin, dir: dir, storeURL: storeURL, index: filepath.Join(dir, "index.db"),
		config: filepath.Join(dir, "reaparchive.yaml"), load: load, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, tr := range load.Tracks {
		c.acked = append(c.acked, make([]bool, len(tr.Segments)))
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "store: %q\nindex: %q\nchannels:\n", storeURL, c.index)
	for _, ch := range load.Channels() {
		fmt.Fprintf(&cfg, "  - name: %s\n", ch)
	}
	if err := os.WriteFile(c.config, []byte(cfg.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// run makes rounds kills, each after a restart that is checked, and a
// last restart that is checked, pushed to and stopped with SIGINT, and
// checked again.
func (c *crashRun) run(t *testing.T, rounds int) {
	start := time.Now()
	total := 0
	for round := 1; round <= rounds+1; round++ {
		rec, base := c.start(t, round)
		checked := c.check(t, round)
		if t.Failed() {
			rec.kill(t)
			t.Fatalf("round %d: acknowledged segments or verify failed after the restart (log %s)", round, rec.logPath)
		}
		recovered := recoveredRows(t, rec.logPath)
		delay := time.Duration(c.rng.Int64N(int64(crashMaxKillDelay-100*time.Millisecond))) + 100*time.Millisecond
		if round > rounds {
			pushed, _ := c.pushAndStop(t, base, delay, rec.interrupt)
			checked = c.check(t, round)
			t.Logf("%d kills in %s, %d unacknowledged segments the restarts found stored and indexed; after %d more acknowledged and SIGINT, %d acknowledged segments checked",
				rounds, time.Since(start).Round(time.Millisecond), total+recovered, pushed, checked)
			return
		}
		total += recovered
		pushed, inflight := c.pushAndStop(t, base, delay, rec.kill)
		t.Logf("round %d: after the restart %d acknowledged segments checked, %d indexed by its recovery; killed %s into the push, after %d more acknowledged, %d in flight",
			round, checked, recovered, delay.Round(time.Millisecond), pushed, inflight)
	}
}

// recoveredRows is how many segment rows the recorder's recovery after an
// unclean stop added, from its log.
func recoveredRows(t *testing.T, logPath string) int {
	data, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		var e struct {
			Msg     string `json:"msg"`
			Indexed int    `json:"indexed"`
		}
		if json.Unmarshal(line, &e) == nil && e.Msg == "recovery after an unclean stop" {
			n += e.Indexed
		}
	}
	return n
}

// crashRecorder is one started recorder process.
type crashRecorder struct {
	cmd     *exec.Cmd
	exited  chan error
	logPath string
}

// start starts the recorder and waits until its /healthz answers.
func (c *crashRun) start(t *testing.T, round int) (*crashRecorder, string) {
	t.Helper()
	port := testenv.FreePort(t)
	logPath := filepath.Join(c.dir, fmt.Sprintf("record-%02d.log", round))
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(c.bin, "record", "--config", c.config, "--log-format", "json",
		"--listen", fmt.Sprintf("127.0.0.1:%d", port), "--ingest-segment-duration", c.load.SegmentDuration.String(),
		"--max-time-skew", "0") // the load is a fixed day (loadgen.DefaultK0)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rec := &crashRecorder{cmd: cmd, exited: make(chan error, 1), logPath: logPath}
	go func() { rec.exited <- cmd.Wait() }()
	t.Cleanup(func() { rec.kill(t) })
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return rec, base
			}
		}
		select {
		case err := <-rec.exited:
			rec.exited <- err
			t.Fatalf("round %d: record ended before listening (%v): %s", round, err, readTail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("round %d: record's /healthz not up after 30 s: %s", round, readTail(logPath))
	return nil, ""
}

// kill kills the recorder with SIGKILL (if it still runs) and waits for it.
func (r *crashRecorder) kill(t *testing.T) {
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case err := <-r.exited:
		r.exited <- err
	case <-time.After(10 * time.Second):
		t.Errorf("record pid %d still runs 10 s after SIGKILL", r.cmd.Process.Pid)
	}
}

// interrupt stops the recorder with SIGINT and fails unless it exits 0.
func (r *crashRecorder) interrupt(t *testing.T) {
	_ = r.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-r.exited:
		r.exited <- err
		if err != nil {
			t.Errorf("record exited with %v after SIGINT: %s", err, readTail(r.logPath))
		}
	case <-time.After(30 * time.Second):
		t.Errorf("record did not exit within 30 s of SIGINT")
	}
}

// readTail is the end of a log file.
func readTail(path string) string {
	b, _ := os.ReadFile(path)
	return tail(string(b))
}

// pushAndStop pushes every track's init, then its segments from the first
// one not acknowledged (an encoder retrying what got no answer), one after
// the other, and stops the recorder (SIGKILL, SIGINT) after delay. It
// returns how many pushes were acknowledged and how many were in flight
// when stop was called.
func (c *crashRun) pushAndStop(t *testing.T, base string, delay time.Duration, stop func(*testing.T)) (acked, inflight int) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	client := loadgen.NewClient(2 * len(c.load.Tracks))
	defer client.CloseIdleConnections()
	path := loadgen.ReaparchivePath(crashSource)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		inFlight = map[int]bool{}
	)
	for i := range c.load.Tracks {
		tr := &c.load.Tracks[i]
		wg.Go(func() {
			if crashPut(ctx, client, base+path(c.load, tr, -1), tr.Init) != nil {
				return
			}
			for j := c.firstUnacked(i); j < len(tr.Segments) && ctx.Err() == nil; j++ {
				mu.Lock()
				inFlight[i] = true
				mu.Unlock()
				err := crashPut(ctx, client, base+path(c.load, tr, j), tr.Segments[j])
				mu.Lock()
				inFlight[i] = false
				if err == nil {
					c.ack(i, j)
					acked++
				}
				mu.Unlock()
				if err != nil {
					return
				}
				time.Sleep(crashPace)
			}
		})
	}
	time.Sleep(delay)
	mu.Lock()
	for _, f := range inFlight {
		if f {
			inflight++
		}
	}
	mu.Unlock()
	stop(t)
	wg.Wait()
	return acked, inflight
}

// crashPut PUTs body to url; nil means answered 2xx (acknowledged).
func crashPut(ctx context.Context, c *http.Client, url string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("PUT %s: %s", url, resp.Status)
	}
	return nil
}

func (c *crashRun) ack(track, seg int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.acked[track][seg] = true
}

// anyAcked says whether a segment of channel ch was acknowledged.
func (c *crashRun) anyAcked(ch string) bool {
	for i, tr := range c.load.Tracks {
		if tr.Channel == ch && c.firstUnacked(i) > 0 {
			return true
		}
	}
	return false
}

// firstUnacked is the index of the track's first segment not acknowledged.
func (c *crashRun) firstUnacked(track int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	for j, a := range c.acked[track] {
		if !a {
			return j
		}
	}
	return len(c.acked[track])
}

// check checks, with the recorder restarted and idle, that every
// acknowledged segment is in the store and the index, byte-identical, and
// that `verify --read-data` exits 0 and finds nothing; it returns how many
// acknowledged segments it checked.
func (c *crashRun) check(t *testing.T, round int) int {
	t.Helper()
	ctx := t.Context()
	st, err := cloud.Open(ctx, c.storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	checked := 0
	for _, ch := range c.load.Channels() {
		if !c.anyAcked(ch) {
			continue // not in the index yet
		}
		objects := listObjects(t, ctx, st, ch)
		rows := readRows(t, ctx, c.index, ch)
		for i, tr := range c.load.Tracks {
			if tr.Channel != ch {
				continue
			}
			for j, sent := range tr.Segments {
				if c.acked[i][j] {
					c.checkSegment(t, ctx, st, round, tr, c.load.K(j), sent, objects[tr.Rep], rows[tr.Rep])
					checked++
				}
			}
		}
	}
	c.verify(t, round)
	return checked
}

// checkSegment checks one acknowledged segment: its object holds the bytes
// sent and its index row their size and SHA-256.
func (c *crashRun) checkSegment(t *testing.T, ctx context.Context, st *cloud.Store, round int, tr loadgen.Track, k int64, sent []byte,
	objects map[int64]bucketObject, rows map[int64]indexRow) {
	t.Helper()
	sum := sha256.Sum256(sent)
	want := hex.EncodeToString(sum[:])
	where := fmt.Sprintf("round %d: %s/%s K %d (acknowledged)", round, tr.Channel, tr.Rep, k)
	o, ok := objects[k]
	if !ok {
		t.Errorf("%s: not in the store", where)
	} else if got, err := st.Get(ctx, o.key); err != nil {
		t.Errorf("%s: reading %s: %v", where, o.key, err)
	} else if !bytes.Equal(got, sent) {
		t.Errorf("%s: %s holds %d bytes that differ from the %d sent", where, o.key, len(got), len(sent))
	}
	row, ok := rows[k]
	switch {
	case !ok:
		t.Errorf("%s: no index row", where)
	case row.sha != want || row.size != int64(len(sent)):
		t.Errorf("%s: index row has %d bytes, SHA-256 %s; sent %d bytes, %s", where, row.size, row.sha, len(sent), want)
	}
}

// verify runs `reaparchive verify --read-data --json` and fails unless it
// exits 0 reporting no mismatch.
func (c *crashRun) verify(t *testing.T, round int) {
	t.Helper()
	cmd := exec.Command(c.bin, "verify", "--config", c.config, "--read-data", "--json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var rep struct {
		Mismatches *int `json:"mismatches"`
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &rep); err != nil || jerr != nil || rep.Mismatches == nil || *rep.Mismatches != 0 {
		t.Errorf("round %d: verify --read-data after the restart: %v\nstdout:\n%s\nstderr:\n%s", round, err, stdout.String(), stderr.String())
	}
}

// TestRecordRecoversAfterUncleanStop: a recorder that finds the index lock
// still naming a holder (the last recorder was killed) indexes the objects
// left without index rows before it serves, so that verify is clean; after
// a clean stop (the lock file cleared) it does not look.
func TestRecordRecoversAfterUncleanStop(t *testing.T) {
	t.Parallel()
	video, audio := testenv.Assets(t)
	load, err := loadgen.New(loadgen.Options{Video: video, Audio: audio, Channels: 1, VideoSizes: []int{80_000},
		AudioTracks: 1, Segments: 4, SegmentDuration: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name           string
		deadHolder     bool
		wantMismatches int
	}{{"killed", true, 0}, {"stopped cleanly", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			ar := newE2EArchive(t)
			tr := &load.Tracks[0]
			push := func(segs ...int) {
				r := ar.recordListen(t, tr.Channel, time.Minute, "--ingest-segment-duration", "2s", "--max-time-skew", "0")
				path, base := loadgen.ReaparchivePath(crashSource), "http://"+r.addr
				for _, j := range append([]int{-1}, segs...) {
					body := tr.Init
					if j >= 0 {
						body = tr.Segments[j]
					}
					if err := crashPut(ctx, http.DefaultClient, base+path(load, tr, j), body); err != nil {
						t.Fatal(err)
					}
				}
				if res := r.stop(); res.code != exitOK {
					t.Fatalf("record: %s", res)
				}
			}
			push(0, 1, 2)
			// What a kill between the object's rename and its index row
			// leaves: the object of K2 without its row.
			orphan := load.K(2)
			db, err := index.Open(ctx, ar.index)
			if err != nil {
				t.Fatal(err)
			}
			track := findTrack(t, ctx, db, tr.Channel, tr.Rep)
			if err := db.DeleteSegment(ctx, track, orphan); err != nil {
				t.Fatal(err)
			}
			db.Close()
			if tc.deadHolder {
				if err := os.WriteFile(ar.index+".lock", []byte(`{"pid":4194304,"host":"h","started":"2026-12-05T10:00:00Z","command":"record"}`), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			push(3)
			res := runCLI(ctx, ar.args("verify", "--read-data", "--json")...)
			var rep struct {
				Mismatches int `json:"mismatches"`
			}
			if err := json.Unmarshal([]byte(res.stdout), &rep); err != nil {
				t.Fatalf("verify --json: %v\n%s", err, res)
			}
			if rep.Mismatches != tc.wantMismatches || (res.code == exitOK) != (tc.wantMismatches == 0) {
				t.Errorf("verify after the restart: %d mismatches (exit %d), want %d\n%s", rep.Mismatches, res.code, tc.wantMismatches, res)
			}
			_, indexed := readRows(t, ctx, ar.index, tr.Channel)[tr.Rep][orphan]
			if indexed != tc.deadHolder {
				t.Errorf("K %d indexed after the restart: %v, want %v", orphan, indexed, tc.deadHolder)
			}
		})
	}
}

// findTrack is the ID of a channel's track in the index.
func findTrack(t *testing.T, ctx context.Context, db *index.DB, channel, rep string) int64 {
	t.Helper()
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.Track(ctx, ch.ID, rep)
	if err != nil {
		t.Fatal(err)
	}
	return tr.ID
}
