package main

// Helpers of the end-to-end tests in e2e_test.go: running the CLI
// in-process, reading `status --json` as an external check would, listing
// the file store, fetching reference segments from livesim2 and walking an
// exported MPD's SegmentTimeline.

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// livesim2's testpic_2s asset: D = 2 s, video V300 at 30 fps (60 frames per
// segment), audio A48 at 48 kHz (93.75 AAC frames per segment).
const (
	e2eAsset       = "testpic_2s"
	e2eSegDur      = 2 * time.Second
	e2eVideo       = "V300"
	e2eAudio       = "A48"
	e2eVideoFrames = 60
	e2eAudioFrames = 93.75
)

var e2eReps = []string{e2eAudio, e2eVideo}

// TestMain lets the end-to-end tests all run at once unless -parallel is
// given: they spend their time waiting for wall-clock segments (a 60 s
// recording takes 60 s on any machine), so go test's default of GOMAXPROCS
// parallel tests would only queue them one after another on a small
// machine.
func TestMain(m *testing.M) {
	if spec := os.Getenv(envPullFetcher); spec != "" {
		os.Exit(pullFetcherMain(spec)) // BenchmarkPull50Channels's baseline
	}
	flag.Parse()
	explicit := false
	flag.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "test.parallel" })
	if !explicit && runtime.GOMAXPROCS(0) < 16 {
		_ = flag.Set("test.parallel", "16")
	}
	os.Exit(m.Run())
}

// envInt is env name as a positive number, def when unset.
func envInt(tb testing.TB, name string, def int) int {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		tb.Fatalf("%s=%q: want a positive number", name, s)
	}
	return n
}

// envSeed is the seed of a test's random choices: env name, else the
// clock (the test logs it, so that a failure can be replayed).
func envSeed(tb testing.TB, name string) uint64 {
	tb.Helper()
	s := os.Getenv(name)
	if s == "" {
		return uint64(time.Now().UnixNano())
	}
	seed, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		tb.Fatalf("%s=%q: want an unsigned integer", name, s)
	}
	return seed
}

// cliResult is what one in-process run of the CLI gave.
type cliResult struct {
	code           int
	stdout, stderr string
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// runCLI runs the CLI in-process, as main does.
func runCLI(ctx context.Context, args ...string) cliResult {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// mustCLI runs the CLI and fails the test unless it exits 0.
func mustCLI(t testing.TB, ctx context.Context, args ...string) cliResult {
	t.Helper()
	r := runCLI(ctx, args...)
	if r.code != exitOK {
		t.Fatalf("reaparchive %s: %s", strings.Join(args, " "), r)
	}
	return r
}

// e2eArchive is one test's archive: a file store and an index in its own
// temporary directory.
type e2eArchive struct {
	dir   string // the test's temporary directory
	store string // store directory
	index string // index path
}

func newE2EArchive(t testing.TB) *e2eArchive {
	dir := t.TempDir()
	return &e2eArchive{dir: dir, store: filepath.Join(dir, "store"), index: filepath.Join(dir, "index.db")}
}

func (a *e2eArchive) storeURL() string { return "file://" + filepath.ToSlash(a.store) }

// args is cmd with --store and --index, then extra.
func (a *e2eArchive) args(cmd string, extra ...string) []string {
	return append([]string{cmd, "--store", a.storeURL(), "--index", a.index}, extra...)
}

// record records channel from sources ("NAME=MPD_URL") for d and fails
// the test unless it exits 0.
func (a *e2eArchive) record(t testing.TB, ctx context.Context, channel string, d time.Duration, sources ...string) cliResult {
	t.Helper()
	args := a.args("record", "--channel", channel, "--for", d.String())
	for _, s := range sources {
		args = append(args, "--source", s)
	}
	start := time.Now()
	r := mustCLI(t, ctx, args...)
	t.Logf("record --for %s took %s", d, time.Since(start).Round(100*time.Millisecond))
	return r
}

// The `status --json` contract.
type (
	jsonStatus struct {
		Channels []jsonChannel `json:"channels"`
	}
	jsonChannel struct {
		Name   string      `json:"name"`
		Tracks []jsonTrack `json:"tracks"`
	}
	jsonTrack struct {
		Rep         string       `json:"rep"`
		ContentType string       `json:"content_type"`
		First       int64        `json:"first"`
		Last        int64        `json:"last"`
		FirstTime   string       `json:"first_time"`
		LastTime    string       `json:"last_time"`
		Segments    int64        `json:"segments"`
		Gaps        []jsonRange  `json:"gaps"`
		Duplicates  int64        `json:"duplicates"`
		Conflicts   int64        `json:"conflicts"`
		Sources     []jsonSource `json:"sources"`
		TextIssues  *int64       `json:"text_issues"` // text tracks only
	}
	jsonRange struct {
		From int64 `json:"from"`
		To   int64 `json:"to"`
	}
	jsonSource struct {
		Name       string `json:"name"`
		Stored     int64  `json:"stored"`
		Duplicates int64  `json:"duplicates"`
		Identical  int64  `json:"identical"`
		Conflicts  int64  `json:"conflicts"`
		Missing    int64  `json:"missing"`
		Rejected   int64  `json:"rejected"`
	}
)

// status runs `status --json --channel channel` and returns the channel.
func (a *e2eArchive) status(t testing.TB, ctx context.Context, channel string) jsonChannel {
	t.Helper()
	r := mustCLI(t, ctx, a.args("status", "--json", "--channel", channel)...)
	var st jsonStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	if len(st.Channels) != 1 || st.Channels[0].Name != channel {
		t.Fatalf("status --json --channel %s: want exactly that channel, got %s", channel, r.stdout)
	}
	ch := st.Channels[0]
	var reps []string
	for _, tr := range ch.Tracks {
		reps = append(reps, tr.Rep)
	}
	sort.Strings(reps)
	if strings.Join(reps, ",") != strings.Join(e2eReps, ",") {
		t.Fatalf("status: tracks %v, want %v\n%s", reps, e2eReps, r.stdout)
	}
	t.Logf("status --json:\n%s", r.stdout)
	return ch
}

func (ch jsonChannel) track(t testing.TB, rep string) jsonTrack {
	t.Helper()
	for _, tr := range ch.Tracks {
		if tr.Rep == rep {
			return tr
		}
	}
	t.Fatalf("status: no track %s", rep)
	return jsonTrack{}
}

func (tr jsonTrack) source(t testing.TB, name string) jsonSource {
	t.Helper()
	for _, s := range tr.Sources {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("status: track %s has no source %s (sources %+v)", tr.Rep, name, tr.Sources)
	return jsonSource{}
}

// stored is the set of K with a segment row: [first, last] minus the gaps.
func (tr jsonTrack) stored() map[int64]bool {
	out := map[int64]bool{}
	if tr.Segments == 0 {
		return out
	}
	for k := tr.First; k <= tr.Last; k++ {
		out[k] = true
	}
	for _, g := range tr.Gaps {
		for k := g.From; k <= g.To; k++ {
			delete(out, k)
		}
	}
	return out
}

// ranges turns a predicate over [first, last] into maximal inclusive ranges.
func ranges(first, last int64, in func(k int64) bool) []jsonRange {
	out := []jsonRange{}
	for k := first; k <= last; k++ {
		if !in(k) {
			continue
		}
		if n := len(out); n > 0 && out[n-1].To == k-1 {
			out[n-1].To = k
			continue
		}
		out = append(out, jsonRange{From: k, To: k})
	}
	return out
}

// statuscodePrefix is the livesim2 URL prefix that makes every
// Representation's segment K answer 404 when injectedLoss(K, cycle, rsq).
func statuscodePrefix(cycle, rsq int) string {
	return fmt.Sprintf("statuscode_[{cycle:%d,rsq:%d,code:404,rep:*}]/", cycle, rsq)
}

// injectedLoss is livesim2 v1.9.0's statuscode rule for D = 2 s: a cycle of
// C seconds starts at every multiple of C since the epoch and holds C/D
// segments; the one at position rsq in its cycle fails, so K fails when
// K mod (C/D) == rsq (calcStatusCode in cmd/livesim2/app/handler_livesim.go).
func injectedLoss(k int64, cycle, rsq int) bool {
	n := int64(cycle) / int64(e2eSegDur/time.Second)
	return k%n == int64(rsq)
}

// mpdURL is the URL of the testpic_2s live MPD of l behind prefix ("" or
// a livesim2 URL option such as statuscodePrefix).
func mpdURL(l *testenv.Livesim2, prefix string) string {
	return l.URL() + prefix + e2eAsset + "/Manifest.mpd"
}

// httpGet gets url and fails the test unless it answers 200.
func httpGet(t testing.TB, ctx context.Context, url string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return body
}

// referenceSegment is segment K of rep as livesim2 l serves it. It asks
// with a 10-minute time-shift buffer (livesim2 answers 410 Gone for
// segments older than the default 60 s; the bytes do not depend on it).
func referenceSegment(t testing.TB, ctx context.Context, l *testenv.Livesim2, rep string, k int64) []byte {
	t.Helper()
	return httpGet(t, ctx, fmt.Sprintf("%stsbd_600/%s/%s/%d.m4s", l.URL(), e2eAsset, rep, k))
}

// referenceInit is rep's init segment as livesim2 l serves it.
func referenceInit(t testing.TB, ctx context.Context, l *testenv.Livesim2, rep string) []byte {
	t.Helper()
	return httpGet(t, ctx, fmt.Sprintf("%s%s/%s/init.mp4", l.URL(), e2eAsset, rep))
}

// storeListing is what a file store holds for one channel.
type storeListing struct {
	media map[string]map[int64]string // rep -> K -> file path
	inits map[string][]string         // rep -> init file paths
	impds []string                    // I-MPDs kept from the sources
	other []string                    // anything else: temporary files, unknown names
}

var (
	mediaName = regexp.MustCompile(`^(0|[1-9][0-9]*)\.m4s$`)
	initName  = regexp.MustCompile(`^init-[0-9a-f]{16}\.mp4$`)
	impdName  = regexp.MustCompile(`^impd-[0-9a-f]{16}\.mpd$`)
)

// listStore lists <store>/<channel>/ on disk, ignoring fileblob's .attrs
// sidecars. Temporary files (fileblob's "<name>.<hex>.tmp") and anything
// else that is not an archive object end up in other.
func listStore(t testing.TB, storeDir, channel string) storeListing {
	t.Helper()
	l := storeListing{media: map[string]map[int64]string{}, inits: map[string][]string{}}
	root := filepath.Join(storeDir, channel)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		parts := strings.Split(filepath.ToSlash(rel), "/")
		name := parts[len(parts)-1]
		switch {
		case strings.HasSuffix(name, ".attrs") && !strings.HasSuffix(name, ".tmp"):
			return nil
		case len(parts) == 1 && impdName.MatchString(name):
			l.impds = append(l.impds, p)
		case len(parts) == 2 && initName.MatchString(name):
			l.inits[parts[0]] = append(l.inits[parts[0]], p)
		case len(parts) == 2 && mediaName.MatchString(name):
			k, _ := strconv.ParseInt(strings.TrimSuffix(name, ".m4s"), 10, 64)
			if l.media[parts[0]] == nil {
				l.media[parts[0]] = map[int64]string{}
			}
			l.media[parts[0]][k] = p
		default:
			l.other = append(l.other, p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list store %s: %v", root, err)
	}
	return l
}

// checkStoreMatchesStatus checks that the index (through `status --json`)
// and the store agree for every track: every segment row has its object and
// every media object has a row, and nothing else (temporary files) is left.
func checkStoreMatchesStatus(t testing.TB, ch jsonChannel, l storeListing) {
	t.Helper()
	if len(l.other) > 0 {
		t.Errorf("store holds files that are not archive objects (temporary files left behind?): %v", l.other)
	}
	for _, tr := range ch.Tracks {
		rows := tr.stored()
		if int64(len(rows)) != tr.Segments {
			t.Errorf("%s: status says %d segments, but first %d, last %d and gaps %v give %d", tr.Rep, tr.Segments, tr.First, tr.Last, tr.Gaps, len(rows))
		}
		objs := l.media[tr.Rep]
		for k := range rows {
			if _, ok := objs[k]; !ok {
				t.Errorf("%s: segment K=%d is in the index but its object %s/%d.m4s is not in the store", tr.Rep, k, tr.Rep, k)
			}
		}
		for k, p := range objs {
			if !rows[k] {
				t.Errorf("%s: object %s is in the store but K=%d has no segment row (status first %d last %d gaps %v)", tr.Rep, p, k, tr.First, tr.Last, tr.Gaps)
			}
		}
		if len(l.inits[tr.Rep]) == 0 {
			t.Errorf("%s: no init object in the store", tr.Rep)
		}
	}
}

// checkStoredBytes checks that every stored media object is byte-identical
// to what livesim2 ref serves for that K and rep, and that every stored
// init object is byte-identical to livesim2's init segment.
func checkStoredBytes(t testing.TB, ctx context.Context, ref *testenv.Livesim2, l storeListing) {
	t.Helper()
	n := 0
	for rep, objs := range l.media {
		for k, p := range objs {
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceSegment(t, ctx, ref, rep, k); !bytes.Equal(got, want) {
				t.Errorf("%s: stored %d bytes are not what livesim2 serves for K=%d (%d bytes)", p, len(got), k, len(want))
			}
			n++
		}
		for _, p := range l.inits[rep] {
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceInit(t, ctx, ref, rep); !bytes.Equal(got, want) {
				t.Errorf("%s: stored init is not livesim2's %s/init.mp4", p, rep)
			}
		}
	}
	t.Logf("%d stored media objects are byte-identical to livesim2's", n)
}

// deliveries reads the index's per-(rep, source, K) delivery outcomes for
// K in [first-3, last+3] of each track. (The CLI shows only totals per
// source; the per-K view proves when a source missed or delivered.)
func deliveries(t testing.TB, ctx context.Context, indexPath, channel string) map[string]map[string]map[int64][]index.Outcome {
	t.Helper()
	db, err := index.Open(ctx, indexPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		t.Fatal(err)
	}
	srcs, err := db.Sources(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	names := map[int64]string{}
	for _, s := range srcs {
		names[s.ID] = s.Name
	}
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]map[int64][]index.Outcome{}
	for _, tr := range tracks {
		st, err := db.Stats(ctx, tr.ID, -1<<62, 1<<62)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]map[int64][]index.Outcome{}
		for _, s := range srcs {
			m[s.Name] = map[int64][]index.Outcome{}
		}
		for k := st.First - 3; k <= st.Last+3; k++ {
			ds, err := db.Deliveries(ctx, tr.ID, k)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				m[names[d.SourceID]][k] = append(m[names[d.SourceID]][k], d.Outcome)
			}
		}
		out[tr.Rep] = m
	}
	return out
}

// ks returns the sorted K of a per-K map whose outcomes satisfy keep.
func ks(m map[int64][]index.Outcome, keep func([]index.Outcome) bool) []int64 {
	var out []int64
	for k, o := range m {
		if keep(o) {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func has(o []index.Outcome, want ...index.Outcome) bool {
	for _, x := range o {
		for _, w := range want {
			if x == w {
				return true
			}
		}
	}
	return false
}

// tlSegment is one segment an MPD's SegmentTimeline addresses.
type tlSegment struct {
	number int64  // $Number$
	t, d   uint64 // S@t and S@d of it, in the timescale
}

// mpdTrack is one Representation of an exported MPD, with its
// SegmentTemplate inherited from the AdaptationSet where not overridden.
type mpdTrack struct {
	rep, contentType string
	timescale        uint64
	pto              uint64
	media, init      string
	segments         []tlSegment
}

func templateOf(as *mpd.AdaptationSetType, r *mpd.RepresentationType) (media, init string, timescale, pto uint64, startNumber int64, tl *mpd.SegmentTimelineType) {
	timescale, startNumber = 1, 1
	for _, st := range []*mpd.SegmentTemplateType{as.SegmentTemplate, r.SegmentTemplate} {
		if st == nil {
			continue
		}
		if st.Media != "" {
			media = st.Media
		}
		if st.Initialization != "" {
			init = st.Initialization
		}
		if st.Timescale != nil {
			timescale = uint64(*st.Timescale)
		}
		if st.PresentationTimeOffset != nil {
			pto = *st.PresentationTimeOffset
		}
		if st.StartNumber != nil {
			startNumber = int64(*st.StartNumber)
		}
		if st.SegmentTimeline != nil {
			tl = st.SegmentTimeline
		}
	}
	return
}

// readExportedMPD parses a static MPD of one Period and expands the
// SegmentTimeline of every Representation (S@n, when present, is the
// segment number of its first segment).
func readExportedMPD(t testing.TB, path string) (*mpd.MPD, map[string]mpdTrack) {
	t.Helper()
	m, err := mpd.ReadFromFile(path)
	if err != nil {
		t.Fatalf("dash-mpd cannot parse %s: %v", path, err)
	}
	if m.Type != nil && *m.Type != "static" {
		t.Errorf("%s: MPD@type %v, want static", path, m.Type)
	}
	if len(m.Periods) != 1 {
		t.Fatalf("%s: %d Periods, want 1", path, len(m.Periods))
	}
	out := map[string]mpdTrack{}
	for _, as := range m.Periods[0].AdaptationSets {
		for _, r := range as.Representations {
			media, init, ts, pto, num, tl := templateOf(as, r)
			var listKs []int64 // a SegmentList (a track with holes): the K of each SegmentURL
			if sl := r.SegmentList; sl != nil {
				media, tl = "", sl.SegmentTimeline
				if sl.Initialization != nil {
					init = string(sl.Initialization.SourceURL)
				}
				if sl.Timescale != nil {
					ts = uint64(*sl.Timescale)
				}
				if sl.PresentationTimeOffset != nil {
					pto = *sl.PresentationTimeOffset
				}
				for _, u := range sl.SegmentURL {
					m := string(u.Media)
					dir, name := m[:strings.LastIndex(m, "/")+1], m[strings.LastIndex(m, "/")+1:]
					num, ext, _ := strings.Cut(name, ".")
					k, err := strconv.ParseInt(num, 10, 64)
					if err != nil {
						t.Fatalf("%s: %s: SegmentURL %s is not <dir>/<K>.<ext>", path, r.Id, u.Media)
					}
					if pat := dir + "$Number$." + ext; media == "" {
						media = pat
					} else if pat != media {
						t.Fatalf("%s: %s: SegmentURL %s is not in %s", path, r.Id, u.Media, media)
					}
					listKs = append(listKs, k)
				}
			}
			tr := mpdTrack{rep: r.Id, contentType: string(as.ContentType), timescale: ts, pto: pto,
				media: strings.ReplaceAll(media, "$RepresentationID$", r.Id), init: strings.ReplaceAll(init, "$RepresentationID$", r.Id)}
			if tl == nil || len(tl.S) == 0 {
				t.Fatalf("%s: Representation %s has no SegmentTimeline", path, r.Id)
			}
			var next uint64
			for i, s := range tl.S {
				if s.T != nil {
					next = *s.T
				} else if i == 0 {
					t.Fatalf("%s: %s: first S has no @t", path, r.Id)
				}
				if s.N != nil {
					num = int64(*s.N)
				}
				if s.R < 0 {
					t.Fatalf("%s: %s: S@r=%d in a static MPD", path, r.Id, s.R)
				}
				for j := 0; j <= s.R; j++ {
					if listKs != nil {
						if len(tr.segments) >= len(listKs) {
							t.Fatalf("%s: %s: more S than SegmentURLs", path, r.Id)
						}
						num = listKs[len(tr.segments)]
					}
					tr.segments = append(tr.segments, tlSegment{number: num, t: next, d: s.D})
					num++
					next += s.D
				}
			}
			out[r.Id] = tr
		}
	}
	return m, out
}

// mediaPath is the file a Representation's segment number resolves to,
// from the MPD's directory through the MPD-level BaseURL.
func (tr mpdTrack) mediaPath(mpdPath, baseURL string, number int64) string {
	rel := strings.ReplaceAll(tr.media, "$Number$", strconv.FormatInt(number, 10))
	return filepath.Join(filepath.Dir(mpdPath), filepath.FromSlash(baseURL), filepath.FromSlash(rel))
}

func (tr mpdTrack) initPath(mpdPath, baseURL string) string {
	return filepath.Join(filepath.Dir(mpdPath), filepath.FromSlash(baseURL), filepath.FromSlash(tr.init))
}

func mpdBaseURL(m *mpd.MPD) string {
	if len(m.BaseURL) == 0 {
		return ""
	}
	return string(m.BaseURL[0].Value)
}

// checkTimeline checks an exported track against the archive: it addresses
// exactly the K in want, each S@t is that K's place on the epoch timeline
// (video: K*D*T plus one constant offset, the composition offset of the
// first presented frame, under a tenth of D; audio: within one AAC frame of
// K*D*T), S@t jumps over every hole, and every object it references (and
// its init) exists.
func checkTimeline(t testing.TB, mpdPath string, m *mpd.MPD, tr mpdTrack, want map[int64]bool) {
	t.Helper()
	base := mpdBaseURL(m)
	if _, err := os.Stat(tr.initPath(mpdPath, base)); err != nil {
		t.Errorf("%s: init %s: %v", tr.rep, tr.init, err)
	}
	segDur := int64(e2eSegDur/time.Second) * int64(tr.timescale)
	got := map[int64]bool{}
	var videoOffset int64
	for i, s := range tr.segments {
		if got[s.number] {
			t.Errorf("%s: K=%d addressed twice", tr.rep, s.number)
		}
		got[s.number] = true
		off := int64(s.t) - s.number*segDur
		switch {
		case tr.contentType == "video" && i == 0:
			videoOffset = off
			if off < 0 || off >= segDur/10 {
				t.Errorf("%s: K=%d has S@t %d, %d ticks from K*D*T", tr.rep, s.number, s.t, off)
			}
		case tr.contentType == "video" && off != videoOffset:
			t.Errorf("%s: K=%d has S@t %d = K*D*T + %d, the first segment K*D*T + %d", tr.rep, s.number, s.t, off, videoOffset)
		case tr.contentType != "video" && (off <= -1024 || off >= 1024):
			t.Errorf("%s: K=%d has S@t %d, more than one AAC frame from K*D*T = %d", tr.rep, s.number, s.t, s.number*segDur)
		}
		if i > 0 {
			prev := tr.segments[i-1]
			if hole := s.number - prev.number - 1; hole > 0 && int64(s.t) < int64(prev.t+prev.d)+hole*segDur-1024 {
				t.Errorf("%s: S@t %d after K=%d does not jump over the %d missing segments", tr.rep, s.t, prev.number, hole)
			}
		}
		if _, err := os.Stat(tr.mediaPath(mpdPath, base, s.number)); err != nil {
			t.Errorf("%s: K=%d: referenced object missing: %v", tr.rep, s.number, err)
		}
	}
	for k := range want {
		if !got[k] {
			t.Errorf("%s: stored K=%d is not in the SegmentTimeline", tr.rep, k)
		}
	}
	for k := range got {
		if !want[k] {
			t.Errorf("%s: SegmentTimeline addresses K=%d, which the archive does not have", tr.rep, k)
		}
	}
}

// checkDecodes decodes mpd with ffmpeg (silent at -v error) and checks the
// frame counts of n segments of testpic_2s.
func checkDecodes(t testing.TB, mpdPath string, n int64) {
	t.Helper()
	video, audio := testenv.DecodedFrames(t, mpdPath)
	if want := n * e2eVideoFrames; int64(video) != want {
		t.Errorf("%s: ffmpeg decoded %d video frames, want %d segments × %d = %d", mpdPath, video, n, e2eVideoFrames, want)
	}
	if want := float64(n) * e2eAudioFrames; float64(audio) < want-2 || float64(audio) > want+2 {
		t.Errorf("%s: ffmpeg decoded %d audio frames, want %d segments × %.2f = %.0f ± 2", mpdPath, audio, n, e2eAudioFrames, want)
	}
	t.Logf("%s: ffmpeg decoded %d video and %d audio frames from %d segments", filepath.Base(mpdPath), video, audio, n)
}

// exportRange is --from and --to for exactly the recorded K range of tr.
func exportRange(t testing.TB, tr jsonTrack) (from, to string) {
	t.Helper()
	first, err := time.Parse(time.RFC3339, tr.FirstTime)
	if err != nil {
		t.Fatalf("status first_time %q: %v", tr.FirstTime, err)
	}
	last, err := time.Parse(time.RFC3339, tr.LastTime)
	if err != nil {
		t.Fatalf("status last_time %q: %v", tr.LastTime, err)
	}
	if want := time.Unix(tr.First*2, 0).UTC(); !first.Equal(want) {
		t.Errorf("%s: first_time %s, want K*D = %s for K=%d", tr.Rep, tr.FirstTime, want.Format(time.RFC3339), tr.First)
	}
	if want := time.Unix(tr.Last*2, 0).UTC(); !last.Equal(want) {
		t.Errorf("%s: last_time %s, want K*D = %s for K=%d", tr.Rep, tr.LastTime, want.Format(time.RFC3339), tr.Last)
	}
	return first.Format(time.RFC3339), last.Add(e2eSegDur).Format(time.RFC3339)
}

// checkNoJumpNoStall checks that a player (what) played a continuous
// timeline: it never jumped a gap (a seek of its own over 0.5 s) and never
// waited for data that is not there. A Period change may hold the picture
// a moment while the player appends the new init (0.4 s at 4x on two busy
// cores), and a busy machine may starve a player at 8x: a stall is a
// second or more, before the last second.
func checkNoJumpNoStall(t testing.TB, what string, res testenv.PlayResult) {
	t.Helper()
	for _, s := range res.Seeks {
		// (Shaka steps over the few ms before the first audio sample at
		// the start: not a gap.)
		if s.To-s.From >= 0.5 {
			t.Errorf("%s: the player jumped from %.2f s to %.2f s (a gap in the timeline)", what, s.From, s.To)
		}
	}
	for _, s := range res.Stalls {
		if s.At < res.Duration-1 && s.Wall >= 1 {
			t.Errorf("%s: playback stalled at %.2f s for %.2f s (wall)", what, s.At, s.Wall)
		}
	}
}
