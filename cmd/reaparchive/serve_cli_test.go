package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestServeCLI records the simulator with record --serve, reading the live
// manifest and a segment from its origin while it records, then serves the
// archive with serve and reads a catch-up manifest; it checks serve's
// usage errors.
func TestServeCLI(t *testing.T) {
	t.Parallel()
	_, mpd := newSimServer(t, simulate.Options{})
	ar := newE2EArchive(t)
	recAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(t.Context(), ar.args("record", "--channel", "c", "--for", "9s", "--source", "a="+mpd,
			"--serve", recAddr, "--serve-edge-lag", "3s", "--serve-window", "1m")...)
	}()
	live := waitFor(t, "http://"+recAddr+"/c/manifest.mpd", done)
	if !strings.Contains(live, `type="dynamic"`) || !strings.Contains(live, `timeShiftBufferDepth="PT1M"`) {
		t.Errorf("record --serve live manifest:\n%s", live)
	}
	m := regexp.MustCompile(`media="(c/[^/]+)/\$Number\$\.(\w+)" .*startNumber="(\d+)"`).FindStringSubmatch(live)
	if m == nil {
		t.Fatalf("no SegmentTemplate in\n%s", live)
	}
	if code, _ := serveGet(t, fmt.Sprintf("http://%s/%s/%s.%s", recAddr, m[1], m[3], m[2])); code != http.StatusOK {
		t.Errorf("record --serve: segment %s of %s: %d", m[3], m[1], code)
	}
	if r := <-done; r.code != exitOK {
		t.Fatalf("record --serve: %s", r)
	}
	if _, err := http.Get("http://" + recAddr + "/healthz"); err == nil {
		t.Errorf("record --serve still serving after the recording ended")
	}

	ctx, cancel := context.WithCancel(t.Context())
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	go func() { done <- runCLI(ctx, ar.args("serve", "--listen", addr)...) }()
	waitFor(t, "http://"+addr+"/healthz", done)
	start := regexp.MustCompile(`startNumber="(\d+)"`).FindStringSubmatch(live) // the first K listed
	code, body := serveGet(t, fmt.Sprintf("http://%s/c/manifest.mpd?start=%s&end=%s", addr, epochOfK(start[1], 0), epochOfK(start[1], 2)))
	if code != http.StatusOK || !strings.Contains(body, `type="static"`) {
		t.Errorf("serve: catch-up: %d\n%s", code, body)
	}
	cancel()
	if r := <-done; r.code != exitOK {
		t.Errorf("serve stopped by a signal: %s", r)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"serve"}, "--listen ADDR is required"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--redirect"}, "--redirect needs an s3:// or gs:// store"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--window", "-1h"}, "--window"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--live-gaps", "fill"}, "--live-gaps fill needs --slate URL"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--live-gaps", "signal"}, `--live-gaps "signal": want split or fill`},
		{[]string{"record", "--channel", "c", "--source", "a=http://127.0.0.1:1/x.mpd", "--serve", "127.0.0.1:0", "--serve-live-gaps", "fill"}, "--serve-live-gaps fill needs --serve-slate URL"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--build-nice", "30"}, "--build-nice 30: want a nice value from -20 to 19"},
		{[]string{"record", "--channel", "c", "--source", "a=http://127.0.0.1:1/x.mpd", "--serve", "127.0.0.1:0", "--serve-build-nice", "-21"}, "--serve-build-nice -21: want a nice value from -20 to 19"},
		{[]string{"serve", "--listen", "127.0.0.1:0", "--build-rt-priority", "100"}, "--build-rt-priority 100: want a realtime priority from 1 to 99, or 0 for none"},
		{[]string{"record", "--channel", "c", "--source", "a=http://127.0.0.1:1/x.mpd", "--serve", "127.0.0.1:0", "--serve-build-rt-priority", "-1"}, "--serve-build-rt-priority -1: want a realtime priority"},
	} {
		r := runCLI(t.Context(), ar.args(tc.args[0], tc.args[1:]...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("reaparchive %s: %s; want exit %d and %q", strings.Join(tc.args, " "), r, exitUsage, tc.want)
		}
	}
}

// epochOfK is the start of K+n (D = 2 s, the simulator's) in epoch seconds.
func epochOfK(k string, n int64) string {
	var v int64
	fmt.Sscan(k, &v)
	return fmt.Sprint((v + n) * 2)
}

// waitFor polls url until it answers 200 and returns its body; done is the
// run that serves it, which must not end first.
func waitFor(t *testing.T, url string, done chan cliResult) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if code, body := serveGet(t, url); code == http.StatusOK {
			return body
		}
		select {
		case r := <-done:
			t.Fatalf("ended before %s answered: %s", url, r)
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("%s: no 200 within 30 s", url)
	return ""
}

// httpGet is GET url's status and body (0 when it does not answer).
func serveGet(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		return 0, ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
