package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/prune"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestRetentionConfig: retention: is parsed by the one duration parser;
// a bad value is an error naming the channel and the value.
func TestRetentionConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value   string
		want    time.Duration
		wantErr string
	}{
		{value: "7d", want: 7 * 24 * time.Hour},
		{value: "36h", want: 36 * time.Hour},
		{value: "2m", want: 2 * time.Minute},
		{value: "1d12h", want: 36 * time.Hour},
		{value: "7x", wantErr: `channel "news" retention "7x": want a duration`},
		{value: "0s", wantErr: `channel "news" retention "0s": must be more than zero`},
		{value: "-1h", wantErr: `channel "news" retention "-1h": must be more than zero`},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig([]byte("channels:\n  - name: news\n    retention: \""+tc.value+"\"\n"), "c.yaml")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.retention("news"); got != tc.want {
				t.Fatalf("retention %s, want %s", got, tc.want)
			}
		})
	}
}

// pruneArchive is an archive of channel "news" whose segments K0..K0+29
// (2 s each) ended 60 s to 2 s ago.
func pruneArchive(t *testing.T) (*e2eArchive, int64) {
	t.Helper()
	ar := newE2EArchive(t)
	if err := os.MkdirAll(ar.store, 0o755); err != nil {
		t.Fatal(err)
	}
	r := archivetest.Open(t, ar.storeURL(), ar.index, "news", 2*time.Second)
	k0 := time.Now().Unix()/2 - 30
	r.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+29)
	r.Close()
	return ar, k0
}

// mediaKeys are the channel's media segment keys by rep.
func mediaKeys(t *testing.T, store string) map[string][]int64 {
	t.Helper()
	out := map[string][]int64{}
	err := filepath.WalkDir(filepath.Join(store, "news"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(store, p)
		if o, err := layout.Parse(filepath.ToSlash(rel)); err == nil && o.Kind == layout.KindMedia {
			out[o.Rep] = append(out[o.Rep], o.K)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPruneCLI: prune --dry-run counts and changes nothing; prune deletes
// every segment that ends at or before its horizon and nothing after it;
// status shows the archive's start and the config's policy; verify is
// clean; without a policy prune is a usage error.
func TestPruneCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ar, k0 := pruneArchive(t)
	if r := runCLI(ctx, ar.args("prune")...); r.code != exitUsage || !strings.Contains(r.stderr, "no retention policy") {
		t.Fatalf("prune without a policy: %s", r)
	}
	var dry pruneReport
	r := mustCLI(t, ctx, ar.args("prune", "--retention", "30s", "--dry-run", "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), &dry); err != nil || len(dry.Channels) != 1 || !dry.DryRun {
		t.Fatalf("prune --dry-run --json: %v\n%s", err, r.stdout)
	}
	if d := dry.Channels[0].Deleted.Segments; d < 2*10 || d > 2*20 {
		t.Errorf("dry run would delete %d segments, want about 30", d)
	}
	for rep, ks := range mediaKeys(t, ar.store) {
		if len(ks) != 30 {
			t.Errorf("%s: %d segments after a dry run, want 30", rep, len(ks))
		}
	}
	cfg := filepath.Join(ar.dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("channels:\n  - name: news\n    retention: 30s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustCLI(t, ctx, ar.args("prune", "--config", cfg, "--json")...)
	var rep pruneReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || len(rep.Channels) != 1 {
		t.Fatalf("prune --json: %v\n%s", err, r.stdout)
	}
	res := rep.Channels[0]
	checkPruned(t, ar, res, k0)
	st := mustCLI(t, ctx, ar.args("status", "--config", cfg)...)
	if !strings.Contains(st.stdout, "retention 30s: archive starts at "+res.Tracks[0].ArchiveStart) {
		t.Errorf("status does not show the policy and the archive's start %s:\n%s", res.Tracks[0].ArchiveStart, st.stdout)
	}
	mustCLI(t, ctx, ar.args("verify", "--read-data")...)
}

// checkPruned checks that the store holds exactly the segments from each
// track's archive start on.
func checkPruned(t *testing.T, ar *e2eArchive, res prune.Result, k0 int64) {
	t.Helper()
	if len(res.Tracks) != 2 || !res.Complete {
		t.Fatalf("prune result %+v", res)
	}
	start := res.Tracks[0].ArchiveStartK
	if start <= k0+10 || start > k0+20 || res.Deleted.Segments != int(2*(start-k0)) {
		t.Errorf("archive starts at K %d (K0 %d), %d segments deleted", start, k0, res.Deleted.Segments)
	}
	horizon := time.Unix(0, (start+1)*int64(2*time.Second))
	if !horizon.After(res.Horizon) || !horizon.Add(-2*time.Second).Before(res.Horizon.Add(time.Nanosecond)) {
		t.Errorf("archive start K %d does not follow from the horizon %s", start, res.Horizon)
	}
	for rep, ks := range mediaKeys(t, ar.store) {
		if len(ks) == 0 || ks[0] != start || int64(len(ks)) != k0+30-start {
			t.Errorf("%s: store holds K %v, want %d..%d", rep, ks, start, k0+29)
		}
	}
}

// TestMinFreeConfig: retention_min_free is a percentage or a size.
func TestMinFreeConfig(t *testing.T) {
	t.Parallel()
	cases := []struct {
		value   string
		want    minFree
		wantErr string
	}{
		{value: "10%", want: minFree{percent: 10}},
		{value: "50GB", want: minFree{bytes: 50_000_000_000}},
		{value: "512MiB", want: minFree{bytes: 512 << 20}},
		{value: "0%", wantErr: `retention_min_free "0%": want a percentage`},
		{value: "101%", wantErr: `retention_min_free "101%": want a percentage`},
		{value: "lots", wantErr: `retention_min_free "lots": want a percentage`},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			t.Parallel()
			c, err := parseConfig([]byte("retention_min_free: \""+tc.value+"\"\n"), "c.yaml")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || c.minFree != tc.want {
				t.Fatalf("min free %+v (%v), want %+v", c.minFree, err, tc.want)
			}
		})
	}
}

// TestPruneMinFree: with retention_min_free and no retention policy,
// prune deletes the oldest segments while the file system has less free
// space than asked (100%: always; all but the last minute), and nothing
// while it has more (1B).
func TestPruneMinFree(t *testing.T) {
	t.Parallel()
	cases := []struct {
		minFree string
		deleted int
	}{
		{minFree: "100%", deleted: 60},
		{minFree: "1B", deleted: 0},
	}
	for _, tc := range cases {
		t.Run(tc.minFree, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			ar := newE2EArchive(t)
			if err := os.MkdirAll(ar.store, 0o755); err != nil {
				t.Fatal(err)
			}
			r := archivetest.Open(t, ar.storeURL(), ar.index, "news", 2*time.Second)
			k0 := time.Now().Unix()/2 - 120 // ended 4 to 3 minutes ago
			r.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+29)
			r.Close()
			cfg := filepath.Join(ar.dir, "c.yaml")
			if err := os.WriteFile(cfg, []byte("retention_min_free: \""+tc.minFree+"\"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out := mustCLI(t, ctx, ar.args("prune", "--config", cfg, "--json")...)
			var rep pruneReport
			if err := json.Unmarshal([]byte(out.stdout), &rep); err != nil {
				t.Fatalf("%v\n%s", err, out.stdout)
			}
			got := 0
			for _, c := range rep.Channels {
				got += c.Deleted.Segments
			}
			if got != tc.deleted {
				t.Errorf("deleted %d segments, want %d:\n%s", got, tc.deleted, out)
			}
			mustCLI(t, ctx, ar.args("verify")...)
		})
	}
}

// TestVerifyLifecycleExpired: objects that something else deleted (a
// bucket lifecycle rule, by hand) before now minus the channel's
// retention are expired for verify, not missing: exit 0 with the
// config's policy, exit 1 without it.
func TestVerifyLifecycleExpired(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ar, k0 := pruneArchive(t)
	for rep, ks := range mediaKeys(t, ar.store) {
		for _, k := range ks {
			if k < k0+10 { // ended 40 s ago or more
				if err := os.Remove(filepath.Join(ar.store, "news", rep, strconv.FormatInt(k, 10)+".m4s")); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if r := runCLI(ctx, ar.args("verify")...); r.code != exitFailure || !strings.Contains(r.stdout, "missing_object") {
		t.Errorf("verify without a policy: %s", r)
	}
	cfg := filepath.Join(ar.dir, "c.yaml")
	if err := os.WriteFile(cfg, []byte("channels:\n  - name: news\n    retention: 30s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := mustCLI(t, ctx, ar.args("verify", "--config", cfg)...)
	if !strings.Contains(r.stdout, "0 mismatches") || !strings.Contains(r.stdout, "expired: 20 index rows") {
		t.Errorf("verify with retention 30s:\n%s", r)
	}
}
