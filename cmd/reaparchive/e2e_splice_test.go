package main

// CLI test of `splice` and `splice --undo` on an archive built from the
// simulated encoder, with corrected and mismatching `reaparchive simulate`
// style sources, ffmpeg decoding the exports.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// jsonSplice is the `splice --json` report.
type jsonSplice struct {
	ID         string `json:"id"`
	Channel    string `json:"channel"`
	Source     string `json:"source"`
	SourceName string `json:"source_name"`
	FromK      int64  `json:"from_k"`
	ToK        int64  `json:"to_k"`
	Record     string `json:"record"`
	Tracks     []struct {
		Rep      string      `json:"rep"`
		Replaced int         `json:"replaced"`
		Gaps     []jsonRange `json:"gaps"`
		Dir      string      `json:"dir"`
	} `json:"tracks"`
	Rejected []jsonRepairItem `json:"rejected"`
	Missing  []jsonRepairItem `json:"missing"`
	Undone   bool             `json:"undone"`
	Restored int              `json:"restored"`
	Deleted  int              `json:"deleted"`
}

// archiveState is what splice and its undo may change: every file of the
// store (objects and .attrs sidecars) with its bytes, every directory, the
// index's segment rows, `status --json` and an export of the range.
type archiveState struct {
	testenv.Tree
	rows   map[string][]index.Segment
	status string
	mpd    []byte // the export: MPD and HLS playlists
}

func (a *e2eArchive) state(t *testing.T, ch string, exportArgs []string, name string) (archiveState, string) {
	t.Helper()
	ctx := t.Context()
	s := archiveState{Tree: testenv.ReadTree(t, a.store), rows: map[string][]index.Segment{}}
	db, err := index.Open(ctx, a.index)
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Channel(ctx, ch)
	if err == nil {
		var ts []index.Track
		if ts, err = db.Tracks(ctx, c.ID); err == nil {
			for _, tr := range ts {
				if s.rows[tr.Rep], err = db.Segments(ctx, tr.ID, math.MinInt64, math.MaxInt64); err != nil {
					break
				}
			}
		}
	}
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s.status = mustCLI(t, ctx, a.args("status", "--channel", ch, "--json")...).stdout
	out := filepath.Join(a.dir, "vod", name+".mpd")
	// --no-hold: the snapshot's export must not change the archive the
	// next snapshot compares.
	mustCLI(t, ctx, a.args("export-vod", append(exportArgs, "--format", "dash,hls", "--base-url", "../store/", "--no-hold", "--out", "file://"+filepath.ToSlash(out))...)...)
	for _, f := range []string{name + ".mpd", name + ".m3u8", name + "-" + simulate.VideoRep + ".m3u8", name + "-" + simulate.AudioRep + ".m3u8"} {
		b, err := os.ReadFile(filepath.Join(a.dir, "vod", f))
		if err != nil {
			t.Fatal(err)
		}
		s.mpd = append(s.mpd, b...)
	}
	return s, strings.TrimSuffix(out, ".mpd") + ".m3u8"
}

func (s archiveState) diff(o archiveState) []string {
	d := s.Tree.Diff(o.Tree)
	if !reflect.DeepEqual(s.rows, o.rows) {
		d = append(d, "segment rows differ")
	}
	if s.status != o.status {
		d = append(d, "status --json differs")
	}
	if !bytes.Equal(s.mpd, o.mpd) {
		d = append(d, "export differs")
	}
	slices.Sort(d)
	return d
}

// TestSpliceCLI: splice a corrected feed over part of an archive (with a
// gap in the range), check the export plays the replacements, undo it and
// find store, index, status and export byte-identical to before; a second
// undo fails clearly; a mismatching source writes nothing and exits 1;
// usage errors exit 2.
func TestSpliceCLI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ch = "sim"
	base := time.Now().Unix()/2 - 30
	gapK := base + 7
	sim, simMPD := newSimServer(t, simulate.Options{})
	_, fixedMPD := newSimServer(t, simulate.Options{Variant: 1})
	_, longMPD := newSimServer(t, simulate.Options{SegmentDuration: 4 * time.Second})
	ar := simArchive(t, sim, ch, simMPD, base, base+15, []int64{gapK})
	kt := func(k int64) string { return time.Unix(k*2, 0).UTC().Format(time.RFC3339) }
	export := []string{"--channel", ch, "--from", kt(base), "--to", kt(base + 16)}
	before, beforeHLS := ar.state(t, ch, export, "before")
	vBefore, aBefore := testenv.DecodedFrames(t, beforeHLS)

	// A source with 4 s segments: refused, nothing written, exit 1.
	r := runCLI(ctx, ar.args("splice", "--channel", ch, "--from", kt(base+4), "--to", kt(base+10), "--with", longMPD)...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "nothing was written") || !strings.Contains(r.stdout, "segments last 4s, the track's 2s") {
		t.Errorf("splice from a 4 s source: %s", r)
	}
	if s, _ := ar.state(t, ch, export, "before"); len(before.diff(s)) > 0 {
		t.Errorf("a refused splice changed the archive: %v", before.diff(s))
	}

	// The corrected feed.
	r = mustCLI(t, ctx, ar.args("splice", "--channel", ch, "--from", kt(base+4), "--to", kt(base+10), "--with", fixedMPD, "--json")...)
	var sp jsonSplice
	if err := json.Unmarshal([]byte(r.stdout), &sp); err != nil {
		t.Fatalf("splice --json: %v\n%s", err, r.stdout)
	}
	if sp.ID == "" || sp.FromK != base+4 || sp.ToK != base+9 || len(sp.Tracks) != 2 || sp.Record != ch+"/splice-"+sp.ID+".json" {
		t.Errorf("splice report: %s", r.stdout)
	}
	for _, tr := range sp.Tracks {
		if tr.Replaced != 5 || len(tr.Gaps) != 1 || tr.Gaps[0].From != gapK || tr.Dir != fmt.Sprintf("%s/%s/splice-%s/", ch, tr.Rep, sp.ID) {
			t.Errorf("track %+v: want 5 replaced and the gap at %d kept", tr, gapK)
		}
		for k := base + 4; k <= base+9; k++ {
			if k == gapK {
				continue
			}
			want, _ := sim.Segment(tr.Rep, k)
			if got, err := os.ReadFile(filepath.Join(ar.store, ch, tr.Rep, fmt.Sprintf("%d.m4s", k))); err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s K %d: the original changed (%v)", tr.Rep, k, err)
			}
			if _, err := os.Stat(filepath.Join(ar.store, filepath.FromSlash(tr.Dir), fmt.Sprintf("%d.m4s", k))); err != nil {
				t.Errorf("%s K %d: no replacement: %v", tr.Rep, k, err)
			}
		}
	}
	spliced, splicedHLS := ar.state(t, ch, export, "spliced")
	if spliced.status != before.status {
		t.Errorf("status changed by the splice:\n%s\n%s", before.status, spliced.status)
	}
	if !bytes.Contains(spliced.mpd, []byte("splice-"+sp.ID+"/")) {
		t.Errorf("the export does not reference the replacements:\n%s", spliced.mpd)
	}
	if v, a := testenv.DecodedFrames(t, splicedHLS); v != vBefore || a < aBefore-2 || a > aBefore+2 {
		t.Errorf("the spliced export decodes to %d video, %d audio frames; before %d, %d", v, a, vBefore, aBefore)
	}

	// Undo by range, in text.
	r = mustCLI(t, ctx, ar.args("splice", "--channel", ch, "--undo", "--from", kt(base+5), "--to", kt(base+6))...)
	if !strings.Contains(r.stdout, "undid splice "+sp.ID) || !strings.Contains(r.stdout, "restored 10 segment rows, deleted 11 objects") {
		t.Errorf("undo:\n%s", r.stdout)
	}
	after, _ := ar.state(t, ch, export, "before") // the same export name: the MPD must be the same bytes
	if d := before.diff(after); len(d) > 0 {
		t.Errorf("after splice and undo the archive differs: %v", d)
	}

	// A second undo, by range and by id.
	r = runCLI(ctx, ar.args("splice", "--channel", ch, "--undo", "--from", kt(base+5), "--to", kt(base+6))...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "no active splice") || !strings.Contains(r.stderr, sp.ID+" (from "+fixedMPD+"), was undone at") {
		t.Errorf("second undo by range: %s", r)
	}
	r = runCLI(ctx, ar.args("splice", "--channel", ch, "--undo", "--id", sp.ID)...)
	if r.code != exitFailure || !strings.Contains(r.stderr, "was undone at") {
		t.Errorf("second undo by id: %s", r)
	}
	if s, _ := ar.state(t, ch, export, "before"); len(before.diff(s)) > 0 {
		t.Errorf("a second undo changed the archive: %v", before.diff(s))
	}

	// A text splice from the index's source name, undone by id.
	r = mustCLI(t, ctx, ar.args("splice", "--channel", ch, "--from", kt(base+2), "--to", kt(base+3), "--with", "a")...)
	if !strings.Contains(r.stdout, "as source splice.a: splice ") || !strings.Contains(r.stdout, "replaced 1 segments") || !strings.Contains(r.stdout, "--undo --id ") {
		t.Errorf("splice --with a:\n%s", r.stdout)
	}
	id := r.stdout[strings.Index(r.stdout, "--undo --id ")+len("--undo --id "):]
	id = strings.TrimSpace(id)
	mustCLI(t, ctx, ar.args("splice", "--channel", ch, "--undo", "--id", id)...)
	if s, _ := ar.state(t, ch, export, "before"); len(before.diff(s)) > 0 {
		t.Errorf("after the second splice and undo: %v", before.diff(s))
	}

	store, idx := ar.storeURL(), ar.index
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"no --with", []string{"--channel", ch, "--from", kt(base), "--to", kt(base + 1)}, "--with"},
		{"no range", []string{"--channel", ch, "--with", fixedMPD}, "--from"},
		{"no channel", []string{"--from", kt(base), "--to", kt(base + 1), "--with", fixedMPD}, "--channel"},
		{"undo with --with", []string{"--channel", ch, "--undo", "--id", sp.ID, "--with", fixedMPD}, "--with"},
		{"undo without id or range", []string{"--channel", ch, "--undo"}, "--id"},
		{"undo with id and range", []string{"--channel", ch, "--undo", "--id", sp.ID, "--from", kt(base), "--to", kt(base + 1)}, "either"},
		{"bad id", []string{"--channel", ch, "--undo", "--id", "../x"}, "splice id"},
		{"--id without --undo", []string{"--channel", ch, "--id", sp.ID, "--with", fixedMPD, "--from", kt(base), "--to", kt(base + 1)}, "--undo"},
		{"own store", []string{"--channel", ch, "--from", kt(base), "--to", kt(base + 1), "--with", "archive:" + store}, "own store"},
		{"unknown source", []string{"--channel", ch, "--from", kt(base), "--to", kt(base + 1), "--with", "nosuch"}, "--with \"nosuch\""},
	} {
		r := runCLI(ctx, append([]string{"splice", "--store", store, "--index", idx}, tt.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: want exit 2 naming %q; %s", tt.name, tt.want, r)
		}
	}
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"unknown channel", []string{"--channel", "nosuch", "--from", kt(base), "--to", kt(base + 1), "--with", fixedMPD}},
		{"nothing stored in the range", []string{"--channel", ch, "--from", "2001-01-01T00:00:00Z", "--to", "2001-01-01T00:01:00Z", "--with", fixedMPD}},
		{"undo of an unknown id", []string{"--channel", ch, "--undo", "--id", "0123456789abcdef"}},
	} {
		if r := runCLI(ctx, append([]string{"splice", "--store", store, "--index", idx}, tt.args...)...); r.code != exitFailure {
			t.Errorf("%s: want exit 1; %s", tt.name, r)
		}
	}
}
