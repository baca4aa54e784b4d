package main

// End-to-end tests: the CLI as a new user runs it, against real livesim2
// servers, ffmpeg and dash.js in headless Chromium (internal/testenv). Every
// test has its own livesim2 instances, store and index, and they all run in
// parallel: the slowest (a 60 s recording, then export, decode and
// playback) sets the wall time, about 1.5 minutes.
//
// livesim2's testpic_2s is a REaP source: availabilityStartTime 1970,
// startNumber 0, D = 2 s, so $Number$ is the epoch index K.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestE2ERecordTwoLivesim2 records two livesim2 servers, one of them losing
// every K with K mod 10 == 3 (404), for 60 s, and checks the archive, the
// zero-copy and the --copy export, ffmpeg decoding and dash.js playback.
func TestE2ERecordTwoLivesim2(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	plain := testenv.StartLivesim2(t)
	lossy := testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch, cycle, rsq = "news", 20, 3
	lost := func(k int64) bool { return injectedLoss(k, cycle, rsq) }

	ar.record(t, ctx, ch, 60*time.Second, "a="+mpdURL(plain, ""), "b="+mpdURL(lossy, statuscodePrefix(cycle, rsq)))

	st := ar.status(t, ctx, ch)
	dl := deliveries(t, ctx, ar.index, ch)
	video, audio := st.track(t, e2eVideo), st.track(t, e2eAudio)
	if video.ContentType != "video" || audio.ContentType != "audio" {
		t.Errorf("content types: %s %s, %s %s", video.Rep, video.ContentType, audio.Rep, audio.ContentType)
	}
	if video.First != audio.First || video.Last != audio.Last {
		t.Errorf("video K %d..%d, audio K %d..%d: want the same range", video.First, video.Last, audio.First, audio.Last)
	}
	for _, tr := range st.Tracks {
		if len(tr.Gaps) != 0 {
			t.Errorf("%s: gaps %v, want none (source a has every segment)", tr.Rep, tr.Gaps)
		}
		if tr.Segments < 29 || tr.Segments > 33 {
			t.Errorf("%s: %d segments in 60 s, want 29..33", tr.Rep, tr.Segments)
		}
		if tr.Duplicates <= 0 || tr.Conflicts != 0 {
			t.Errorf("%s: %d duplicates, %d conflicts: want duplicates > 0 and no conflicts", tr.Rep, tr.Duplicates, tr.Conflicts)
		}
		a, b := tr.source(t, "a"), tr.source(t, "b")
		// b's misses are exactly the injected ones.
		bMissing := ks(dl[tr.Rep]["b"], func(o []index.Outcome) bool { return has(o, index.Missing) })
		var inRange []int64
		for _, k := range bMissing {
			if !lost(k) {
				t.Errorf("%s: source b missed K=%d, which livesim2 serves (K mod 10 = %d)", tr.Rep, k, k%10)
			}
			if k >= tr.First && k <= tr.Last {
				inRange = append(inRange, k)
			}
		}
		var wantMiss []int64
		for k := tr.First; k <= tr.Last; k++ {
			if lost(k) {
				wantMiss = append(wantMiss, k)
			}
		}
		if !slices.Equal(inRange, wantMiss) || len(wantMiss) == 0 {
			t.Errorf("%s: source b missing K %v in %d..%d, want the injected %v", tr.Rep, inRange, tr.First, tr.Last, wantMiss)
		}
		if b.Missing != int64(len(bMissing)) {
			t.Errorf("%s: status says source b missed %d, the index lists %v", tr.Rep, b.Missing, bMissing)
		}
		if a.Missing != 0 || a.Rejected != 0 || b.Rejected != 0 || a.Conflicts != 0 || b.Conflicts != 0 {
			t.Errorf("%s: unexpected per-source counts a=%+v b=%+v", tr.Rep, a, b)
		}
		if got := a.Stored + a.Duplicates; got != tr.Segments {
			t.Errorf("%s: source a delivered %d (stored+duplicates), want all %d", tr.Rep, got, tr.Segments)
		}
		if got, want := b.Stored+b.Duplicates, tr.Segments-int64(len(wantMiss)); got != want {
			t.Errorf("%s: source b delivered %d (stored+duplicates), want %d segments - %d injected misses", tr.Rep, got, tr.Segments, len(inRange))
		}
		if tr.Duplicates != a.Duplicates+b.Duplicates || a.Identical != a.Duplicates || b.Identical != b.Duplicates {
			t.Errorf("%s: duplicates %d, per source a=%+v b=%+v: want the sum, all bit-identical", tr.Rep, tr.Duplicates, a, b)
		}
	}

	listing := listStore(t, ar.store, ch)
	checkStoreMatchesStatus(t, st, listing)
	checkStoredBytes(t, ctx, plain, listing)
	for rep, paths := range listing.inits {
		for _, p := range paths {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			info, err := cmaf.ParseInit(data)
			if err != nil {
				t.Errorf("init %s does not parse: %v", p, err)
				continue
			}
			if want := st.track(t, rep).ContentType; info.ContentType != want {
				t.Errorf("init %s is %s, the track is %s", p, info.ContentType, want)
			}
		}
	}
	if len(listing.impds) == 0 {
		t.Errorf("no I-MPD kept in the store")
	}
	if t.Failed() {
		return
	}

	// Zero-copy export of exactly the recorded range into the store.
	from, to := exportRange(t, video)
	out := filepath.Join(ar.store, "vod", "out.mpd")
	exportArgs := ar.args("export-vod", "--channel", ch, "--from", from, "--to", to, "--out", "file://"+filepath.ToSlash(out))
	r := mustCLI(t, ctx, exportArgs...)
	if want := fmt.Sprintf("2 tracks, %d segments, 0 gaps, 1 period", video.Segments+audio.Segments); !strings.Contains(r.stdout, want) {
		t.Errorf("export-vod said %q, want it to contain %q", r.stdout, want)
	}
	m, tracks := readExportedMPD(t, out)
	if base := mpdBaseURL(m); base != "../" {
		t.Errorf("zero-copy MPD BaseURL %q, want the relative \"../\"", base)
	}
	for _, tr := range st.Tracks {
		checkTimeline(t, out, m, tracks[tr.Rep], tr.stored())
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	mustCLI(t, ctx, exportArgs...)
	if second, _ := os.ReadFile(out); !bytes.Equal(first, second) {
		t.Errorf("exporting the same range twice gave different MPDs:\n%s\n---\n%s", first, second)
	}
	checkDecodes(t, out, video.Segments)
	res := testenv.Play(t, ctx, "dashjs", ar.store, "vod/out.mpd")
	t.Logf("dash.js: %+v", res)
	if want := float64(video.Segments) * 2; res.Duration < want-0.5 || res.Duration > want+0.5 {
		t.Errorf("dash.js saw a %.2f s presentation, want %d segments × 2 s", res.Duration, video.Segments)
	}

	// Self-contained package in a separate directory.
	pkg := filepath.Join(ar.dir, "pkg")
	r = mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", from, "--to", to, "--out", "file://"+filepath.ToSlash(pkg), "--copy")...)
	if want := fmt.Sprintf("copied %d objects", video.Segments+audio.Segments+2); !strings.Contains(r.stdout, want) {
		t.Errorf("export-vod --copy said %q, want %q", r.stdout, want)
	}
	pkgMPD := filepath.Join(pkg, "manifest.mpd")
	m2, tracks2 := readExportedMPD(t, pkgMPD)
	if base := mpdBaseURL(m2); base != "./" {
		t.Errorf("--copy MPD has BaseURL %q, want ./ (the copies are beside it)", base)
	}
	for _, tr := range st.Tracks {
		checkTimeline(t, pkgMPD, m2, tracks2[tr.Rep], tr.stored())
	}
	checkDecodes(t, pkgMPD, video.Segments)
}

// lossRun records two livesim2 servers for 30 s, each through its own
// statuscode injection, and returns the archive, its status and the
// per-K deliveries.
func lossRun(t *testing.T, ch string, cycleA, rsqA, cycleB, rsqB int) (*e2eArchive, *testenv.Livesim2, jsonChannel, map[string]map[string]map[int64][]index.Outcome) {
	ctx := t.Context()
	la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	ar.record(t, ctx, ch, 30*time.Second, "a="+mpdURL(la, statuscodePrefix(cycleA, rsqA)), "b="+mpdURL(lb, statuscodePrefix(cycleB, rsqB)))
	st := ar.status(t, ctx, ch)
	dl := deliveries(t, ctx, ar.index, ch)
	for _, tr := range st.Tracks {
		// The K range recorded (gaps included: both sources may lose the
		// same K), not the stored segments.
		if span := tr.Last - tr.First + 1; span < 13 || span > 18 {
			t.Errorf("%s: K %d..%d (%d segments) recorded in 30 s, want about 16", tr.Rep, tr.First, tr.Last, span)
		}
		for _, src := range []struct {
			name        string
			cycle, rsq  int
			wantMissing []int64
		}{{name: "a", cycle: cycleA, rsq: rsqA}, {name: "b", cycle: cycleB, rsq: rsqB}} {
			missing := ks(dl[tr.Rep][src.name], func(o []index.Outcome) bool { return has(o, index.Missing) })
			for _, k := range missing {
				if !injectedLoss(k, src.cycle, src.rsq) {
					t.Errorf("%s: source %s missed K=%d, which livesim2 serves", tr.Rep, src.name, k)
				}
			}
			for k := tr.First; k <= tr.Last; k++ {
				if injectedLoss(k, src.cycle, src.rsq) && !slices.Contains(missing, k) {
					t.Errorf("%s: source %s: injected loss K=%d is not recorded as missing (outcomes %v)", tr.Rep, src.name, k, dl[tr.Rep][src.name][k])
				}
			}
			if s := tr.source(t, src.name); s.Missing != int64(len(missing)) || s.Rejected != 0 || s.Conflicts != 0 {
				t.Errorf("%s: source %s counts %+v, the index lists missing %v", tr.Rep, src.name, s, missing)
			}
		}
	}
	listing := listStore(t, ar.store, ch)
	checkStoreMatchesStatus(t, st, listing)
	checkStoredBytes(t, ctx, la, listing)
	return ar, la, st, dl
}

// TestE2EDifferentLosses: both sources lose segments (K mod 5 == 1 from a,
// K mod 5 == 3 from b), never the same ones: the archive has no gap.
func TestE2EDifferentLosses(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ch = "diff"
	ar, _, st, _ := lossRun(t, ch, 10, 1, 10, 3)
	for _, tr := range st.Tracks {
		if len(tr.Gaps) != 0 {
			t.Errorf("%s: gaps %v, want none: every K came from one of the sources", tr.Rep, tr.Gaps)
		}
		a, b := tr.source(t, "a"), tr.source(t, "b")
		if a.Missing == 0 || b.Missing == 0 {
			t.Errorf("%s: missing a=%d b=%d: the injection had no effect", tr.Rep, a.Missing, b.Missing)
		}
	}
	if t.Failed() {
		return
	}
	video := st.track(t, e2eVideo)
	from, to := exportRange(t, video)
	out := filepath.Join(ar.store, "vod", "diff.mpd")
	mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", from, "--to", to, "--out", "file://"+filepath.ToSlash(out))...)
	checkDecodes(t, out, video.Segments)
}

// TestE2ESameLoss: both sources lose the same segments (K mod 5 == 2): those
// are gaps in status and holes in the exported SegmentTimeline.
func TestE2ESameLoss(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const ch, cycle, rsq = "same", 10, 2
	ar, _, st, _ := lossRun(t, ch, cycle, rsq, cycle, rsq)
	for _, tr := range st.Tracks {
		want := ranges(tr.First, tr.Last, func(k int64) bool { return injectedLoss(k, cycle, rsq) })
		if len(want) == 0 {
			t.Fatalf("%s: K %d..%d has no injected loss", tr.Rep, tr.First, tr.Last)
		}
		if !slices.Equal(tr.Gaps, want) {
			t.Errorf("%s: gaps %v, want exactly the K lost from both sources %v", tr.Rep, tr.Gaps, want)
		}
	}
	if t.Failed() {
		return
	}
	video := st.track(t, e2eVideo)
	from, to := exportRange(t, video)
	out := filepath.Join(ar.store, "vod", "same.mpd")
	r := mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", from, "--to", to, "--out", "file://"+filepath.ToSlash(out))...)
	if want := fmt.Sprintf(" %d gaps,", 2*len(video.Gaps)); !strings.Contains(r.stdout, want) {
		t.Errorf("export-vod said %q, want %q (each gap in both tracks)", r.stdout, want)
	}
	m, tracks := readExportedMPD(t, out)
	for _, tr := range st.Tracks {
		mt, ok := tracks[tr.Rep]
		if !ok {
			t.Fatalf("exported MPD has no Representation %s", tr.Rep)
		}
		if int64(len(mt.segments)) != tr.Segments {
			t.Errorf("%s: SegmentTimeline has %d segments, the archive %d", tr.Rep, len(mt.segments), tr.Segments)
		}
		// addresses exactly the stored K, S@t jumps over each hole, and
		// every referenced object exists.
		checkTimeline(t, out, m, mt, tr.stored())
		for _, g := range tr.Gaps {
			for i := 1; i < len(mt.segments); i++ {
				prev, s := mt.segments[i-1], mt.segments[i]
				if prev.number == g.From-1 && s.number != g.To+1 {
					t.Errorf("%s: after K=%d the timeline continues with K=%d, want K=%d (gap %d..%d)", tr.Rep, prev.number, s.number, g.To+1, g.From, g.To)
				}
			}
		}
	}
}

// TestE2ESourceKilledAndRestarted kills one of two sources 15 s into a 50 s
// recording and restarts it 15 s later: no gap, the outage shows as missing
// deliveries of that source, and it delivers again after the restart
// without anyone telling the recorder.
func TestE2ESourceKilledAndRestarted(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	stable, flaky := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch = "restart"
	start := time.Now()
	done := make(chan cliResult, 1)
	go func() {
		done <- runCLI(ctx, ar.args("record", "--channel", ch, "--for", "50s",
			"--source", "a="+mpdURL(stable, ""), "--source", "b="+mpdURL(flaky, ""))...)
	}()
	sleepUntil(ctx, start.Add(15*time.Second))
	flaky.Stop()
	killed := time.Now()
	sleepUntil(ctx, start.Add(30*time.Second))
	if err := flaky.Start(); err != nil {
		t.Errorf("restarting livesim2: %v", err)
	}
	restarted := time.Now()
	t.Logf("source b down from %s to %s", killed.Format("15:04:05.000"), restarted.Format("15:04:05.000"))
	r := <-done
	if r.code != exitOK {
		t.Fatalf("record: %s", r)
	}
	for _, msg := range []string{`"source down"`, `"source rejoined"`} {
		if !strings.Contains(r.stderr, msg) {
			t.Errorf("the recorder's log does not say %s:\n%s", msg, r.stderr)
		}
	}

	st := ar.status(t, ctx, ch)
	dl := deliveries(t, ctx, ar.index, ch)
	avail := func(k int64) time.Time { return time.Unix((k+1)*2, 0) }
	timeout := 6 * time.Second // the default --segment-timeout for D = 2 s
	for _, tr := range st.Tracks {
		if len(tr.Gaps) != 0 {
			t.Errorf("%s: gaps %v, want none (source a was up all the time)", tr.Rep, tr.Gaps)
		}
		if tr.Segments < 23 || tr.Segments > 28 {
			t.Errorf("%s: %d segments in 50 s, want about 26", tr.Rep, tr.Segments)
		}
		a, b := tr.source(t, "a"), tr.source(t, "b")
		if a.Missing != 0 || a.Stored+a.Duplicates != tr.Segments {
			t.Errorf("%s: source a %+v, want every segment", tr.Rep, a)
		}
		var outage, after []int64
		for k := tr.First; k <= tr.Last; k++ {
			o := dl[tr.Rep]["b"][k]
			switch {
			case avail(k).After(killed.Add(500*time.Millisecond)) && avail(k).Add(timeout).Before(restarted.Add(-time.Second)):
				// due and given up on while b was down
				outage = append(outage, k)
				if !has(o, index.Missing) {
					t.Errorf("%s: K=%d was due while source b was down, but b's outcome is %v, want missing", tr.Rep, k, o)
				}
			case k == tr.Last:
				// Due as the recording stopped: b's fetch of it may have
				// been cut off after a stored it.
			case avail(k).After(restarted.Add(3 * time.Second)):
				after = append(after, k)
				if !has(o, index.Stored, index.Duplicate) {
					t.Errorf("%s: K=%d was due after source b came back, but b's outcome is %v, want stored or duplicate", tr.Rep, k, o)
				}
			case avail(k).Before(killed.Add(-time.Second)):
				if !has(o, index.Stored, index.Duplicate) {
					t.Errorf("%s: K=%d was due before source b was killed, but b's outcome is %v", tr.Rep, k, o)
				}
			}
		}
		t.Logf("%s: K missed during the outage %v, delivered after the restart %v; source b %+v", tr.Rep, outage, after, b)
		if len(outage) < 3 || len(after) < 3 {
			t.Errorf("%s: %d K in the outage, %d after the restart: the test timing is off", tr.Rep, len(outage), len(after))
		}
		if b.Missing < int64(len(outage)) || b.Missing > 10 {
			t.Errorf("%s: source b missing %d, want at least the %d segments due during the outage and at most 10", tr.Rep, b.Missing, len(outage))
		}
		if b.Stored+b.Duplicates < int64(len(after)) {
			t.Errorf("%s: source b delivered %d, want at least the %d segments after its restart", tr.Rep, b.Stored+b.Duplicates, len(after))
		}
	}
	listing := listStore(t, ar.store, ch)
	checkStoreMatchesStatus(t, st, listing)
	checkStoredBytes(t, ctx, stable, listing)
}

func sleepUntil(ctx context.Context, at time.Time) {
	select {
	case <-ctx.Done():
	case <-time.After(time.Until(at)):
	}
}

// badProxy is a reverse proxy in front of livesim2 that answers segment K
// with a 200 HTML page when K mod 4 == 1 and with the first half of the
// segment (and a Content-Length that matches it) when K mod 4 == 2.
func badProxy(t *testing.T, l *testenv.Livesim2) *httptest.Server {
	upstream := &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", l.Port)}
	rp := httputil.NewSingleHostReverseProxy(upstream)
	seg := regexp.MustCompile(`/(V300|A48)/([0-9]+)\.m4s$`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := seg.FindStringSubmatch(r.URL.Path)
		if m == nil {
			rp.ServeHTTP(w, r)
			return
		}
		k, _ := strconv.ParseInt(m[2], 10, 64)
		switch k % 4 {
		case 1:
			page := "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1><p>The encoder did not answer.</p></body></html>\n"
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", strconv.Itoa(len(page)))
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, page)
		case 2:
			resp, err := http.Get(upstream.String() + r.URL.RequestURI())
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK {
				w.WriteHeader(resp.StatusCode)
				return
			}
			half := body[:len(body)/2]
			w.Header().Set("Content-Type", "video/mp4")
			w.Header().Set("Content-Length", strconv.Itoa(len(half)))
			w.WriteHeader(http.StatusOK)
			w.Write(half)
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestE2EBadBodies: one source answers some segments with an HTML page and
// others truncated, all with 200 and a correct Content-Length; the other
// source is sound. Nothing bad is stored, the log names the rejections,
// status counts them, and the recording carries on.
func TestE2EBadBodies(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	good, behind := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	proxy := badProxy(t, behind)
	ar := newE2EArchive(t)
	const ch = "bad"
	r := ar.record(t, ctx, ch, 30*time.Second, "good="+mpdURL(good, ""), "bad="+proxy.URL+"/livesim2/"+e2eAsset+"/Manifest.mpd")

	st := ar.status(t, ctx, ch)
	dl := deliveries(t, ctx, ar.index, ch)
	for _, tr := range st.Tracks {
		if len(tr.Gaps) != 0 {
			t.Errorf("%s: gaps %v, want none", tr.Rep, tr.Gaps)
		}
		// The K range recorded (gaps included: both sources may lose the
		// same K), not the stored segments.
		if span := tr.Last - tr.First + 1; span < 13 || span > 18 {
			t.Errorf("%s: K %d..%d (%d segments) recorded in 30 s, want about 16", tr.Rep, tr.First, tr.Last, span)
		}
		g, b := tr.source(t, "good"), tr.source(t, "bad")
		if g.Missing != 0 || g.Rejected != 0 || g.Stored+g.Duplicates != tr.Segments {
			t.Errorf("%s: source good %+v, want every segment delivered", tr.Rep, g)
		}
		rejected := ks(dl[tr.Rep]["bad"], func(o []index.Outcome) bool { return has(o, index.Rejected) })
		for k := tr.First; k <= tr.Last; k++ {
			o := dl[tr.Rep]["bad"][k]
			if k%4 == 1 || k%4 == 2 {
				if !slices.Equal(o, []index.Outcome{index.Rejected}) {
					t.Errorf("%s: K=%d: the bad source's body was bad, its outcome is %v, want rejected", tr.Rep, k, o)
				}
			} else if !has(o, index.Stored, index.Duplicate) {
				t.Errorf("%s: K=%d: the bad source's body was good, its outcome is %v, want stored or duplicate", tr.Rep, k, o)
			}
		}
		if b.Rejected == 0 || b.Rejected != int64(len(rejected)) {
			t.Errorf("%s: status says source bad had %d rejected, the index lists %v", tr.Rep, b.Rejected, rejected)
		}
		if b.Stored+b.Duplicates == 0 {
			t.Errorf("%s: the bad source's good segments were not taken: %+v", tr.Rep, b)
		}
	}
	// The log names each rejection and its reason.
	var html, truncated int
	for _, line := range strings.Split(r.stderr, "\n") {
		var e struct {
			Msg, Source, Rep, Err string
			K                     int64
		}
		if json.Unmarshal([]byte(line), &e) != nil || !strings.Contains(e.Msg, "rejected") {
			continue
		}
		if e.Source != "bad" || e.Err == "" {
			t.Errorf("rejection log line without source bad or a reason: %s", line)
		}
		switch e.K % 4 {
		case 1:
			if html++; html == 1 {
				t.Logf("HTML page rejected: %s", line)
			}
			switch {
			case strings.Contains(e.Err, "not an MP4") || strings.Contains(e.Err, "not a media segment"):
			default:
				t.Errorf("the log does not say the HTML page is not a segment: %s", line)
			}
		case 2:
			if truncated++; truncated == 1 {
				t.Logf("half segment rejected: %s", line)
			}
			if !strings.Contains(e.Err, "truncated") {
				t.Errorf("the log does not say the half segment is truncated: %s", line)
			}
		default:
			t.Errorf("a good body was rejected: %s", line)
		}
	}
	if html == 0 || truncated == 0 {
		t.Errorf("the log names %d rejected HTML pages and %d truncated segments, want both:\n%s", html, truncated, r.stderr)
	}
	listing := listStore(t, ar.store, ch)
	checkStoreMatchesStatus(t, st, listing)
	checkStoredBytes(t, ctx, good, listing)
}

// buildBinary builds cmd/reaparchive into dir.
func buildBinary(t testing.TB, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(dir, "reaparchive")
	if out, err := exec.Command(goBin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestE2ESignalStop runs `record` as a process and stops it with SIGINT or
// SIGTERM: it exits 0 promptly, and index and store agree afterwards.
func TestE2ESignalStop(t *testing.T) {
	t.Parallel()
	bin := buildBinary(t, t.TempDir()) // once for both subtests
	for _, tc := range []struct {
		sig    syscall.Signal
		offset time.Duration
	}{{syscall.SIGINT, 5 * time.Millisecond}, {syscall.SIGTERM, 40 * time.Millisecond}} {
		sig, offset := tc.sig, tc.offset
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
			ar := newE2EArchive(t)
			const ch = "sig"
			cmd := exec.Command(bin, ar.args("record", "--channel", ch, "--for", "60s",
				"--source", "a="+mpdURL(la, ""), "--source", "b="+mpdURL(lb, ""))...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// ~9 s in, just after a segment became available: fetches and
			// writes are in flight.
			at := time.Now().Add(9 * time.Second).Truncate(e2eSegDur).Add(e2eSegDur + offset)
			sleepUntil(ctx, at)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			sent := time.Now()
			var err error
			select {
			case err = <-exited:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
				t.Fatalf("record did not exit within 20 s of %s; stderr:\n%s", sig, stderr.String())
			}
			took := time.Since(sent)
			t.Logf("record exited %s after %s: %v", took.Round(time.Millisecond), sig, err)
			if err != nil {
				t.Fatalf("record exited with %v after %s, want 0; stderr:\n%s", err, sig, stderr.String())
			}
			if took > 10*time.Second {
				t.Errorf("record took %s to exit after %s, want under 10 s", took, sig)
			}
			st := ar.status(t, ctx, ch)
			for _, tr := range st.Tracks {
				if tr.Segments < 3 {
					t.Errorf("%s: only %d segments recorded in ~10 s", tr.Rep, tr.Segments)
				}
			}
			listing := listStore(t, ar.store, ch)
			checkStoreMatchesStatus(t, st, listing)
			checkStoredBytes(t, ctx, la, listing)
		})
	}
}

// TestE2ECLIUsage: bad usage exits 2 and names the flag.
func TestE2ECLIUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, idx := "file://"+filepath.ToSlash(filepath.Join(dir, "store")), filepath.Join(dir, "index.db")
	src := "a=http://127.0.0.1:1/livesim2/testpic_2s/Manifest.mpd"
	export := []string{"export-vod", "--store", store, "--index", idx, "--channel", "c", "--out", store + "/vod/x.mpd"}
	tests := []struct {
		name string
		args []string
		want []string // in stderr
	}{
		{"record without --store", []string{"record", "--index", idx, "--channel", "c", "--source", src, "--for", "1s"}, []string{"--store"}},
		{"status without --store", []string{"status", "--index", idx}, []string{"--store"}},
		{"status without --index", []string{"status", "--store", store}, []string{"--index"}},
		{"--source without =", []string{"record", "--store", store, "--index", idx, "--channel", "c", "--source", "http://127.0.0.1:1/x.mpd"}, []string{"--source", "NAME=", "http://127.0.0.1:1/x.mpd"}},
		{"--source not http", []string{"record", "--store", store, "--index", idx, "--channel", "c", "--source", "a=ftp://x/y.mpd"}, []string{"ftp://x/y.mpd"}},
		{"--source without --channel", []string{"record", "--store", store, "--index", idx, "--source", src}, []string{"--channel"}},
		{"--for not a duration", []string{"record", "--store", store, "--index", idx, "--channel", "c", "--source", src, "--for", "soon"}, []string{"--for", "soon"}},
		{"unknown flag", []string{"status", "--store", store, "--index", idx, "--colour"}, []string{"--colour"}},
		{"unknown command", []string{"recrod"}, []string{"recrod"}},
		{"arguments", []string{"status", "--store", store, "--index", idx, "extra"}, []string{"extra"}},
		{"--from not RFC 3339", append(slices.Clone(export), "--from", "2026-01-01 10:00", "--to", "2026-01-01T11:00:00Z"), []string{"--from", "2026-01-01 10:00"}},
		{"--to not RFC 3339", append(slices.Clone(export), "--from", "2026-01-01T10:00:00Z", "--to", "11:00"), []string{"--to", "11:00"}},
		{"--last and --from", append(slices.Clone(export), "--last", "1h", "--from", "2026-01-01T10:00:00Z", "--to", "2026-01-01T11:00:00Z"), []string{"--last", "--from"}},
		{"no range", slices.Clone(export), []string{"--from", "--last"}},
		{"export without --out", []string{"export-vod", "--store", store, "--index", idx, "--channel", "c", "--last", "1h"}, []string{"--out"}},
		{"export without --channel", []string{"export-vod", "--store", store, "--index", idx, "--out", store + "/x.mpd", "--last", "1h"}, []string{"--channel"}},
		{"bad --log-level", []string{"status", "--store", store, "--index", idx, "--log-level", "loud"}, []string{"--log-level", "loud"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t.Context(), tt.args...)
			if r.code != exitUsage {
				t.Fatalf("reaparchive %q: want exit 2 (usage); %s", tt.args, r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("reaparchive %q: stderr does not name %q:\n%s", tt.args, w, r.stderr)
				}
			}
			if r.stdout != "" {
				t.Errorf("reaparchive %q: usage error printed to stdout: %q", tt.args, r.stdout)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "index.db")); err == nil {
		t.Errorf("a usage error created the index")
	}
}

// TestE2ECLIFailures: failures exit 1 with a message; an empty index has
// an empty channel list.
func TestE2ECLIFailures(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	store, idx := "file://"+filepath.ToSlash(filepath.Join(dir, "store")), filepath.Join(dir, "index.db")
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil { // an empty store
		t.Fatal(err)
	}
	db, err := index.Open(ctx, idx) // an empty index
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	r := mustCLI(t, ctx, "status", "--store", store, "--index", idx, "--json")
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(r.stdout)); err != nil || compact.String() != `{"channels":[]}` {
		t.Errorf("status --json on an empty index printed %q, want {\"channels\":[]}", r.stdout)
	}
	r = mustCLI(t, ctx, "status", "--store", store, "--index", idx)
	if !strings.Contains(r.stdout, "no channels") {
		t.Errorf("status on an empty index printed %q", r.stdout)
	}

	// A regular file where a directory should be: the store is unreachable.
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	badStore := testenv.FileStoreURL(blocker)
	src := "a=http://127.0.0.1:1/livesim2/testpic_2s/Manifest.mpd"
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"status of an unknown channel", []string{"status", "--store", store, "--index", idx, "--channel", "nosuch"}, []string{"nosuch"}},
		{"status --json of an unknown channel", []string{"status", "--store", store, "--index", idx, "--channel", "nosuch", "--json"}, []string{"nosuch"}},
		{"export of an unknown channel", []string{"export-vod", "--store", store, "--index", idx, "--channel", "nosuch", "--last", "1h", "--out", store + "/vod/x.mpd"}, []string{"nosuch"}},
		{"status of a missing index", []string{"status", "--store", store, "--index", filepath.Join(dir, "nosuch.db")}, []string{"nosuch.db"}},
		{"record into an unreachable store", []string{"record", "--store", badStore, "--index", filepath.Join(dir, "rec.db"), "--channel", "c", "--source", src, "--for", "1s"}, []string{"store"}},
		{"status of an unreachable store", []string{"status", "--store", badStore, "--index", idx}, []string{"store"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t.Context(), tt.args...)
			if r.code != exitFailure {
				t.Fatalf("reaparchive %q: want exit 1; %s", tt.args, r)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("reaparchive %q: stderr does not name %q:\n%s", tt.args, w, r.stderr)
				}
			}
		})
	}
}
