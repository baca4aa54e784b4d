package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// retentionStatus is what TestE2ERetention reads of status --json.
type retentionStatus struct {
	Channels []struct {
		Tracks []struct {
			Rep          string      `json:"rep"`
			First        int64       `json:"first"`
			Last         int64       `json:"last"`
			Segments     int64       `json:"segments"`
			Gaps         []jsonRange `json:"gaps"`
			ArchiveStart string      `json:"archive_start"`
			Pruned       bool        `json:"pruned"`
		} `json:"tracks"`
	} `json:"channels"`
}

// TestE2ERetention records two livesim2 servers for 60 s with
// record --retention 20s: the recorder prunes while it records, so the
// archive is about 20 s long when it stops; a prune then leaves no segment
// that ends before its horizon in the store; verify --read-data is clean;
// and a reindex into a fresh index gives the same status.
func TestE2ERetention(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a, b := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch = "news"
	r := mustCLI(t, ctx, ar.args("record", "--channel", ch, "--for", "60s", "--retention", "20s",
		"--source", "a="+mpdURL(a, ""), "--source", "b="+mpdURL(b, ""))...)
	t.Logf("record: %s", r.stderr)
	st := retentionStatusOf(t, ar.args("status", "--json", "--channel", ch))
	for _, tr := range st.Channels[0].Tracks {
		// Up to 20 s + one pass (10 s) + the segment being recorded.
		if !tr.Pruned || tr.Segments < 9 || tr.Segments > 17 || tr.Last-tr.First+1 != tr.Segments || len(tr.Gaps) != 0 {
			t.Errorf("%s after recording: %+v, want about 20 s (10..16 segments of 2 s) from its archive start, no gaps", tr.Rep, tr)
		}
	}
	var rep pruneReport
	r = mustCLI(t, ctx, ar.args("prune", "--retention", "20s", "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Channels) != 1 {
		t.Fatalf("prune --json: %v\n%s", err, r.stdout)
	}
	start, horizon := rep.Channels[0].Tracks[0].ArchiveStartK, rep.Channels[0].Horizon
	for name, ks := range mediaKeys(t, ar.store) {
		for _, k := range ks {
			if end := time.Unix(0, (k+1)*int64(2*time.Second)); k < start || !end.After(horizon) {
				t.Errorf("%s: K %d (ends %s) in the store, before the archive's start K %d (horizon %s)", name, k, end, start, horizon)
			}
		}
	}
	after := retentionStatusOf(t, ar.args("status", "--json", "--channel", ch))
	mustCLI(t, ctx, ar.args("verify", "--read-data")...)
	fresh := filepath.Join(ar.dir, "fresh.db")
	mustCLI(t, ctx, "reindex", "--store", ar.storeURL(), "--index", fresh)
	again := retentionStatusOf(t, []string{"status", "--json", "--channel", ch, "--store", ar.storeURL(), "--index", fresh})
	for i, tr := range after.Channels[0].Tracks {
		got := again.Channels[0].Tracks[i]
		if got.Rep != tr.Rep || got.First != tr.First || got.Last != tr.Last || got.Segments != tr.Segments || len(got.Gaps) != 0 || got.ArchiveStart != tr.ArchiveStart {
			t.Errorf("%s: status of the reindexed index %+v, want %+v", tr.Rep, got, tr)
		}
	}
}

func retentionStatusOf(t *testing.T, args []string) retentionStatus {
	t.Helper()
	r := mustCLI(t, t.Context(), args...)
	var st retentionStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || len(st.Channels) != 1 || len(st.Channels[0].Tracks) != 2 {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	t.Logf("status --json:\n%s", r.stdout)
	return st
}
