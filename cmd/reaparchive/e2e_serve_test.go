package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2EServeTwoOrigins records two livesim2 encoders that lose the same
// segments with record --serve (whose live MPD ffmpeg reads while it
// records), then runs two serve processes over the bucket: one over the
// recorder's index, one over an index reindex rebuilt from the store. For
// 20 requests (live, start-over and catch-up, DASH and HLS) both answer
// the same bytes when they answer in the same second, and ffmpeg decodes
// a catch-up range from the origin.
func TestE2EServeTwoOrigins(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ffmpeg, _ := testenv.FFmpeg(t)
	la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch = "srv"
	recAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(ctx, ar.args("record", "--channel", ch, "--for", "30s", "--serve", recAddr, "--serve-edge-lag", "4s",
			"--source", "a="+mpdURL(la, statuscodePrefix(10, 2)), "--source", "b="+mpdURL(lb, statuscodePrefix(10, 2)))...)
	}()
	waitFor(t, "http://"+recAddr+"/"+ch+"/manifest.mpd", done)
	time.Sleep(8 * time.Second)
	if out, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", "http://"+recAddr+"/"+ch+"/manifest.mpd", "-t", "4", "-f", "null", "-").CombinedOutput(); err != nil {
		t.Errorf("ffmpeg on record --serve's live MPD: %v\n%s", err, out)
	}
	if r := <-done; r.code != exitOK {
		t.Fatalf("record --serve: %s", r)
	}
	index2 := filepath.Join(ar.dir, "reindexed.db")
	mustCLI(t, ctx, "reindex", "--store", ar.storeURL(), "--index", index2)
	a := startServe(t, ar.args("serve"))
	b := startServe(t, []string{"serve", "--store", ar.storeURL(), "--index", index2})

	live := string(httpGet(t, ctx, "http://"+a+"/"+ch+"/manifest.mpd"))
	k := regexp.MustCompile(`startNumber="(\d+)"`).FindStringSubmatch(live) // the first K listed
	if k == nil || !strings.Contains(live, "</Period>\n  <Period") {
		t.Fatalf("live MPD without the Periods of the lost segments:\n%s", live)
	}
	from, to := epochOfK(k[1], 1), epochOfK(k[1], 11)
	paths := []string{"manifest.mpd", "master.m3u8", "media-" + e2eVideo + ".m3u8", "manifest.mpd?start=" + from,
		fmt.Sprintf("manifest.mpd?start=%s&end=%s", from, to), fmt.Sprintf("manifest.mpd?start=%s&end=%s&gaps=split", from, to),
		fmt.Sprintf("master.m3u8?start=%s&end=%s", from, to), fmt.Sprintf("media-%s~start=%s~end=%s.m3u8", e2eAudio, from, to)}
	for i := range 20 {
		p := "/" + ch + "/" + paths[i%len(paths)]
		sameSecond(t, "http://"+a+p, "http://"+b+p)
	}
	if out, err := exec.CommandContext(ctx, ffmpeg, "-v", "error", "-i", "http://"+a+"/"+ch+"/"+paths[4], "-f", "null", "-").CombinedOutput(); err != nil {
		t.Errorf("ffmpeg on a catch-up MPD: %v\n%s", err, out)
	}
}

// startServe runs serve --listen on a free port until the test ends; its
// address.
func startServe(t *testing.T, args []string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	done := make(chan cliResult, 1)
	go func() { done <- runCLI(ctx, append(args, "--listen", addr)...) }()
	t.Cleanup(func() {
		cancel()
		if r := <-done; r.code != exitOK {
			t.Errorf("serve: %s", r)
		}
	})
	waitFor(t, "http://"+addr+"/healthz", done)
	return addr
}

// sameSecond GETs a and b, both early in one wall-clock second (retrying
// across a second boundary), until both answer in that second (Date), and
// checks that they answer the same bytes.
func sameSecond(t *testing.T, a, b string) {
	t.Helper()
	for range 10 {
		// Both requests start early in one wall-clock second.
		if now := time.Now(); now.Add(300*time.Millisecond).Second() != now.Second() {
			time.Sleep(time.Until(now.Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
		}
		sec := time.Now().Unix()
		ra, ba := getWithDate(t, a)
		rb, bb := getWithDate(t, b)
		if ra != rb || time.Now().Unix() != sec {
			continue
		}
		if ba != bb {
			t.Errorf("%s and %s differ at %s:\n%s\n----\n%s", a, b, ra, ba, bb)
		}
		return
	}
	t.Errorf("%s, %s: never answered in the same second", a, b)
}

// getWithDate is GET url's Date header and body; it must answer 200.
func getWithDate(t *testing.T, url string) (string, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v %s", url, res.StatusCode, err, body)
	}
	return res.Header.Get("Date"), string(body)
}
