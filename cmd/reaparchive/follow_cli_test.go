package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestServeFollowCLI is the scale-out deployment on MinIO: a recorder
// writing to the bucket with its own index and record --serve; a second
// node whose own index reindex --follow keeps from the bucket alone, with
// serve over it. 20 live and 20 catch-up manifest requests, each made of
// both origins within one wall-clock second, get identical bytes.
func TestServeFollowCLI(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	storeURL := testenv.Store("s3").URL(t)
	_, mpd := newSimServer(t, simulate.Options{})
	dir := t.TempDir()
	with := func(cmd, index string, extra ...string) []string {
		return append([]string{cmd, "--store", storeURL, "--index", filepath.Join(dir, index)}, extra...)
	}
	recAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	recDone, followDone, serveDone := make(chan cliResult, 1), make(chan cliResult, 1), make(chan cliResult, 1)
	recCtx, stopRec := context.WithCancel(ctx)
	defer stopRec()
	go func() {
		recDone <- runCLI(recCtx, with("record", "recorder.db", "--channel", "c", "--source", "a="+mpd,
			"--serve", recAddr, "--serve-window", "1m", "--serve-edge-lag", "10s")...)
	}()
	go func() { followDone <- runCLI(ctx, with("reindex", "origin.db", "--follow", "--json")...) }()
	waitForFile(t, filepath.Join(dir, "origin.db"), followDone)
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	// Both origins publish a segment 10 s after its start: the follower,
	// polling, must be within that of the recorder (under a loaded
	// machine the default 6 s was not always enough).
	go func() {
		serveDone <- runCLI(ctx, with("serve", "origin.db", "--listen", addr, "--window", "1m", "--edge-lag", "10s")...)
	}()

	live := waitFor(t, "http://"+recAddr+"/c/manifest.mpd", recDone)
	waitFor(t, "http://"+addr+"/c/manifest.mpd", serveDone)
	first := regexp.MustCompile(`startNumber="(\d+)"`).FindStringSubmatch(live) // the first K listed
	if first == nil {
		t.Fatalf("no Period in\n%s", live)
	}
	// The catch-up ranges (K first..first+6) end, and are older than the
	// edge lag (6 s), before the first request.
	var firstK int64
	fmt.Sscan(first[1], &firstK)
	time.Sleep(time.Until(time.Unix((firstK+7)*2+7, 0)))
	var targets []string
	for i := range 20 {
		targets = append(targets, "/c/manifest.mpd")
		targets = append(targets, fmt.Sprintf("/c/manifest.mpd?start=%s&end=%s", epochOfK(first[1], int64(i%3)), epochOfK(first[1], int64(3+i%4))))
	}
	for _, target := range targets {
		sameSecond(t, "http://"+recAddr+target, "http://"+addr+target)
		time.Sleep(250 * time.Millisecond) // the live requests span several segments
	}
	stopRec()
	if r := <-recDone; r.code != exitOK {
		t.Fatalf("record --serve stopped by a signal: %s", r)
	}
	cancel()
	for name, done := range map[string]chan cliResult{"reindex --follow": followDone, "serve": serveDone} {
		if r := <-done; r.code != exitOK {
			t.Errorf("%s stopped by a signal: %s", name, r)
		} else if name == "reindex --follow" {
			checkPasses(t, r.stdout)
		}
	}
}

// checkPasses checks reindex --follow --json's lines: one pass a line,
// the first full, later ones fast, some of which indexed segments.
func checkPasses(t *testing.T, stdout string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var fastIndexed int64
	for i, l := range lines {
		var p reconcile.FollowPass
		if err := json.Unmarshal([]byte(l), &p); err != nil {
			t.Fatalf("line %d of reindex --follow --json: %v\n%s", i+1, err, stdout)
		}
		if p.Pass != int64(i+1) || p.Full != (i == 0) {
			t.Errorf("line %d: pass %d, full %v", i+1, p.Pass, p.Full)
		}
		if !p.Full {
			fastIndexed += p.Indexed
		}
	}
	if fastIndexed < 20 {
		t.Errorf("fast passes indexed %d segments in the recording's 30 s or more of two tracks; want at least 20:\n%s", fastIndexed, stdout)
	}
}

// waitForFile waits until path exists; done is the run that creates it.
func waitForFile(t *testing.T, path string, done chan cliResult) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if _, err := os.Stat(path); err == nil {
			return
		}
		select {
		case r := <-done:
			t.Fatalf("ended before %s was made: %s", path, r)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no %s within 30 s", path)
}

// TestReindexFollowUsage checks reindex's --follow flags: the others are
// for --follow only, and take durations of zero or more (exit 2).
func TestReindexFollowUsage(t *testing.T) {
	t.Parallel()
	ar := newE2EArchive(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--interval", "1s"}, "--interval is for --follow"},
		{[]string{"--full-every", "10m"}, "--full-every is for --follow"},
		{[]string{"--follow", "--interval", "-1s"}, "must not be negative"},
		{[]string{"--follow", "--full-every", "soon"}, "--full-every"},
	} {
		r := runCLI(t.Context(), ar.args("reindex", tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("reaparchive reindex %s: %s; want exit %d and %q", strings.Join(tc.args, " "), r, exitUsage, tc.want)
		}
	}
}
