package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestExportAndStatusOutput records a few seconds of the simulator and
// checks what export-vod, status and verify print: export-vod --json's
// documented snake_case shape (it was an untagged Go struct), an --out
// outside the store without --base-url/--copy refused before anything is
// written (it wrote a dangling BaseURL), no .attrs sidecars in an export
// directory, status's TO as the end of the last segment (so --to TO keeps
// it), "1 period" (not "1 periods"), and verify progress never past its
// total.
func TestExportAndStatusOutput(t *testing.T) {
	t.Parallel()
	_, mpd := newSimServer(t, simulate.Options{})
	ar := newE2EArchive(t)
	mustCLI(t, t.Context(), ar.args("record", "--channel", "c", "--for", "3s", "--source", "a="+mpd)...)
	var segs float64
	from, to := "", ""
	var raw struct {
		Channels []struct {
			Tracks []map[string]any `json:"tracks"`
		} `json:"channels"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, t.Context(), ar.args("status", "--json")...).stdout), &raw); err != nil {
		t.Fatal(err)
	}
	for _, tr := range raw.Channels[0].Tracks {
		n, _ := tr["segments"].(float64)
		segs += n
		if f, _ := tr["first_time"].(string); from == "" || f < from {
			from = f
		}
		if e, _ := tr["end_time"].(string); e > to {
			to = e
		}
	}
	text := mustCLI(t, t.Context(), ar.args("status")...).stdout
	if to == "" || !strings.Contains(text, to) {
		t.Fatalf("status does not show the end %q of the last segment:\n%s", to, text)
	}

	t.Run("json", func(t *testing.T) {
		out := "file://" + filepath.ToSlash(filepath.Join(ar.store, "vod", "j.mpd"))
		r := mustCLI(t, t.Context(), ar.args("export-vod", "--channel", "c", "--from", from, "--to", to, "--out", out, "--format", "dash,hls", "--json")...)
		var got map[string]any
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := []string{"channel", "copied", "duration_seconds", "fillers", "fillers_created", "from", "gaps", "hls", "hold_id", "mpd", "omitted", "periods", "segments", "to", "tracks"}
		if !slices.Equal(keys, want) {
			t.Errorf("export-vod --json keys %v, want %v", keys, want)
		}
		if got["segments"] != segs || got["channel"] != "c" || got["mpd"] != filepath.Join(ar.store, "vod", "j.mpd") {
			t.Errorf("export-vod --json --to <status TO> = %v; want all %v segments, mpd %s", got, segs, filepath.Join(ar.store, "vod", "j.mpd"))
		}
		if d, _ := got["duration_seconds"].(float64); d <= 0 || d > 60 {
			t.Errorf("duration_seconds = %v", got["duration_seconds"])
		}
	})
	t.Run("text and no sidecars", func(t *testing.T) {
		dir := filepath.Join(ar.store, "vod", "t")
		r := mustCLI(t, t.Context(), ar.args("export-vod", "--channel", "c", "--from", from, "--to", to, "--format", "dash,hls", "--out", "file://"+filepath.ToSlash(dir)+"/")...)
		if !strings.Contains(r.stdout, "1 period,") || strings.Contains(r.stdout, "periods") {
			t.Errorf("export-vod text: %s", r.stdout)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) == 0 {
			t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".attrs") {
				t.Errorf("export directory has a sidecar %s", e.Name())
			}
		}
	})
	t.Run("out outside the store", func(t *testing.T) {
		outside := filepath.Join(t.TempDir(), "vod")
		r := runCLI(t.Context(), ar.args("export-vod", "--channel", "c", "--from", from, "--to", to, "--out", "file://"+filepath.ToSlash(outside)+"/x.mpd")...)
		if r.code != exitFailure || !strings.Contains(r.stderr, "--base-url") || !strings.Contains(r.stderr, "--copy") {
			t.Errorf("want exit 1 naming --base-url and --copy; %s", r)
		}
		if _, err := os.Stat(outside); !os.IsNotExist(err) {
			t.Errorf("the --out directory was made: %v", err)
		}
		mustCLI(t, t.Context(), ar.args("export-vod", "--channel", "c", "--from", from, "--to", to, "--copy", "--out", "file://"+filepath.ToSlash(outside)+"/x.mpd")...)
	})
	t.Run("holds", func(t *testing.T) { checkExportHolds(t, ar, from, to) })
	t.Run("verify progress", func(t *testing.T) {
		s, err := cloud.Open(t.Context(), ar.storeURL())
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		db, err := index.Open(t.Context(), ar.index)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var mu sync.Mutex
		var bad []reconcile.Progress
		var final reconcile.Progress
		rep, err := reconcile.Verify(t.Context(), s, db, reconcile.VerifyOptions{ReadData: true, Options: reconcile.Options{Workers: 2,
			Progress: func(p reconcile.Progress) {
				mu.Lock()
				defer mu.Unlock()
				if p.Done > p.Listed {
					bad = append(bad, p)
				}
				if p.Final && p.Channel == "c" {
					final = p
				}
			}}})
		if err != nil || rep.Mismatches != 0 {
			t.Fatalf("verify: %v, %+v", err, rep)
		}
		if len(bad) > 0 || final.Done == 0 {
			t.Errorf("progress past its total: %+v (final %+v)", bad, final)
		}
	})
}

// checkExportHolds: a zero-copy export-vod writes a hold on its range,
// which it prints (text and --json hold_id) and holds list shows; --copy
// and --no-hold exports write none.
func checkExportHolds(t *testing.T, ar *e2eArchive, from, to string) {
	holdIDs := func() []string {
		var got struct {
			Holds []holdJSON `json:"holds"`
		}
		r := mustCLI(t, t.Context(), "holds", "list", "--store", ar.storeURL(), "--channel", "c", "--json")
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, h := range got.Holds {
			ids = append(ids, h.ID)
		}
		return ids
	}
	before := holdIDs()
	out := "file://" + filepath.ToSlash(filepath.Join(ar.store, "vod", "held.mpd"))
	var res exportReport
	r := mustCLI(t, t.Context(), ar.args("export-vod", "--channel", "c", "--from", from, "--to", to, "--out", out, "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	after := holdIDs()
	if res.HoldID == "" || len(after) != len(before)+1 || !slices.Contains(after, res.HoldID) {
		t.Fatalf("zero-copy export: hold_id %q, holds %v before, %v after", res.HoldID, before, after)
	}
	text := mustCLI(t, t.Context(), ar.args("export-vod", "--channel", "c", "--from", from, "--to", to, "--out", out)...).stdout
	if !strings.Contains(text, "as hold ") || !strings.Contains(text, "holds release --channel c --id ") {
		t.Errorf("export-vod does not print its hold:\n%s", text)
	}
	n := len(holdIDs())
	for _, extra := range [][]string{{"--copy", "--out", "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "x.mpd"))}, {"--no-hold", "--out", out}} {
		r := mustCLI(t, t.Context(), ar.args("export-vod", append([]string{"--channel", "c", "--from", from, "--to", to, "--json"}, extra...)...)...)
		if strings.Contains(r.stdout, "hold_id") || len(holdIDs()) != n {
			t.Errorf("export-vod %v wrote a hold:\n%s", extra, r.stdout)
		}
	}
}

// TestExportProgressLine: export-vod's terminal progress is one line,
// rewritten in place, with the step and objects written of the total, and
// cleared when the export is done.
func TestExportProgressLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		p    export.Progress
		want string
	}{
		{export.Progress{Step: export.StepPlan}, "\r\033[Kexport-vod: plan"},
		{export.Progress{Step: export.StepCopy, Done: 3, Total: 12}, "\r\033[Kexport-vod: copy, 3 of 12 objects written (25 %)"},
		{export.Progress{Step: export.StepManifests, Done: 11, Total: 12}, "\r\033[Kexport-vod: manifests, 11 of 12 objects written (92 %)"},
		{export.Progress{Step: export.StepDone, Done: 12, Total: 12}, "\r\033[K"},
	} {
		var b strings.Builder
		exportProgress(&b)(tc.p)
		if b.String() != tc.want {
			t.Errorf("progress %+v: %q, want %q", tc.p, b.String(), tc.want)
		}
	}
}
