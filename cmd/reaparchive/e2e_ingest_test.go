package main

// End-to-end tests of push ingest: `reaparchive record --listen` as a new
// user runs it, fed by livesim2's own CMAF ingest sources (POST
// /api/cmaf-ingests, DASH-IF Live Media Ingest Interface 1), and attacked
// with bad credentials, paths, bodies and clients over raw TCP.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// listenRun is a `record --listen` running in-process.
type listenRun struct {
	addr   string // 127.0.0.1:PORT
	cancel context.CancelFunc
	done   chan cliResult
	once   sync.Once
	res    cliResult
}

// recordListen starts `record --channel channel --listen 127.0.0.1:PORT
// --for d extra...` and waits until its /healthz answers. The run is
// stopped (as by SIGINT) when the test ends, if it has not ended before.
func (a *e2eArchive) recordListen(t testing.TB, channel string, d time.Duration, extra ...string) *listenRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &listenRun{addr: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), cancel: cancel, done: make(chan cliResult, 1)}
	args := append(a.args("record", "--channel", channel, "--listen", r.addr, "--for", d.String()), extra...)
	go func() { r.done <- runCLI(ctx, args...) }()
	t.Cleanup(func() { r.stop() })
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + r.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case res := <-r.done:
			r.done <- res
			t.Fatalf("reaparchive %s ended before listening: %s", strings.Join(args, " "), res)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("reaparchive record --listen %s: /healthz not up after 20 s", r.addr)
		}
	}
}

// wait waits for the run to end by itself (--for) and returns its result.
func (r *listenRun) wait() cliResult {
	r.once.Do(func() { r.res = <-r.done; r.cancel() })
	return r.res
}

// stop stops the run as SIGINT would and returns its result.
func (r *listenRun) stop() cliResult {
	r.cancel()
	return r.wait()
}

// cmafIngest is the body of livesim2 v1.9.0's POST /api/cmaf-ingests
// (CmafIngesterSetup in cmd/livesim2/app/api.go). livesim2 PUTs to
// <destRoot>/<destName>/<rep>/init.<ext> and <rep>/<K>.<ext> per segment,
// or, with streamsURLs, every init and media segment as its own PUT to
// <destRoot>/<destName>/Streams(<rep>.<ext>). With duration it sends
// duration/D + 1 media segments, the last with the lmsg brand.
type cmafIngest struct {
	DestRoot    string `json:"destRoot"`
	DestName    string `json:"destName"`
	LivesimURL  string `json:"livesimURL"` // path of the live MPD, without scheme and host
	Duration    *int   `json:"duration,omitempty"`
	StreamsURLs bool   `json:"streamsURLs,omitempty"`
}

// startPush makes livesim2 l push testpic_2s to destRoot/destName for
// seconds s.
func startPush(t testing.TB, ctx context.Context, l *testenv.Livesim2, destRoot, destName string, s int, streamsURLs bool) {
	t.Helper()
	body, _ := json.Marshal(cmafIngest{DestRoot: destRoot, DestName: destName, LivesimURL: "/livesim2/" + e2eAsset + "/Manifest.mpd",
		Duration: &s, StreamsURLs: streamsURLs})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/api/cmaf-ingests", l.Port), bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST /api/cmaf-ingests: %v", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	var created struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusCreated || json.Unmarshal(msg, &created) != nil || created.ID == "" {
		t.Fatalf("POST /api/cmaf-ingests %s: %s %s", body, resp.Status, msg)
	}
	t.Logf("livesim2 :%d pushes %s/%s for %d s (streamsURLs %v), ingest id %s", l.Port, destRoot, destName, s, streamsURLs, created.ID)
}

// captureServer answers every PUT 201 and keeps its body by path.
type captureServer struct {
	*httptest.Server
	mu     sync.Mutex
	bodies map[string][]byte
}

func newCaptureServer(t testing.TB) *captureServer {
	c := &captureServer{bodies: map[string][]byte{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.bodies[r.URL.Path] = b
		c.mu.Unlock()
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(c.Close)
	return c
}

// await waits up to 10 s for a body at path.
func (c *captureServer) await(t testing.TB, path string) []byte {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		c.mu.Lock()
		b, ok := c.bodies[path]
		c.mu.Unlock()
		if ok {
			return b
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var got []string
	for p := range c.bodies {
		got = append(got, p)
	}
	t.Fatalf("livesim2 pushed nothing to %s within 10 s (got %v)", path, got)
	return nil
}

// withBrand returns seg with brand appended to the compatible brands of
// its leading styp box, as livesim2 (mp4ff's AddCompatibleBrands) does for
// the last segment of a push.
func withBrand(t testing.TB, seg []byte, brand string) []byte {
	t.Helper()
	if len(seg) < 16 || string(seg[4:8]) != "styp" {
		t.Fatalf("segment does not start with a styp box")
	}
	size := binary.BigEndian.Uint32(seg[:4])
	out := make([]byte, 0, len(seg)+4)
	out = binary.BigEndian.AppendUint32(out, size+4)
	out = append(out, seg[4:size]...)
	out = append(out, brand...)
	return append(out, seg[size:]...)
}

// TestE2EIngestTwoLivesim2Pushes: two livesim2 servers push the same
// channel into one `record --listen`, one per segment URL, the other with
// Streams() URLs. Every K arrives twice: no gaps, one stored copy and one
// bit-identical duplicate per K, the stored bytes are what livesim2 pushed,
// and the exported range decodes.
//
// What livesim2 pushes, checked against what it serves (GET):
//   - Media segments are the bytes GET serves for the same number
//     (sendMediaSegment calls the GET path's writeSegment), except that
//     the last segment of a push (duration/D + 1 segments) has "lmsg" added
//     to its styp's compatible brands (genLiveSegment with isLast).
//   - Init segments differ: the ingester re-encodes the asset's init
//     (setRawInitProps in cmd/livesim2/app/cmaf-ingester.go): the
//     mvhd/tkhd/mdhd creation and modification times become the session
//     start (0 s, 1970, instead of the file's), a btrt box (bitrate =
//     Representation@bandwidth) is appended to the sample entry, and a
//     trak/udta with one kind box (urn:mpeg:dash:role:2011, "main") per
//     Role is added: 69 bytes more. So the stored init is compared with
//     what livesim2 pushes, captured by a local HTTP server from a third
//     push session of the same livesim2.
func TestE2EIngestTwoLivesim2Pushes(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	perSeg, streams := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch, pushFor = "news", 50 // the pushes end (lmsg) well before --for
	pushSegs := int64(pushFor/int(e2eSegDur/time.Second) + 1)

	rec := ar.recordListen(t, ch, 60*time.Second)
	started := time.Now()

	// A reference push to a local capture server: the init segments
	// livesim2 pushes, and one last (lmsg) media segment.
	capture := newCaptureServer(t)
	startPush(t, ctx, perSeg, capture.URL+"/ref", "enc", 0, false)
	pushedInit := map[string][]byte{
		e2eVideo: capture.await(t, "/ref/enc/"+e2eVideo+"/init.cmfv"),
		e2eAudio: capture.await(t, "/ref/enc/"+e2eAudio+"/init.cmfa"),
	}
	for rep, b := range pushedInit {
		if get := referenceInit(t, ctx, perSeg, rep); bytes.Equal(b, get) {
			t.Errorf("%s: livesim2 pushes the init it serves; update the comment and the checks", rep)
		} else {
			t.Logf("%s: livesim2 pushes a %d-byte init, GET serves %d bytes", rep, len(b), len(get))
		}
	}
	// Both pushes begin in the same segment interval, so they send the
	// same K, and the same last (lmsg) K.
	sleepUntil(ctx, time.Now().Truncate(e2eSegDur).Add(e2eSegDur+300*time.Millisecond))
	root := "http://" + rec.addr + "/ingest/" + ch
	startPush(t, ctx, perSeg, root, "a", pushFor, false)
	startPush(t, ctx, streams, root, "b", pushFor, true)
	if d := time.Since(started); d > 5*time.Second {
		t.Fatalf("the pushes started %s after record: too late for --for 60s", d)
	}
	// The reference push's one media segment: GET's bytes plus lmsg.
	for rep, ext := range map[string]string{e2eVideo: "cmfv", e2eAudio: "cmfa"} {
		var k int64
		var seg []byte
		for deadline := time.Now().Add(10 * time.Second); seg == nil && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			capture.mu.Lock()
			for p, b := range capture.bodies {
				if _, err := fmt.Sscanf(p, "/ref/enc/"+rep+"/%d."+ext, &k); err == nil {
					seg = b
				}
			}
			capture.mu.Unlock()
		}
		if seg == nil {
			t.Fatalf("%s: the reference push sent no media segment", rep)
		}
		if want := withBrand(t, referenceSegment(t, ctx, perSeg, rep, k), "lmsg"); !bytes.Equal(seg, want) {
			t.Errorf("%s: the last pushed segment K=%d is not GET's bytes with lmsg added to its styp", rep, k)
		}
	}

	r := rec.wait()
	if r.code != exitOK {
		t.Fatalf("record --listen: %s", r)
	}
	t.Logf("record --listen took %s", time.Since(started).Round(100*time.Millisecond))
	for _, line := range strings.Split(r.stderr, "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, "not stored") {
			t.Errorf("record logged: %s", line)
		}
	}

	st := ar.status(t, ctx, ch)
	dl := deliveries(t, ctx, ar.index, ch)
	for _, tr := range st.Tracks {
		if len(tr.Gaps) != 0 {
			t.Errorf("%s: gaps %v, want none", tr.Rep, tr.Gaps)
		}
		if tr.Segments != pushSegs || tr.Last-tr.First+1 != pushSegs {
			t.Errorf("%s: %d segments K %d..%d, want the %d each source pushed", tr.Rep, tr.Segments, tr.First, tr.Last, pushSegs)
		}
		if tr.Duplicates != tr.Segments || tr.Conflicts != 0 {
			t.Errorf("%s: %d duplicates, %d conflicts: want one duplicate per segment and no conflicts", tr.Rep, tr.Duplicates, tr.Conflicts)
		}
		a, b := tr.source(t, "a"), tr.source(t, "b")
		if a.Stored+b.Stored != tr.Segments || a.Duplicates+b.Duplicates != tr.Duplicates {
			t.Errorf("%s: stored a %d + b %d, duplicates a %d + b %d: want %d and %d", tr.Rep, a.Stored, b.Stored, a.Duplicates, b.Duplicates, tr.Segments, tr.Duplicates)
		}
		for _, s := range []jsonSource{a, b} {
			if s.Stored+s.Duplicates != tr.Segments || s.Identical != s.Duplicates || s.Missing != 0 || s.Rejected != 0 || s.Conflicts != 0 {
				t.Errorf("%s: source %s %+v: want every segment delivered, duplicates bit-identical", tr.Rep, s.Name, s)
			}
			for k := tr.First; k <= tr.Last; k++ {
				if o := dl[tr.Rep][s.Name][k]; len(o) != 1 || !has(o, index.Stored, index.Duplicate) {
					t.Errorf("%s: source %s K=%d outcomes %v, want one stored or duplicate", tr.Rep, s.Name, k, o)
				}
			}
		}
	}

	listing := listStore(t, ar.store, ch)
	checkStoreMatchesStatus(t, st, listing)
	n := 0
	for rep, objs := range listing.media {
		last := st.track(t, rep).Last
		for k, p := range objs {
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			want := referenceSegment(t, ctx, perSeg, rep, k)
			if k == last {
				want = withBrand(t, want, "lmsg")
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s: stored %d bytes for K=%d are not what livesim2 pushed (GET's %d bytes, plus lmsg if last: %v)", p, len(got), k, len(want), k == last)
			}
			n++
		}
		if paths := listing.inits[rep]; len(paths) != 1 {
			t.Errorf("%s: init objects %v, want one", rep, paths)
		} else if got, err := os.ReadFile(paths[0]); err != nil || !bytes.Equal(got, pushedInit[rep]) {
			t.Errorf("%s: stored init (%d bytes, %v) is not the init livesim2 pushes (%d bytes)", paths[0], len(got), err, len(pushedInit[rep]))
		}
	}
	t.Logf("%d stored media objects are byte-identical to what livesim2 pushed", n)
	if t.Failed() {
		return
	}

	video := st.track(t, e2eVideo)
	from, to := exportRange(t, video)
	out := filepath.Join(ar.store, "vod", "ingest.mpd")
	r = mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", from, "--to", to, "--out", "file://"+filepath.ToSlash(out))...)
	if want := fmt.Sprintf("2 tracks, %d segments, 0 gaps, 1 period", 2*pushSegs); !strings.Contains(r.stdout, want) {
		t.Errorf("export-vod said %q, want it to contain %q", r.stdout, want)
	}
	m, tracks := readExportedMPD(t, out)
	for _, tr := range st.Tracks {
		checkTimeline(t, out, m, tracks[tr.Rep], tr.stored())
	}
	checkDecodes(t, out, video.Segments)
}

// rawRequest sends one HTTP/1.1 request over a new TCP connection, path
// as given (no client cleans or escapes it), and returns the status code.
// The body is written while the response is read, so an early answer (to
// a body the server refuses) is seen.
func rawRequest(t testing.TB, addr, method, path string, body []byte, header ...string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	var h strings.Builder
	fmt.Fprintf(&h, "%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n", method, path, addr, len(body))
	for i := 0; i+1 < len(header); i += 2 {
		fmt.Fprintf(&h, "%s: %s\r\n", header[i], header[i+1])
	}
	h.WriteString("\r\n")
	go func() {
		if _, err := io.WriteString(c, h.String()); err == nil {
			_, _ = c.Write(body)
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestE2EIngestSecurity pushes real livesim2 segments (fetched with GET)
// into `record --listen --ingest-auth enc=TOKEN --ingest-idle-timeout 2s`
// with missing or wrong credentials, escaping paths, 10 MiB of random
// bytes, broken-off uploads and a byte-a-second client. Each case uses its
// own K; at the end the store holds exactly the K pushed whole with the
// right credentials and path, byte for byte.
func TestE2EIngestSecurity(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch, token, idle = "news", "s3cret-token", 2 * time.Second
	rec := ar.recordListen(t, ch, 10*time.Minute, "--ingest-auth", "enc="+token, "--ingest-idle-timeout", idle.String())
	auth := []string{"Authorization", "Bearer " + token}
	base := time.Now().Unix()/2 - 150 // 5 min ago: inside livesim2's tsbd_600 window
	seg := func(t testing.TB, k int64) []byte { return referenceSegment(t, ctx, l, e2eVideo, k) }
	segPath := func(k int64) string { return fmt.Sprintf("/ingest/%s/enc/%s/%d.cmfv", ch, e2eVideo, k) }
	streamPath := fmt.Sprintf("/ingest/%s/enc/Streams(%s.cmfv)", ch, e2eVideo)

	var (
		mu   sync.Mutex
		want = map[int64]bool{} // K that must be stored
	)
	push := func(t *testing.T, k int64) {
		t.Helper()
		if code := rawRequest(t, rec.addr, http.MethodPut, segPath(k), seg(t, k), auth...); code != http.StatusCreated {
			t.Errorf("PUT %s with the right token: %d, want 201", segPath(k), code)
		}
		mu.Lock()
		want[k] = true
		mu.Unlock()
	}
	if code := rawRequest(t, rec.addr, http.MethodPut, fmt.Sprintf("/ingest/%s/enc/%s/init.cmfv", ch, e2eVideo), referenceInit(t, ctx, l, e2eVideo), auth...); code != http.StatusCreated {
		t.Fatalf("PUT init with the right token: %d, want 201", code)
	}
	push(t, base) // sets D

	basic := "Basic " + "ZW5jOnMzY3JldC10b2tlbg==" // enc:s3cret-token
	t.Run("refused", func(t *testing.T) {
		for i, tc := range []struct {
			name, path string
			header     []string
			body       func(k int64) []byte
			want       int
		}{
			{"no credentials", "", nil, nil, http.StatusUnauthorized},
			{"no credentials stream", streamPath, nil, nil, http.StatusUnauthorized},
			{"wrong token", "", []string{"Authorization", "Bearer wrong"}, nil, http.StatusForbidden},
			{"token prefix", "", []string{"Authorization", "Bearer " + token[:len(token)-1]}, nil, http.StatusForbidden},
			{"token as basic", "", []string{"Authorization", basic}, nil, http.StatusForbidden},
			{"unlisted source", "/ingest/" + ch + "/intruder/" + e2eVideo + "/1.cmfv", auth, nil, http.StatusNotFound},
			{"dot dot", "/ingest/" + ch + "/enc/../" + e2eVideo + "/1.cmfv", auth, nil, http.StatusBadRequest},
			{"dot dot up", "/ingest/" + ch + "/../../../../etc/1.cmfv", auth, nil, http.StatusBadRequest},
			{"encoded dot dot slash", "/ingest/" + ch + "/enc/" + e2eVideo + "/%2e%2e%2f1.cmfv", auth, nil, http.StatusBadRequest},
			{"encoded dot dot slash rep", "/ingest/" + ch + "/enc/%2e%2e%2f" + e2eVideo + "/1.cmfv", auth, nil, http.StatusBadRequest},
			{"10 MiB random", "", auth, random10MiB, http.StatusBadRequest},
			{"10 MiB random stream", streamPath, auth, random10MiB, http.StatusBadRequest},
			{"10 MiB random in a moof", "", auth, func(int64) []byte { return boxed("moof", random10MiB(0)) }, http.StatusBadRequest},
			{"10 MiB random in an mdat", "", auth, func(int64) []byte { return boxed("mdat", random10MiB(0)) }, http.StatusBadRequest},
		} {
			k := base + 1 + int64(i) // a valid segment that must not be stored
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				path, body := tc.path, seg(t, k)
				if path == "" {
					path = segPath(k)
				}
				if tc.body != nil {
					body = tc.body(k)
				}
				if code := rawRequest(t, rec.addr, http.MethodPut, path, body, tc.header...); code != tc.want {
					t.Errorf("PUT %s (%d bytes): %d, want %d", path, len(body), code, tc.want)
				}
			})
		}
	})

	t.Run("broken", func(t *testing.T) {
		// An upload cut mid-segment stores nothing for it; the next
		// uploads are stored.
		t.Run("cut per segment", func(t *testing.T) {
			t.Parallel()
			k := base + 20
			body := seg(t, k)
			c, err := net.Dial("tcp", rec.addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", segPath(k), token, len(body))
			_, _ = c.Write(body[:len(body)/2])
			time.Sleep(300 * time.Millisecond)
			c.Close()
			push(t, k+1)
			push(t, k+2)
		})
		t.Run("cut stream", func(t *testing.T) {
			t.Parallel()
			k := base + 30 // K stored (K+1 began), K+1 cut, K+2 in a new request
			first, second := seg(t, k), seg(t, k+1)
			c, err := net.Dial("tcp", rec.addr)
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", streamPath, token, len(first)+len(second))
			_, _ = c.Write(first)
			_, _ = c.Write(second[:len(second)/2])
			time.Sleep(300 * time.Millisecond)
			c.Close()
			mu.Lock()
			want[k] = true
			mu.Unlock()
			if code := rawRequest(t, rec.addr, http.MethodPut, streamPath, seg(t, k+2), auth...); code != http.StatusCreated {
				t.Errorf("PUT %s after the cut: %d, want 201", streamPath, code)
			}
			mu.Lock()
			want[k+2] = true
			mu.Unlock()
		})
		// A client sending a byte a second is cut off after
		// --ingest-idle-timeout.
		for i, where := range []string{"headers", "body", "stream body"} {
			t.Run("slow "+where, func(t *testing.T) {
				t.Parallel()
				k := base + 40 + int64(i)
				body, path := seg(t, k), segPath(k)
				if where == "stream body" {
					path = streamPath
				}
				head := fmt.Sprintf("PUT %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", path, token, len(body))
				fast, slow := []byte(head), body
				if where == "headers" {
					fast, slow = nil, []byte(head)
				}
				c, err := net.Dial("tcp", rec.addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				start := time.Now()
				_, _ = c.Write(fast)
				closed := make(chan struct{})
				go func() { _, _ = io.Copy(io.Discard, c); close(closed) }()
				for i := 0; ; i++ {
					select {
					case <-closed:
					case <-time.After(time.Second):
						if time.Since(start) > idle+5*time.Second {
							t.Fatalf("a client sending a byte a second is still connected after %s", time.Since(start).Round(time.Millisecond))
						}
						if _, err := c.Write(slow[i : i+1]); err == nil {
							continue
						}
					}
					break
				}
				took := time.Since(start)
				t.Logf("cut off after %s", took.Round(time.Millisecond))
				if took > idle+3*time.Second {
					t.Errorf("cut off after %s, want within --ingest-idle-timeout %s + 3 s", took, idle)
				}
			})
		}
	})

	r := rec.stop()
	if r.code != exitOK {
		t.Fatalf("record --listen stopped: %s", r)
	}
	listing := listStore(t, ar.store, ch)
	if len(listing.other) > 0 {
		t.Errorf("files that are not archive objects (temporary files left behind?): %v", listing.other)
	}
	if len(listing.inits[e2eVideo]) != 1 || len(listing.media) != 1 {
		t.Errorf("store holds inits %v and media of %d tracks, want one %s init and %s media", listing.inits, len(listing.media), e2eVideo, e2eVideo)
	}
	var got, wantK []int64
	for k, p := range listing.media[e2eVideo] {
		got = append(got, k)
		if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, seg(t, k)) {
			t.Errorf("%s: not the bytes pushed (%v)", p, err)
		}
	}
	for k := range want {
		wantK = append(wantK, k)
	}
	slices.Sort(got)
	slices.Sort(wantK)
	if !slices.Equal(got, wantK) {
		t.Errorf("stored K %v, want exactly %v (offsets from %d)", got, wantK, base)
	}
}

// random10MiB is 10 MiB of (seeded) random bytes.
func random10MiB(int64) []byte {
	b := make([]byte, 10<<20)
	r := rand.NewChaCha8([32]byte{'r', 'e', 'a', 'p'})
	_, _ = r.Read(b)
	return b
}

// boxed wraps payload in an ISOBMFF box of type typ.
func boxed(typ string, payload []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(payload)))
	return append(append(out, typ...), payload...)
}

// TestE2EIngestListenAddress: record refuses to listen on a non-loopback
// address while some source may push without credentials (exit 2), unless
// --insecure-ingest or credentials are given. Nothing here binds to a
// non-loopback address: the refusal comes before the listen, and where it
// is lifted the address has port 99999, which net.Listen rejects before
// binding (exit 1, naming --listen).
func TestE2EIngestListenAddress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	store, idx := "file://"+filepath.ToSlash(filepath.Join(dir, "store")), filepath.Join(dir, "index.db")
	rec := func(listen string, extra ...string) []string {
		return append([]string{"record", "--store", store, "--index", idx, "--channel", "news", "--listen", listen, "--for", "1s"}, extra...)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"all interfaces", rec("0.0.0.0:19999"), exitUsage, "--insecure-ingest"},
		{"empty host", rec(":19999"), exitUsage, "--insecure-ingest"},
		{"IPv6 any", rec("[::]:19999"), exitUsage, "--insecure-ingest"},
		{"an interface address", rec("203.0.113.1:19999"), exitUsage, "--insecure-ingest"},
		{"a host name", rec("example.invalid:19999"), exitUsage, "--insecure-ingest"},
		{"with a pull source", rec("0.0.0.0:19999", "--source", "a=http://127.0.0.1:1/x.mpd"), exitUsage, "--insecure-ingest"},
		{"--insecure-ingest", rec("203.0.113.1:99999", "--insecure-ingest"), exitFailure, "--listen: listen tcp: address 99999: invalid port"},
		{"credentials", rec("0.0.0.0:99999", "--ingest-auth", "enc=TOKEN"), exitFailure, "--listen: listen tcp: address 99999: invalid port"},
		{"basic credentials", rec("203.0.113.1:99999", "--ingest-auth", "enc=user:pw"), exitFailure, "--listen: listen tcp: address 99999: invalid port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t.Context(), tc.args...)
			if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("reaparchive %s: want exit %d naming %q; %s", strings.Join(tc.args, " "), tc.code, tc.want, r)
			}
			if tc.code == exitFailure && strings.Contains(r.stderr, "refusing") {
				t.Errorf("refused although allowed: %s", r.stderr)
			}
		})
	}
}
