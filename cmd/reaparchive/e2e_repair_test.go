package main

// End-to-end tests of `gaps` and `repair` against real livesim2 servers, and
// CLI tests of both against an archive built from the simulated encoder
// (no external tool needed).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// The `gaps --json` and `repair --json` contracts.
type (
	jsonGaps struct {
		Gaps []jsonGap `json:"gaps"`
	}
	jsonGap struct {
		Channel         string      `json:"channel"`
		Rep             string      `json:"rep"`
		From            int64       `json:"from"`
		To              int64       `json:"to"`
		Segments        int64       `json:"segments"`
		FromTime        string      `json:"from_time"`
		ToTime          string      `json:"to_time"`
		DurationSeconds float64     `json:"duration_seconds"`
		Tried           []jsonTried `json:"tried"`
	}
	jsonTried struct {
		Source   string         `json:"source"`
		Outcomes map[string]int `json:"outcomes"`
		Detail   string         `json:"detail"`
	}
	jsonRepair struct {
		Channel    string           `json:"channel"`
		Source     string           `json:"source"`
		SourceName string           `json:"source_name"`
		DryRun     bool             `json:"dry_run"`
		Wanted     int64            `json:"wanted"`
		Planned    []jsonRepairItem `json:"planned"`
		Filled     []jsonRepairItem `json:"filled"`
		Missing    []jsonRepairItem `json:"missing"`
		Rejected   []jsonRepairItem `json:"rejected"`
	}
	jsonRepairItem struct {
		Rep     string `json:"rep"`
		K       int64  `json:"k"`
		Time    string `json:"time"`
		From    string `json:"from"`
		Outcome string `json:"outcome"`
		Reason  string `json:"reason"`
	}
)

// gapsJSON runs `gaps --json` (extra flags appended) and decodes it.
func (a *e2eArchive) gapsJSON(t testing.TB, ctx context.Context, channel string, extra ...string) []jsonGap {
	t.Helper()
	r := mustCLI(t, ctx, a.args("gaps", append([]string{"--channel", channel, "--json"}, extra...)...)...)
	var g jsonGaps
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil || g.Gaps == nil {
		t.Fatalf("gaps --json: %v\n%s", err, r.stdout)
	}
	return g.Gaps
}

// repairJSON runs `repair --json` and decodes its report; it fails the test
// unless the exit code is wantCode.
func (a *e2eArchive) repairJSON(t testing.TB, ctx context.Context, wantCode int, extra ...string) (jsonRepair, cliResult) {
	t.Helper()
	r := runCLI(ctx, a.args("repair", append([]string{"--json"}, extra...)...)...)
	if r.code != wantCode {
		t.Fatalf("repair %q: exit %d, want %d\n%s", extra, r.code, wantCode, r)
	}
	var rep jsonRepair
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("repair --json: %v\n%s", err, r.stdout)
	}
	return rep, r
}

// gapKs is the set "rep/K" of every K in gaps.
func gapKs(gaps []jsonGap) []string {
	var out []string
	for _, g := range gaps {
		for k := g.From; k <= g.To; k++ {
			out = append(out, fmt.Sprintf("%s/%d", g.Rep, k))
		}
	}
	slices.Sort(out)
	return out
}

func itemKs(items []jsonRepairItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, fmt.Sprintf("%s/%d", it.Rep, it.K))
	}
	slices.Sort(out)
	return out
}

// copyArchive copies a's store, with its objects' attributes (xattrs), and
// its index (no process has them open) into a new archive.
func copyArchive(t testing.TB, a *e2eArchive) *e2eArchive {
	t.Helper()
	b := newE2EArchive(t)
	args := []string{"-a", a.store}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if _, err := os.Stat(a.index + suffix); err == nil {
			args = append(args, a.index+suffix)
		}
	}
	if out, err := exec.Command("cp", append(args, b.dir)...).CombinedOutput(); err != nil {
		t.Fatalf("copy the archive: %v\n%s", err, out)
	}
	return b
}

// TestE2ERepairGapsAndFill: two livesim2 sources lose the same segments
// (K mod 5 == 2) for 40 s of recording; `gaps` lists exactly those, with
// both sources tried. Repairing from the lossy source fills nothing and
// exits 1; a dry run from a third, clean livesim2 lists them and writes
// nothing; repairing from it ($Time$ SegmentTimeline addressing) fills them
// all, byte-identical to livesim2, and a second run does nothing. A copy of
// the archive taken before the repair is filled from a second archive that
// recorded the clean source, through `archive:`, after a source with
// another segment duration was rejected.
func TestE2ERepairGapsAndFill(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	la, lb, clean := testenv.StartLivesim2(t), testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar, other := newE2EArchive(t), newE2EArchive(t)
	const ch, cycle, rsq = "gappy", 10, 2
	lost := func(k int64) bool { return injectedLoss(k, cycle, rsq) }

	// The second archive records the clean source over a range that
	// covers the first archive's.
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(ctx, other.args("record", "--channel", ch, "--for", "46s", "--source", "c="+mpdURL(clean, ""))...)
	}()
	time.Sleep(300 * time.Millisecond)
	ar.record(t, ctx, ch, 40*time.Second, "a="+mpdURL(la, statuscodePrefix(cycle, rsq)), "b="+mpdURL(lb, statuscodePrefix(cycle, rsq)))
	if r := <-done; r.code != exitOK {
		t.Fatalf("record of the clean source: %s", r)
	}

	// gaps lists exactly the injected losses, with both sources tried.
	st := ar.status(t, ctx, ch)
	gaps := ar.gapsJSON(t, ctx, ch)
	var want []string
	for _, tr := range st.Tracks {
		for k := tr.First; k <= tr.Last; k++ {
			if lost(k) {
				want = append(want, fmt.Sprintf("%s/%d", tr.Rep, k))
			}
		}
		if span := tr.Last - tr.First + 1; span < 18 { // gaps included: both sources lose the same K
			t.Errorf("%s: only K %d..%d (%d segments) recorded in 40 s", tr.Rep, tr.First, tr.Last, span)
		}
	}
	slices.Sort(want)
	if got := gapKs(gaps); len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("gaps lists %v, want exactly the K lost from both sources %v", got, want)
	}
	for _, g := range gaps {
		from, err1 := time.Parse(time.RFC3339, g.FromTime)
		to, err2 := time.Parse(time.RFC3339, g.ToTime)
		if err1 != nil || err2 != nil || !from.Equal(time.Unix(g.From*2, 0)) || !to.Equal(time.Unix((g.To+1)*2, 0)) {
			t.Errorf("gap %s %d-%d: from_time %s to_time %s, want K*D and (K+1)*D", g.Rep, g.From, g.To, g.FromTime, g.ToTime)
		}
		if g.Channel != ch || g.Segments != g.To-g.From+1 || g.DurationSeconds != float64(2*g.Segments) {
			t.Errorf("gap %+v: channel, segments or duration wrong", g)
		}
		var names []string
		for _, tr := range g.Tried {
			names = append(names, tr.Source)
			if tr.Outcomes["missing"] != int(g.Segments) || !strings.Contains(tr.Detail, "404") {
				t.Errorf("gap %s %d-%d: source %s %+v, want missing every K with a 404", g.Rep, g.From, g.To, tr.Source, tr)
			}
		}
		if !slices.Equal(names, []string{"a", "b"}) {
			t.Errorf("gap %s %d-%d: tried %v, want a and b", g.Rep, g.From, g.To, names)
		}
	}
	r := mustCLI(t, ctx, ar.args("gaps", "--channel", ch)...)
	t.Logf("gaps:\n%s", r.stdout)
	if want := fmt.Sprintf("%d gaps in 2 tracks: %d segments (%ds) missing", len(gaps), len(want), 2*len(want)); !strings.Contains(r.stdout, want) || !strings.Contains(r.stdout, "a: missing 1; b: missing 1") {
		t.Errorf("gaps printed %q, want %q and the sources tried", r.stdout, want)
	}
	// --from/--to keeps the gaps in the range.
	g0 := gaps[0]
	if in := ar.gapsJSON(t, ctx, ch, "--from", g0.FromTime, "--to", g0.ToTime); len(in) != 2 || in[0].From != g0.From || in[1].From != g0.From {
		t.Errorf("gaps --from %s --to %s: %+v, want K %d of both tracks", g0.FromTime, g0.ToTime, in, g0.From)
	}
	copied := copyArchive(t, ar) // for the archive: repair below

	// The lossy source does not have them either: still missing, exit 1.
	rep, r := ar.repairJSON(t, ctx, exitFailure, "--channel", ch, "--fill-from", mpdURL(la, statuscodePrefix(cycle, rsq)))
	if len(rep.Filled) != 0 || !slices.Equal(itemKs(rep.Missing), want) || len(rep.Rejected) != 0 {
		t.Errorf("repair from the lossy source: filled %v, missing %v, rejected %v; want all %v missing", itemKs(rep.Filled), itemKs(rep.Missing), itemKs(rep.Rejected), want)
	}
	for _, it := range rep.Missing {
		if !strings.Contains(it.Reason, "404") {
			t.Errorf("missing %s %d: reason %q, want the 404", it.Rep, it.K, it.Reason)
		}
	}
	if !strings.Contains(r.stderr, "still missing") {
		t.Errorf("repair exit 1 without saying why:\n%s", r.stderr)
	}

	// Dry run from the clean source: lists, fetches no segment, writes nothing.
	// (tsbd_600: livesim2 keeps 10 minutes instead of 60 s, so the test does
	// not depend on how fast it gets here.)
	cleanMPD := clean.URL() + "segtimeline_1/tsbd_600/" + e2eAsset + "/Manifest.mpd"
	before := listStore(t, ar.store, ch)
	rep, _ = ar.repairJSON(t, ctx, exitOK, "--channel", ch, "--fill-from", cleanMPD, "--dry-run")
	if !rep.DryRun || !slices.Equal(itemKs(rep.Planned), want) || len(rep.Filled) != 0 {
		t.Errorf("dry run planned %v, filled %v; want %v planned", itemKs(rep.Planned), itemKs(rep.Filled), want)
	}
	for _, it := range rep.Planned {
		if !strings.HasPrefix(it.From, clean.URL()) || !strings.HasSuffix(it.From, ".m4s") {
			t.Errorf("dry run: %s %d from %q, want a segment URL of the clean livesim2", it.Rep, it.K, it.From)
		}
	}
	if after := listStore(t, ar.store, ch); fmt.Sprint(after.media) != fmt.Sprint(before.media) {
		t.Errorf("the dry run changed the store")
	}

	// Repair from the clean source fills every gap, byte-identical.
	rep, r = ar.repairJSON(t, ctx, exitOK, "--channel", ch, "--fill-from", cleanMPD)
	t.Logf("repair: %s", r.stdout)
	if !slices.Equal(itemKs(rep.Filled), want) || len(rep.Missing)+len(rep.Rejected) != 0 {
		t.Fatalf("repair filled %v, missing %v, rejected %v; want all of %v filled", itemKs(rep.Filled), itemKs(rep.Missing), itemKs(rep.Rejected), want)
	}
	checkFilled(t, ctx, ar, ch, clean, rep.Filled)
	if left := ar.gapsJSON(t, ctx, ch); len(left) != 0 {
		t.Errorf("gaps after the repair: %+v", left)
	}
	// A second run does nothing.
	rep, r = ar.repairJSON(t, ctx, exitOK, "--channel", ch, "--fill-from", cleanMPD)
	if rep.Wanted != 0 || len(rep.Filled)+len(rep.Missing)+len(rep.Rejected) != 0 {
		t.Errorf("second repair: %+v", rep)
	}
	if r = mustCLI(t, ctx, ar.args("repair", "--channel", ch, "--fill-from", cleanMPD)...); !strings.Contains(r.stdout, "nothing to repair") {
		t.Errorf("second repair printed %q", r.stdout)
	}

	// The copy: a source with 6 s segments is rejected (exit 1), then the
	// second archive fills every gap.
	rep, _ = copied.repairJSON(t, ctx, exitFailure, "--channel", ch, "--fill-from", clean.URL()+"testpic_6s/Manifest.mpd")
	if !slices.Equal(itemKs(rep.Rejected), want) || len(rep.Filled) != 0 || !strings.Contains(rep.Rejected[0].Reason, "segments last 6s, the track's 2s") {
		t.Errorf("repair from testpic_6s: rejected %v (%+v), filled %v; want all rejected for their duration", itemKs(rep.Rejected), rep.Rejected, itemKs(rep.Filled))
	}
	rep, r = copied.repairJSON(t, ctx, exitOK, "--channel", ch, "--fill-from", "archive:"+other.storeURL())
	t.Logf("repair from the other archive: %s", r.stdout)
	if !slices.Equal(itemKs(rep.Filled), want) || len(rep.Missing)+len(rep.Rejected) != 0 {
		t.Fatalf("repair from archive: filled %v, missing %v %+v, rejected %v %+v; want all of %v filled", itemKs(rep.Filled), itemKs(rep.Missing), rep.Missing, itemKs(rep.Rejected), rep.Rejected, want)
	}
	if rep.SourceName != "repair.store" || !strings.HasPrefix(rep.Source, "archive:file://") {
		t.Errorf("repair from archive: source %q named %q", rep.Source, rep.SourceName)
	}
	checkFilled(t, ctx, copied, ch, clean, rep.Filled)
	if left := copied.gapsJSON(t, ctx, ch); len(left) != 0 {
		t.Errorf("gaps after the repair from the other archive: %+v", left)
	}
	if rep, _ = copied.repairJSON(t, ctx, exitOK, "--channel", ch, "--fill-from", "archive:"+other.storeURL()); rep.Wanted != 0 {
		t.Errorf("second repair from the archive: %+v", rep)
	}
}

// checkFilled checks the archive against status and the store, every
// stored object against livesim2's bytes, and that the filled ones are
// there.
func checkFilled(t *testing.T, ctx context.Context, a *e2eArchive, ch string, ref *testenv.Livesim2, filled []jsonRepairItem) {
	t.Helper()
	st := a.status(t, ctx, ch)
	for _, tr := range st.Tracks {
		if len(tr.Gaps) != 0 {
			t.Errorf("%s: status still has gaps %v", tr.Rep, tr.Gaps)
		}
	}
	listing := listStore(t, a.store, ch)
	checkStoreMatchesStatus(t, st, listing)
	checkStoredBytes(t, ctx, ref, listing)
	for _, it := range filled {
		if _, ok := listing.media[it.Rep][it.K]; !ok || it.Outcome != "stored" {
			t.Errorf("filled %s %d (outcome %q) is not in the store", it.Rep, it.K, it.Outcome)
		}
	}
}

// simArchive builds an archive from the simulated encoder through the Go
// API: K in [from, to] of both tracks recorded from source a (whose MPD is
// mpd), except the K in gaps, which a and b missed.
func simArchive(t *testing.T, sim *simulate.Server, channel, mpd string, from, to int64, gaps []int64) *e2eArchive {
	t.Helper()
	ctx := t.Context()
	e := newE2EArchive(t)
	st, err := cloud.Open(ctx, e.storeURL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, err := index.Open(ctx, e.index)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := archive.New(st, db, nil).OpenChannel(ctx, channel, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Source(ctx, "a", mpd); err != nil {
		t.Fatal(err)
	}
	for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
		init, err := sim.Init(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
		for k := from; k <= to; k++ {
			if slices.Contains(gaps, k) {
				for _, s := range []string{"a", "b"} {
					if err := c.RecordMissing(ctx, s, rep, k, "GET …: 404 Not Found"); err != nil {
						t.Fatal(err)
					}
				}
				continue
			}
			data, err := sim.Segment(rep, k)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.OfferSegment(ctx, archive.Offer{Source: "a", Rep: rep, Data: data, ExpectK: k}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

func newSimServer(t *testing.T, opts simulate.Options) (*simulate.Server, string) {
	t.Helper()
	sim := testenv.NewSim(t, opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return sim, srv.URL + "/manifest.mpd"
}

// TestRepairCLI runs gaps and repair on an archive of the simulated
// encoder: text output, ranges, --fill-from a config or index source name,
// exit codes, usage errors.
func TestRepairCLI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ch = "sim"
	base := time.Now().Unix()/2 - 20
	gapK := []int64{base + 3, base + 7, base + 8, base + 12}
	sim, simMPD := newSimServer(t, simulate.Options{})
	_, lossyMPD := newSimServer(t, simulate.Options{Drop: func(_ string, k int64) bool { return k == base+12 }})

	ar := simArchive(t, sim, ch, simMPD, base, base+15, gapK)
	r := mustCLI(t, ctx, ar.args("gaps")...)
	for _, w := range []string{"channel sim", fmt.Sprintf("%d-%d", base+7, base+8), "a: missing 2; b: missing 2", "6 gaps in 2 tracks: 8 segments (16s) missing"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("gaps printed no %q:\n%s", w, r.stdout)
		}
	}
	if gaps := ar.gapsJSON(t, ctx, ch, "--last", "1h"); len(gaps) != 6 {
		t.Errorf("gaps --last 1h: %d gaps, want 6", len(gaps))
	}
	if gaps := ar.gapsJSON(t, ctx, ch, "--from", "2001-01-01T00:00:00Z", "--to", "2001-01-02T00:00:00Z"); len(gaps) != 0 {
		t.Errorf("gaps in 2001: %+v", gaps)
	}

	// From a source lacking K base+12: that stays missing, exit 1, and the
	// text report says so.
	r = runCLI(ctx, ar.args("repair", "--channel", ch, "--fill-from", lossyMPD, "--parallel", "2")...)
	if r.code != exitFailure || !strings.Contains(r.stdout, "filled 6 of 8; still missing 2") || !strings.Contains(r.stderr, "2 segments still missing, 0 rejected") {
		t.Errorf("repair from a lossy source: %s", r)
	}
	if gaps := ar.gapsJSON(t, ctx, ch); len(gaps) != 2 || gaps[0].From != base+12 {
		t.Errorf("gaps after a partial repair: %+v", gaps)
	}
	// By the name of a source recorded in the index: a's MPD.
	r = mustCLI(t, ctx, ar.args("repair", "--channel", ch, "--fill-from", "a")...)
	if !strings.Contains(r.stdout, "as source repair.a") || !strings.Contains(r.stdout, "filled 2 of 2: no gap left") {
		t.Errorf("repair --fill-from a:\n%s", r.stdout)
	}

	// By the name of a config source.
	ar2 := simArchive(t, sim, ch, simMPD, base, base+15, gapK)
	cfg := filepath.Join(t.TempDir(), "c.yaml")
	conf := fmt.Sprintf("channels:\n  - name: %s\n    sources:\n      - name: fiber\n        mpd: %s\n      - name: pushed\n        token: x\n", ch, simMPD)
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r = mustCLI(t, ctx, ar2.args("repair", "--config", cfg, "--channel", ch, "--fill-from", "fiber", "--dry-run")...)
	if !strings.Contains(r.stdout, "dry run: would fetch 8, 0 unavailable, 0 rejected") {
		t.Errorf("repair --dry-run --fill-from fiber:\n%s", r.stdout)
	}
	r = mustCLI(t, ctx, ar2.args("repair", "--config", cfg, "--channel", ch, "--fill-from", "fiber")...)
	if !strings.Contains(r.stdout, "filled 8 of 8: no gap left") {
		t.Errorf("repair --fill-from fiber:\n%s", r.stdout)
	}
	key := layout.MediaKey(ch, simulate.VideoRep, base+3, "m4s")
	got, err := os.ReadFile(filepath.Join(ar2.store, filepath.FromSlash(key)))
	want, _ := sim.Segment(simulate.VideoRep, base+3)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s: not the source's bytes (%v)", key, err)
	}

	store, idx := ar.storeURL(), ar.index
	usage := []struct {
		name string
		args []string
		want []string
	}{
		{"no --fill-from", []string{"repair", "--store", store, "--index", idx, "--channel", ch}, []string{"--fill-from"}},
		{"no --channel", []string{"repair", "--store", store, "--index", idx, "--fill-from", simMPD}, []string{"--channel"}},
		{"unknown source name", []string{"repair", "--store", store, "--index", idx, "--channel", ch, "--fill-from", "nosuch"}, []string{"nosuch", "a"}},
		{"push source", []string{"repair", "--config", cfg, "--store", store, "--index", idx, "--channel", ch, "--fill-from", "pushed"}, []string{"pushed", "push source"}},
		{"not http", []string{"repair", "--store", store, "--index", idx, "--channel", ch, "--fill-from", "ftp://x/y.mpd"}, []string{"ftp://x/y.mpd"}},
		{"own store", []string{"repair", "--store", store, "--index", idx, "--channel", ch, "--fill-from", "archive:" + store}, []string{"own store"}},
		{"--parallel 0", []string{"repair", "--store", store, "--index", idx, "--channel", ch, "--fill-from", simMPD, "--parallel", "0"}, []string{"--parallel"}},
		{"--from without --to", []string{"gaps", "--store", store, "--index", idx, "--from", "2026-01-01T00:00:00Z"}, []string{"--from", "--to"}},
		{"--last and --to", []string{"gaps", "--store", store, "--index", idx, "--last", "1h", "--to", "2026-01-01T00:00:00Z"}, []string{"--last"}},
		{"bad --to", []string{"repair", "--store", store, "--index", idx, "--channel", ch, "--fill-from", simMPD, "--from", "2026-01-01T00:00:00Z", "--to", "noon"}, []string{"--to", "noon"}},
		{"gaps with arguments", []string{"gaps", "--store", store, "--index", idx, "extra"}, []string{"extra"}},
	}
	for _, tt := range usage {
		r := runCLI(ctx, tt.args...)
		if r.code != exitUsage {
			t.Errorf("%s: want exit 2; %s", tt.name, r)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not name %q:\n%s", tt.name, w, r.stderr)
			}
		}
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"unknown channel", []string{"repair", "--store", store, "--index", idx, "--channel", "nosuch", "--fill-from", simMPD}},
		{"unreachable MPD", []string{"repair", "--store", store, "--index", idx, "--channel", ch, "--fill-from", "http://127.0.0.1:1/x.mpd"}},
		{"gaps of an unknown channel", []string{"gaps", "--store", store, "--index", idx, "--channel", "nosuch"}},
	} {
		if r := runCLI(ctx, tt.args...); r.code != exitFailure {
			t.Errorf("%s: want exit 1; %s", tt.name, r)
		}
	}
}
