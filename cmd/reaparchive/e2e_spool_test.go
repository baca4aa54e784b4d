package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2EStoreOutageSpool is issue 5's storage-fault check: MinIO is
// stopped for 30 s in the middle of a 70 s recording of two livesim2
// sources with --spool and started again. The recorder spools while the
// store is gone and uploads the spool, in order, when it is back: after
// the run status shows 0 gaps, verify --read-data is clean and the spool
// is empty.
func TestE2EStoreOutageSpool(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ch = "news"
	srv := testenv.StartMinIO(t)
	storeURL := srv.BucketURL(t, "outage")
	l1, l2 := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	dir := t.TempDir()
	idx, spoolDir := filepath.Join(dir, "index.db"), filepath.Join(dir, "spool")

	d := e2eSegDur
	start := time.Now().Truncate(d).Add(d + d/4)
	time.Sleep(time.Until(start))
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(ctx, "record", "--store", storeURL, "--index", idx, "--channel", ch, "--for", "70s",
			"--source", "a="+mpdURL(l1, ""), "--source", "b="+mpdURL(l2, ""),
			"--spool", spoolDir, "--spool-max", "1GiB")
	}()
	time.Sleep(20 * time.Second)
	srv.Stop()
	t.Logf("MinIO stopped at %v", time.Since(start).Round(time.Second))
	time.Sleep(30 * time.Second)
	srv.Restart(t)
	t.Logf("MinIO started again at %v", time.Since(start).Round(time.Second))
	r := <-done
	t.Logf("record ended at %v", time.Since(start).Round(time.Second))
	if r.code != exitOK {
		t.Fatalf("record: %s", r)
	}
	for _, want := range []string{"store unreachable: spooling segments locally", "spool drained"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("record's log has no %q:\n%s", want, r.stderr)
		}
	}
	if des, err := os.ReadDir(spoolDir); err != nil || len(des) != 0 {
		t.Errorf("spool after the run: %v, %d files; want empty", err, len(des))
	}

	st := runCLI(ctx, "status", "--store", storeURL, "--index", idx, "--json", "--channel", ch)
	if st.code != exitOK {
		t.Fatalf("status: %s", st)
	}
	var s struct {
		Channels []struct {
			Tracks []struct {
				Rep      string            `json:"rep"`
				Segments int64             `json:"segments"`
				Gaps     []json.RawMessage `json:"gaps"`
			} `json:"tracks"`
		} `json:"channels"`
	}
	if err := json.Unmarshal([]byte(st.stdout), &s); err != nil || len(s.Channels) != 1 {
		t.Fatalf("status --json: %v\n%s", err, st.stdout)
	}
	if len(s.Channels[0].Tracks) != len(e2eReps) {
		t.Errorf("%d tracks; want %d", len(s.Channels[0].Tracks), len(e2eReps))
	}
	for _, tr := range s.Channels[0].Tracks {
		if len(tr.Gaps) != 0 || tr.Segments < 33 {
			t.Errorf("%s: %d segments, gaps %s; want at least 33 and no gaps", tr.Rep, tr.Segments, tr.Gaps)
		}
		t.Logf("%s: %d segments, %d gaps", tr.Rep, tr.Segments, len(tr.Gaps))
	}
	if v := runCLI(ctx, "verify", "--store", storeURL, "--index", idx, "--read-data"); v.code != exitOK {
		t.Errorf("verify --read-data: %s", v)
	}
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, "spool") || strings.Contains(l, "ERROR") {
			t.Logf("record: %s", l)
		}
	}
}
