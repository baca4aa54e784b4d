package main

// End-to-end tests of several recorders on one bucket, reindex and verify,
// on a real S3 API (MinIO) and a real GCS API (fake-gcs-server), both
// started by internal/testenv on 127.0.0.1.

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestE2ECloudTwoRecorders: two recorders, each with its own index, record
// the same channel from the same two livesim2 servers into one bucket for
// 60 s. Then: one object per (rep, K), exactly one stored delivery per
// (rep, K) over both indexes (no create overwrote another), no errors;
// reindex into a fresh index gives the status both recorders have (what
// storage can tell: tracks, first/last, segment counts, gaps); verify is
// clean; a deleted and a corrupted object (overwritten through the S3/GCS
// API) are reported by verify --read-data, which exits 1; --repair-index
// fixes the index side and verify then reports what remains.
func TestE2ECloudTwoRecorders(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"s3", "gs"} {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			cloudRun(t, testenv.Store(kind))
		})
	}
}

func cloudRun(t *testing.T, kind testenv.StoreKind) {
	ctx := t.Context()
	const ch = "news"
	storeURL := kind.URL(t)
	l1, l2 := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	dir := t.TempDir()
	idx := func(name string) string { return filepath.Join(dir, name+".db") }
	cli := func(args ...string) cliResult { return runCLI(ctx, args...) }
	with := func(cmd, index string, extra ...string) []string {
		return append([]string{cmd, "--store", storeURL, "--index", index}, extra...)
	}

	// Both recorders start a quarter of a segment after a segment
	// boundary, so that they begin and end with the same K.
	d := e2eSegDur
	start := time.Now().Truncate(d).Add(d + d/4)
	time.Sleep(time.Until(start))
	recorders := []string{"r1", "r2"}
	results := make([]cliResult, len(recorders))
	var wg sync.WaitGroup
	for i, r := range recorders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = cli(with("record", idx(r), "--channel", ch, "--for", "60s",
				"--source", r+"a="+mpdURL(l1, ""), "--source", r+"b="+mpdURL(l2, ""))...)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.code != exitOK {
			t.Fatalf("recorder %s: %s", recorders[i], r)
		}
		if strings.Contains(r.stderr, `"level":"ERROR"`) {
			t.Errorf("recorder %s logged errors:\n%s", recorders[i], r.stderr)
		}
	}

	st, err := cloud.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	objects := listObjects(t, ctx, st, ch)
	rows := []map[string]map[int64]indexRow{readRows(t, ctx, idx("r1"), ch), readRows(t, ctx, idx("r2"), ch)}
	// The K range each recorder covered: they start together, but on two
	// busy cores one may start a segment later (or stop one earlier).
	spans := make([][2]int64, len(rows))
	for i, rs := range rows {
		spans[i] = [2]int64{math.MaxInt64, math.MinInt64}
		for _, byK := range rs {
			for k := range byK {
				spans[i] = [2]int64{min(spans[i][0], k), max(spans[i][1], k)}
			}
		}
	}
	for _, rep := range e2eReps {
		objs := objects[rep]
		if len(objs) < 29 {
			t.Errorf("%s: %d objects after 60 s, want at least 29", rep, len(objs))
		}
		for k, o := range objs {
			// Exactly one stored delivery over both recorders, from the
			// source the object names: the other recorder's create lost and
			// was counted as a duplicate, never an overwrite.
			var storedBy []string
			for i, rs := range rows {
				row, ok := rs[rep][k]
				if !ok {
					if k >= spans[i][0] && k <= spans[i][1] {
						t.Errorf("%s K=%d: object %s is not in recorder %s's index", rep, k, o.key, recorders[i])
					}
					continue
				}
				if row.sha != o.sha || row.size != o.size {
					t.Errorf("%s K=%d: recorder %s's row does not describe the object", rep, k, recorders[i])
				}
				storedBy = append(storedBy, row.stored...)
			}
			if len(storedBy) != 1 || storedBy[0] != o.source {
				t.Errorf("%s K=%d: stored by %v over both indexes, the object is %q's; want exactly one", rep, k, storedBy, o.source)
			}
		}
		for i, rs := range rows {
			for k := range rs[rep] {
				if _, ok := objs[k]; !ok {
					t.Errorf("%s K=%d: in recorder %s's index, not in the bucket", rep, k, recorders[i])
				}
			}
		}
	}
	// Who wins a race is up to the network: the sources the objects name.
	won := map[string]int{}
	for _, objs := range objects {
		for _, o := range objs {
			won[o.source]++
		}
	}
	t.Logf("objects per rep: %d %s, %d %s; stored by source: %v", len(objects[e2eVideo]), e2eVideo, len(objects[e2eAudio]), e2eAudio, won)

	// reindex into a fresh index: the same status as either recorder's.
	r := cli(with("reindex", idx("rebuilt"), "--json")...)
	if r.code != exitOK {
		t.Fatalf("reindex: %s", r)
	}
	var ri reconcile.ReindexResult
	if err := json.Unmarshal([]byte(r.stdout), &ri); err != nil {
		t.Fatalf("reindex --json: %v\n%s", err, r.stdout)
	}
	total := int64(len(objects[e2eVideo]) + len(objects[e2eAudio]))
	if len(ri.Channels) != 1 || ri.Channels[0].Indexed != total || len(ri.Channels[0].Problems) != 0 || ri.Channels[0].BodiesRead != 0 {
		t.Errorf("reindex: %s; want %d segments indexed from their attributes, no problems", r.stdout, total)
	}
	// The rebuilt index has the status of each recorder that covered the
	// whole range the bucket holds (at least one did).
	want := cloudStatus(t, cli, with("status", idx("rebuilt"), "--json", "--channel", ch))
	var fullRecorders []string
	for i, name := range recorders {
		got := cloudStatus(t, cli, with("status", idx(name), "--json", "--channel", ch))
		if spans[i] != [2]int64{min(spans[0][0], spans[1][0]), max(spans[0][1], spans[1][1])} {
			t.Logf("recorder %s covered K %d..%d only (it started or stopped a segment apart from the other)", name, spans[i][0], spans[i][1])
			continue
		}
		fullRecorders = append(fullRecorders, name)
		if got != want {
			t.Errorf("status of %s:\n%s\nwant (the rebuilt index):\n%s", name, got, want)
		}
	}
	if len(fullRecorders) == 0 {
		t.Errorf("neither recorder covered the range the bucket holds: %v", spans)
	}
	t.Logf("status (the rebuilt index, and %v):\n%s", fullRecorders, want)
	// Again: nothing left to do (resumable, brings an index up to date).
	r = cli(with("reindex", idx("rebuilt"), "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), &ri); err != nil || r.code != exitOK {
		t.Fatalf("second reindex: %v %s", err, r)
	}
	if c := ri.Channels[0]; c.Indexed != 0 || c.AlreadyIndexed != total {
		t.Errorf("second reindex: %+v; want all %d already indexed", c, total)
	}

	for _, name := range append(fullRecorders, "rebuilt") { // a recorder that covered less has not indexed the rest
		if r := cli(with("verify", idx(name), "--read-data")...); r.code != exitOK || !strings.Contains(r.stdout, "the index and the store agree") {
			t.Errorf("verify --read-data %s: %s", name, r)
		}
	}

	if len(fullRecorders) == 0 {
		t.FailNow()
	}
	ref := fullRecorders[0] // its index is compared with the damaged bucket
	// Damage the bucket through its API: delete one object, overwrite
	// another with corrupt bytes (same size, same attributes).
	video, audio := sortedKs(objects[e2eVideo]), sortedKs(objects[e2eAudio])
	gone, bad := objects[e2eVideo][video[len(video)/2]], objects[e2eAudio][audio[len(audio)/3]]
	if err := st.Delete(ctx, gone.key); err != nil {
		t.Fatal(err)
	}
	at, err := st.Attributes(ctx, bad.key)
	if err != nil {
		t.Fatal(err)
	}
	data, err := st.Get(ctx, bad.key)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)-10] ^= 0x55
	if err := st.Put(ctx, bad.key, data, at.Meta); err != nil {
		t.Fatal(err)
	}

	// The listing alone sees the deleted object only.
	r = cli(with("verify", idx(ref))...)
	if r.code != exitFailure || !strings.Contains(r.stdout, "missing_object "+e2eVideo) || strings.Contains(r.stdout, bad.key) {
		t.Errorf("verify: %s\nwant exit 1 naming the deleted object only", r)
	}
	// --read-data sees both.
	problems := func(r cliResult) []string {
		t.Helper()
		var rep reconcile.Report
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
			t.Fatalf("verify --json: %v\n%s", err, r)
		}
		var out []string
		for _, c := range rep.Channels {
			for _, p := range c.Problems {
				s := p.Kind + " " + p.Key
				if p.Repaired {
					s += " repaired"
				}
				out = append(out, s)
			}
		}
		sort.Strings(out)
		return out
	}
	r = cli(with("verify", idx(ref), "--read-data", "--json")...)
	if got, want := problems(r), []string{"missing_object " + gone.key, "sha256_mismatch " + bad.key}; r.code != exitFailure || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verify --read-data: exit %d, %q; want exit 1, %q\n%s", r.code, got, want, r)
	}
	t.Logf("verify --read-data after the damage:\n%s", cli(with("verify", idx(ref), "--read-data")...).stdout)
	// Repair the index side.
	r = cli(with("verify", idx(ref), "--read-data", "--repair-index", "--json")...)
	if got, want := problems(r), []string{"missing_object " + gone.key + " repaired", "sha256_mismatch " + bad.key + " repaired"}; r.code != exitFailure || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("verify --repair-index: exit %d, %q; want exit 1, %q\n%s", r.code, got, want, r)
	}
	// What remains: the corrupt object, which reaparchive never deletes;
	// the index now has gaps where the two segments were.
	r = cli(with("verify", idx(ref), "--read-data")...)
	t.Logf("verify --read-data after --repair-index:\n%s", r.stdout)
	if r.code != exitFailure || !strings.Contains(r.stdout, "not_indexed "+e2eAudio) || !strings.Contains(r.stdout, bad.key) ||
		strings.Contains(r.stdout, gone.key) || !strings.Contains(r.stdout, "\n1 mismatch\n") {
		t.Errorf("verify after the repair: %s\nwant exit 1 and only the corrupt object, not indexed", r)
	}
	st1 := cloudStatus(t, cli, with("status", idx(ref), "--json", "--channel", ch))
	for _, g := range []string{fmt.Sprintf("%s gaps [{%d %d}]", e2eVideo, gone.k, gone.k), fmt.Sprintf("%s gaps [{%d %d}]", e2eAudio, bad.k, bad.k)} {
		if !strings.Contains(st1, g) {
			t.Errorf("status after the repair:\n%s\nwant %q", st1, g)
		}
	}
	// repair from a source (livesim2 with a 300 s time-shift window): the
	// deleted segment is stored again, the corrupt object is replaced (its
	// bytes kept under quarantine/), and verify is clean again.
	r = cli(with("repair", idx(ref), "--channel", ch, "--fill-from", mpdURL(l1, "tsbd_300/"))...)
	t.Logf("repair:\n%s", r.stdout)
	if r.code != exitOK || !strings.Contains(r.stdout, "filled 2 of 2") || !strings.Contains(r.stdout, "replaced a corrupt object") {
		t.Errorf("repair after the damage: %s\nwant exit 0, both filled, the corrupt object replaced", r)
	}
	if r = cli(with("verify", idx(ref), "--read-data")...); r.code != exitOK || !strings.Contains(r.stdout, "the index and the store agree") {
		t.Errorf("verify --read-data after repair: %s", r)
	}
	if st2 := cloudStatus(t, cli, with("status", idx(ref), "--json", "--channel", ch)); st2 != want {
		t.Errorf("status after repair:\n%s\nwant (before the damage):\n%s", st2, want)
	}
}

// cloudStatus is what `status --json` says that storage can tell too:
// per track, the type, codecs, first and last K and times, the number of
// segments and the gaps (per-source counts, duplicates and conflicts are
// delivery history, which only the recorder's index has).
func cloudStatus(t *testing.T, cli func(...string) cliResult, args []string) string {
	t.Helper()
	r := cli(args...)
	if r.code != exitOK {
		t.Fatalf("status: %s", r)
	}
	var s struct {
		Channels []struct {
			Tracks []struct {
				Rep         string        `json:"rep"`
				ContentType string        `json:"content_type"`
				Codecs      string        `json:"codecs"`
				First       int64         `json:"first"`
				Last        int64         `json:"last"`
				FirstTime   string        `json:"first_time"`
				LastTime    string        `json:"last_time"`
				Segments    int64         `json:"segments"`
				Gaps        []index.Range `json:"gaps"`
			} `json:"tracks"`
		} `json:"channels"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || len(s.Channels) != 1 {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	var b strings.Builder
	for _, tr := range s.Channels[0].Tracks {
		var gaps []string
		for _, g := range tr.Gaps {
			gaps = append(gaps, fmt.Sprintf("{%d %d}", g.From, g.To))
		}
		fmt.Fprintf(&b, "%s %s %s K %d..%d (%s..%s) %d segments, %s gaps [%s]\n", tr.Rep, tr.ContentType, tr.Codecs,
			tr.First, tr.Last, tr.FirstTime, tr.LastTime, tr.Segments, tr.Rep, strings.Join(gaps, " "))
	}
	return b.String()
}

// bucketObject is a media object of the bucket.
type bucketObject struct {
	key, sha, source string
	k, size          int64
}

// listObjects lists the channel's media objects in the bucket, per rep and
// K, with the attributes a recorder wrote, and fails on keys that are not
// archive objects.
func listObjects(t *testing.T, ctx context.Context, st *cloud.Store, ch string) map[string]map[int64]bucketObject {
	t.Helper()
	out := map[string]map[int64]bucketObject{}
	err := st.List(ctx, ch+"/", func(a cloud.Attrs) error {
		o, err := layout.Parse(a.Key)
		if err != nil || o.Kind == layout.KindUnknown {
			t.Errorf("not an archive object: %s (%v)", a.Key, err)
			return nil
		}
		if o.Kind != layout.KindMedia {
			return nil
		}
		at, err := st.Attributes(ctx, a.Key)
		if err != nil {
			return err
		}
		if out[o.Rep] == nil {
			out[o.Rep] = map[int64]bucketObject{}
		}
		out[o.Rep][o.K] = bucketObject{key: a.Key, k: o.K, size: a.Size, sha: at.Meta[layout.MetaSHA256], source: at.Meta[layout.MetaSource]}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// indexRow is a recorder's segment row and the sources whose delivery of
// it was recorded as stored.
type indexRow struct {
	sha    string
	size   int64
	stored []string
}

func readRows(t *testing.T, ctx context.Context, path, ch string) map[string]map[int64]indexRow {
	t.Helper()
	db, err := index.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.Channel(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := db.Sources(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{}
	for _, s := range srcs {
		names[s.ID] = s.Name
	}
	tracks, err := db.Tracks(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[int64]indexRow{}
	for _, tr := range tracks {
		segs, err := db.Segments(ctx, tr.ID, math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		m := map[int64]indexRow{}
		for _, g := range segs {
			ds, err := db.Deliveries(ctx, tr.ID, g.K)
			if err != nil {
				t.Fatal(err)
			}
			row := indexRow{sha: g.SHA256, size: g.Size}
			for _, d := range ds {
				if d.Outcome == index.Stored {
					row.stored = append(row.stored, names[d.SourceID])
				}
			}
			m[g.K] = row
		}
		out[tr.Rep] = m
	}
	return out
}

func sortedKs(m map[int64]bucketObject) []int64 {
	var out []int64
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// TestReindexVerifyCLI: reindex and verify on a file store, as a user runs
// them: summaries, usage errors (exit 2), failures (exit 1).
func TestReindexVerifyCLI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	storeURL := testenv.FileStoreURL(dir)
	st, err := cloud.Open(ctx, storeURL)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, err := index.Open(ctx, filepath.Join(dir, "recorder.db"))
	if err != nil {
		t.Fatal(err)
	}
	sim := testenv.NewSim(t, simulate.Options{})
	ch, err := archive.New(st, db, nil).OpenChannel(ctx, "news", 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	const k0 = 888_000_000
	for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
		init, _ := sim.Init(rep)
		if _, err := ch.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
		for k := int64(k0); k < k0+3; k++ {
			seg, _ := sim.Segment(rep, k)
			if _, err := ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: rep, Data: seg, ExpectK: k}); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()

	rebuilt := filepath.Join(dir, "rebuilt.db")
	for _, tc := range []struct {
		args []string
		code int
		out  []string // in stdout (exit 0) or stderr
	}{
		{[]string{"reindex", "--index", rebuilt}, exitUsage, []string{"--store"}},
		{[]string{"verify", "--store", storeURL, "--index", rebuilt, "--workers", "0"}, exitUsage, []string{"--workers"}},
		{[]string{"verify", "--store", storeURL, "--index", rebuilt}, exitFailure, []string{"rebuilt.db"}}, // no such index yet
		{[]string{"reindex", "--store", storeURL, "--index", rebuilt, "--channel", "nope"}, exitFailure, []string{`"nope"`}},
		{[]string{"reindex", "--store", storeURL, "--index", rebuilt}, exitOK,
			[]string{"channel news: 2 tracks, 2 init segments (2 new), 6 media objects: 6 indexed, 0 already indexed, 0 read for lack of attributes"}},
		{[]string{"reindex", "--store", storeURL, "--index", rebuilt}, exitOK, []string{"0 indexed, 6 already indexed"}},
		{[]string{"verify", "--store", storeURL, "--index", rebuilt, "--read-data"}, exitOK, []string{"6 segment rows, 6 media objects, 2 init segments", "the index and the store agree"}},
		{[]string{"verify", "--store", storeURL, "--index", filepath.Join(dir, "recorder.db"), "--channel", "news"}, exitOK, []string{"the index and the store agree"}},
		{[]string{"verify", "--store", storeURL, "--index", rebuilt, "--channel", "nope"}, exitFailure, []string{`"nope"`, "neither in the index nor in the store"}},
	} {
		r := runCLI(ctx, tc.args...)
		out := r.stderr
		if tc.code == exitOK {
			out = r.stdout
		}
		if r.code != tc.code {
			t.Errorf("reaparchive %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), r.code, tc.code, r)
			continue
		}
		for _, w := range tc.out {
			if !strings.Contains(out, w) {
				t.Errorf("reaparchive %s: output does not say %q\n%s", strings.Join(tc.args, " "), w, r)
			}
		}
	}

	// A deleted object: exit 1, and the JSON report names it.
	key := layout.MediaKey("news", simulate.VideoRep, k0+1, "m4s")
	if err := st.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	r := runCLI(ctx, "verify", "--store", storeURL, "--index", rebuilt, "--json")
	var rep reconcile.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != exitFailure {
		t.Fatalf("verify --json: %v\n%s", err, r)
	}
	if rep.Mismatches != 1 || len(rep.Channels) != 1 || len(rep.Channels[0].Problems) != 1 ||
		rep.Channels[0].Problems[0].Kind != reconcile.MissingObject || rep.Channels[0].Problems[0].Key != key ||
		rep.Channels[0].Problems[0].K == nil || *rep.Channels[0].Problems[0].K != k0+1 {
		t.Errorf("verify --json after deleting %s: %s", key, r.stdout)
	}
	if !strings.Contains(r.stderr, "1 mismatch between the index and the store") {
		t.Errorf("verify: stderr %q", r.stderr)
	}
}
