// Package testenv holds what the tests of several packages share: the demo
// asset and the in-process simulated encoder (sim.go), media builders, the
// object stores (stores.go), and the real external tools the end-to-end
// tests use (livesim2, ffmpeg, the headless-Chromium player check), on
// 127.0.0.1 only, stopped when a test ends. scripts/test.sh installs
// the tools and sets REAPARCHIVE_TEST_*; with REAPARCHIVE_TEST_REQUIRE=1 (or
// CI set) a missing tool fails the test instead of skipping it.
package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// missing fails (in CI or under scripts/test.sh) or skips the test.
func missing(t testing.TB, what string) {
	t.Helper()
	if os.Getenv("REAPARCHIVE_TEST_REQUIRE") != "" || os.Getenv("CI") != "" {
		t.Fatalf("%s is not available; run the tests with scripts/test.sh, which installs it", what)
	}
	t.Skipf("%s is not available; scripts/test.sh installs it (skipping outside CI)", what)
}

// FFmpeg returns the paths of ffmpeg and ffprobe.
func FFmpeg(t testing.TB) (ffmpeg, ffprobe string) {
	t.Helper()
	a, err1 := exec.LookPath("ffmpeg")
	b, err2 := exec.LookPath("ffprobe")
	if err1 != nil || err2 != nil {
		missing(t, "ffmpeg/ffprobe")
	}
	return a, b
}

// DecodedFrames decodes every stream of a presentation with ffmpeg (failing
// the test on any message at -v error) and returns the number of decoded
// video and audio frames.
func DecodedFrames(t testing.TB, mpd string) (video, audio int) {
	t.Helper()
	ffmpeg, _ := FFmpeg(t)
	out, err := exec.Command(ffmpeg, "-v", "error", "-i", mpd, "-f", "null", "-").CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("ffmpeg -v error -i %s -f null - : err=%v output:\n%s", mpd, err, out)
	}
	count := func(sel string) int {
		out, err := exec.Command(ffmpeg, "-v", "error", "-i", mpd, "-map", sel, "-f", "framemd5", "-").Output()
		if err != nil {
			t.Fatalf("ffmpeg framemd5 %s: %v", sel, err)
		}
		n := 0
		for _, l := range strings.Split(string(out), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				n++
			}
		}
		return n
	}
	return count("0:v?"), count("0:a?")
}

// Livesim2 is a running livesim2 server.
type Livesim2 struct {
	Port int
	bin  string
	vod  string
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// URL is the base URL, e.g. http://127.0.0.1:PORT/livesim2/.
func (l *Livesim2) URL() string { return fmt.Sprintf("http://127.0.0.1:%d/livesim2/", l.Port) }

// StartLivesim2 starts livesim2 v1.9.0 on a free loopback port with its
// shipped test assets; it is stopped when the test ends.
func StartLivesim2(t testing.TB) *Livesim2 {
	t.Helper()
	bin := os.Getenv("REAPARCHIVE_TEST_LIVESIM2")
	assets := os.Getenv("REAPARCHIVE_TEST_LIVESIM2_ASSETS")
	if bin == "" || assets == "" {
		missing(t, "livesim2 (REAPARCHIVE_TEST_LIVESIM2, REAPARCHIVE_TEST_LIVESIM2_ASSETS)")
	}
	l := &Livesim2{Port: FreePort(t), bin: bin, vod: assets}
	if err := l.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Stop)
	return l
}

// Start (re)starts the server on its port and waits until it answers.
func (l *Livesim2) Start() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cmd != nil {
		return nil
	}
	cmd := exec.Command(l.bin, "--port", strconv.Itoa(l.Port), "--vodroot", l.vod, "--repdataroot", "-",
		"--logformat", "discard", "--host", fmt.Sprintf("http://127.0.0.1:%d", l.Port))
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start livesim2: %w", err)
	}
	l.cmd = cmd
	deadline := time.Now().Add(60 * time.Second) // loading its assets takes long on busy cores
	for time.Now().Before(deadline) {
		resp, err := http.Get(l.URL() + "testpic_2s/Manifest.mpd")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("livesim2 on port %d did not come up", l.Port)
}

// Stop kills the server (as a crash would).
func (l *Livesim2) Stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cmd == nil {
		return
	}
	_ = l.cmd.Process.Kill()
	_ = l.cmd.Wait()
	l.cmd = nil
}

// FreePort returns a free TCP port on 127.0.0.1.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := listenPort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func listenPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// PlayResult is what scripts/player/play.mjs reports.
type PlayResult struct {
	Player      string   `json:"player"`
	OK          bool     `json:"ok"`
	Ended       bool     `json:"ended"`
	Duration    float64  `json:"duration"`
	CurrentTime float64  `json:"currentTime"`
	Waiting     int      `json:"waiting"`
	Errors      []string `json:"errors"`
	// WaitingAt are the media times of the 'waiting' events.
	WaitingAt []float64 `json:"waitingAt"`
	// Stalls are the stretches of at least 0.25 s wall clock in which
	// playback was on but the media time did not advance.
	Stalls []Stall `json:"stalls"`
	// Seeks are the seeks the player made by itself (gap jumping).
	Seeks []struct {
		From float64 `json:"from"`
		To   float64 `json:"to"`
	} `json:"seeks"`
	// Buffered are the video element's buffered ranges at the end.
	Buffered [][2]float64 `json:"buffered"`
	// LicenceRequests are the URLs of the POST requests to other origins
	// than the harness's (EME licence requests).
	LicenceRequests []string `json:"licenceRequests"`
	// Events are the timed-metadata events the player reported.
	Events []PlayerEvent `json:"events"`
	// Cues are the subtitle cues the video element's text tracks held
	// (PlayText only).
	Cues []PlayerCue `json:"cues"`
	// StartTime is the media time at the first 'playing', Advanced how far
	// the media time moved since, Watched the wall seconds since (PlayLive).
	StartTime float64 `json:"startTime"`
	Advanced  float64 `json:"advanced"`
	Watched   float64 `json:"watched"`
}

// PlayerCue is a subtitle cue of one of the video element's text tracks:
// the track's language and label, the cue's times in presentation seconds
// and text, and Shown when it was active in a showing track (on screen).
type PlayerCue struct {
	Lang  string  `json:"lang"`
	Label string  `json:"label"`
	Start float64 `json:"start"`
	End   float64 `json:"end"`
	Text  string  `json:"text"`
	Shown bool    `json:"shown"`
}

// PlayerEvent is a timed-metadata event a player reported: Kind "region"
// (Shaka timelineregionadded), "emsg" (Shaka), "dashjs" (dash.js, on
// start) or "daterange" (hls.js), its scheme (for hls.js the SCTE35-*
// attribute), id, start and end in presentation seconds (End nil when
// open), and the media time At when it was reported.
type PlayerEvent struct {
	Kind   string   `json:"kind"`
	Scheme string   `json:"scheme"`
	ID     string   `json:"id"`
	Start  float64  `json:"start"`
	End    *float64 `json:"end"`
	At     float64  `json:"at"`
}

// Stall is one stall of playback: at media time At, for Wall seconds.
type Stall struct {
	At      float64 `json:"at"`
	Wall    float64 `json:"wall"`
	Ongoing bool    `json:"ongoing"`
}

// Play plays root/manifest to the end in headless Chromium with player
// (dashjs, shaka or hlsjs) and returns the result; it fails the test if the
// player did not reach the end without errors.
func Play(t testing.TB, ctx context.Context, player, root, manifest string) PlayResult {
	t.Helper()
	return PlayAt(t, ctx, player, root, manifest, 8)
}

// PlayAt is Play at playback rate rate.
func PlayAt(t testing.TB, ctx context.Context, player, root, manifest string, rate float64) PlayResult {
	t.Helper()
	return play(t, ctx, player, root, manifest, rate, "")
}

// PlayText is Play with the subtitle track of language lang selected and
// shown, at 4x (at 8x on busy cores dash.js has been seen to fetch only the
// first text segments); the result's Cues are the cues the player put on
// the video element.
func PlayText(t testing.TB, ctx context.Context, player, root, manifest, lang string) PlayResult {
	t.Helper()
	return play(t, ctx, player, root, manifest, 4, lang)
}

func play(t testing.TB, ctx context.Context, player, root, manifest string, rate float64, lang string) PlayResult {
	t.Helper()
	args := []string{"--root", root, "--manifest", manifest, "--rate", strconv.FormatFloat(rate, 'f', -1, 64), "--timeout", "240"}
	if lang != "" {
		args = append(args, "--text", lang)
	}
	return runPlayer(t, ctx, player, manifest, args)
}

// PlayLive plays the live manifest at url (served with CORS) at rate 1 in
// headless Chromium with player and watches it for watch after playback
// starts; it fails the test if the player did not play that long without
// errors.
func PlayLive(t testing.TB, ctx context.Context, player, url string, watch time.Duration) PlayResult {
	t.Helper()
	return runPlayer(t, ctx, player, url, []string{"--url", url, "--watch", strconv.FormatFloat(watch.Seconds(), 'f', -1, 64),
		"--timeout", strconv.FormatFloat(watch.Seconds()+60, 'f', -1, 64)})
}

// PlayLiveText is PlayLive with the subtitle track of language lang
// selected and shown; the result's Cues are the cues the player put on
// the video element.
func PlayLiveText(t testing.TB, ctx context.Context, player, url, lang string, watch time.Duration) PlayResult {
	t.Helper()
	return runPlayer(t, ctx, player, url, []string{"--url", url, "--watch", strconv.FormatFloat(watch.Seconds(), 'f', -1, 64),
		"--timeout", strconv.FormatFloat(watch.Seconds()+60, 'f', -1, 64), "--text", lang})
}

// runPlayer runs play.mjs with player and args and returns its result;
// it fails the test unless the result is ok.
func runPlayer(t testing.TB, ctx context.Context, player, manifest string, args []string) PlayResult {
	t.Helper()
	dir := PlayerDir(t)
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join(dir, "play.mjs"), "--player", player}, args...)...)
	cmd.Dir = dir
	out, err := cmd.Output()
	var res PlayResult
	line := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	if jerr := json.Unmarshal([]byte(line), &res); jerr != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s: no result (err %v): %s %s", player, err, out, stderr)
	}
	if !res.OK {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s did not play %s as asked (to the end, or live for the time asked) without errors: %+v\npage console:\n%s", player, manifest, res, lastLines(stderr, 40))
	}
	return res
}

// lastLines returns the last n lines of b, for a failure message.
func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
