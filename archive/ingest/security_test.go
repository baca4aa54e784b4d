package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive/ingest"
)

func TestIngestAuth(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{Channels: []ingest.PushChannel{{Name: ch, Sources: []ingest.PushSource{
		{Name: "tok", Credential: ingest.Credential{Token: "s3cret"}},
		{Name: "bas", Credential: ingest.Credential{User: "enc", Password: "pw"}},
	}}}})
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	for _, tc := range []struct {
		name, source, auth string
		want               int
	}{
		{"bearer missing", "tok", "", http.StatusUnauthorized},
		{"bearer wrong", "tok", "Bearer nope", http.StatusForbidden},
		{"bearer prefix of the token", "tok", "Bearer s3cre", http.StatusForbidden},
		{"bearer as basic", "tok", basic("tok", "s3cret"), http.StatusForbidden},
		{"bearer right", "tok", "Bearer s3cret", http.StatusCreated},
		{"basic missing", "bas", "", http.StatusUnauthorized},
		{"basic wrong password", "bas", basic("enc", "px"), http.StatusForbidden},
		{"basic wrong user", "bas", basic("enx", "pw"), http.StatusForbidden},
		{"basic garbage", "bas", "Basic !!!", http.StatusForbidden},
		{"basic as bearer", "bas", "Bearer pw", http.StatusForbidden},
		{"basic right", "bas", basic("enc", "pw"), http.StatusCreated},
	} {
		var hdr []string
		if tc.auth != "" {
			hdr = []string{"Authorization", tc.auth}
		}
		before := len(e.allKeys())
		code, msg := e.put("/ingest/"+ch+"/"+tc.source+"/video/init.cmfv", initOf(t, video), hdr...)
		if code == http.StatusOK && tc.want == http.StatusCreated {
			code = http.StatusCreated // the init was already stored by the other source
		}
		if code != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, code, msg, tc.want)
		}
		if tc.want/100 != 2 && len(e.allKeys()) != before {
			t.Errorf("%s: something was stored", tc.name)
		}
	}
	// 401 names the scheme to use.
	req, _ := http.NewRequest(http.MethodPut, e.base+"/ingest/"+ch+"/tok/video/1.cmfv", bytes.NewReader(segOf(t, video, k0)))
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("401 WWW-Authenticate %q (status %d)", got, resp.StatusCode)
	}
	if _, ok := e.segmentRow(video, k0); ok {
		t.Error("a segment was stored without credentials")
	}
	// Unknown sources and channels: 404.
	if code, msg := e.put("/ingest/"+ch+"/other/video/init.cmfv", initOf(t, video), "Authorization", "Bearer s3cret"); code != http.StatusNotFound {
		t.Errorf("unknown source: %d %s", code, msg)
	}
	if code, msg := e.put("/ingest/otherchannel/tok/video/init.cmfv", initOf(t, video), "Authorization", "Bearer s3cret"); code != http.StatusNotFound {
		t.Errorf("unknown channel: %d %s", code, msg)
	}
}

func TestIngestPaths(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	long := strings.Repeat("a", 129)
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"dot dot", "/ingest/news/enc/../video/1.cmfv", 400},
		{"dot dot rep", "/ingest/news/enc/video/../1.cmfv", 400},
		{"encoded dot dot slash", "/ingest/news/enc/video/%2e%2e%2f1.cmfv", 400},
		{"encoded dot dot", "/ingest/news/enc/%2E%2E/1.cmfv", 400},
		{"encoded slash", "/ingest/news/enc%2Fx/video/1.cmfv", 400},
		{"encoded backslash", "/ingest/news/enc/video%5c1.cmfv", 400},
		{"absolute", "/ingest//etc/passwd", 400},
		{"absolute inner", "/ingest/news/enc//etc/passwd.cmfv", 400},
		{"trailing slash", "/ingest/news/enc/video/", 400},
		{"too long name", "/ingest/news/" + long + "/video/1.cmfv", 400},
		{"too long path", "/ingest/news/enc/video/" + strings.Repeat("1", 1100) + ".cmfv", 400},
		{"bad chars", "/ingest/news/en$c/video/1.cmfv", 400},
		{"leading dot", "/ingest/news/.enc/video/1.cmfv", 400},
		{"space", "/ingest/news/enc/vid%20eo/1.cmfv", 400},
		{"bad extension", "/ingest/news/enc/video/1.ts", 400},
		{"no extension", "/ingest/news/enc/video/1", 400},
		{"too deep", "/ingest/news/enc/video/x/1.cmfv", 400},
		{"too short", "/ingest/news/1.cmfv", 400},
		{"streams without ext", "/ingest/news/enc/Streams(video)", 400},
		{"streams unclosed", "/ingest/news/enc/Streams(video.cmfv", 400},
		{"streams bad rep", "/ingest/news/enc/Streams(../video.cmfv)", 400},
		{"not ingest", "/other/news/enc/video/1.cmfv", 404},
		{"encoded parens ok", "/ingest/news/enc/Streams%28video.cmfv%29", 201},
	} {
		// Raw request lines, so no client cleans or re-encodes the path.
		code := rawPut(t, e.addr, tc.path, initOf(t, video))
		if code != tc.want && !(tc.want == 201 && code/100 == 2) {
			t.Errorf("%s: PUT %s: %d, want %d", tc.name, tc.path, code, tc.want)
		}
	}
	if keys := e.allKeys(); len(keys) != 1 {
		t.Errorf("stored %v, want only the init of the valid request", keys)
	}
}

// rawPut sends a PUT with the request target exactly as given.
func rawPut(t *testing.T, addr, target string, body []byte) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", target, addr, len(body))
	_, _ = c.Write(body)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("PUT %s: %v", target, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestIngestNotCMAF(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	e.pushInits("enc")
	random := make([]byte, 10<<20)
	_, _ = rand.Read(random)
	code, msg := e.put("/ingest/"+ch+"/enc/video/1.cmfv", random)
	if code != http.StatusBadRequest || !strings.Contains(msg, "not CMAF") {
		t.Errorf("10 MiB of random bytes: %d %s", code, msg)
	}
	code, msg = e.stream("/ingest/"+ch+"/enc/Streams(video.cmfv)", [][]byte{random[:1<<20]}, 0)
	if code != http.StatusBadRequest || !strings.Contains(msg, "not CMAF") {
		t.Errorf("random stream: %d %s", code, msg)
	}
	// Valid boxes, but not a segment: a moof-less body, and an mdat alone.
	mdat := mp4.MdatBox{Data: []byte("xyz")}
	var b bytes.Buffer
	_ = mdat.Encode(&b)
	for name, body := range map[string][]byte{
		"free box only": {0, 0, 0, 8, 'f', 'r', 'e', 'e'},
		"mdat only":     b.Bytes(),
		"truncated":     segOf(t, video, k0)[:500],
		"empty":         {},
	} {
		if code, msg := e.put("/ingest/"+ch+"/enc/video/2.cmfv", body); code != http.StatusBadRequest {
			t.Errorf("%s: %d %s", name, code, msg)
		}
	}
	if keys := e.keys(video); len(keys) != 0 {
		t.Errorf("stored %v", keys)
	}
	if m := e.metrics(); !strings.Contains(m, `reaparchive_ingest_segments_rejected_total{channel="news",rep="video",source="enc"}`) {
		t.Error("no rejected counter")
	}
}

func TestIngestTooLarge(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{MaxSegmentSize: 20 << 10})
	e.pushInits("enc")
	seg := segOf(t, video, k0) // ~60 KB
	if len(seg) <= 20<<10 {
		t.Fatalf("segment of %d bytes is not over the limit", len(seg))
	}
	if code, msg := e.put("/ingest/"+ch+"/enc/video/1.cmfv", seg); code != http.StatusRequestEntityTooLarge {
		t.Errorf("Content-Length over the limit: %d %s", code, msg)
	}
	// Chunked (no Content-Length): found while reading.
	if code, msg := e.stream("/ingest/"+ch+"/enc/video/1.cmfv", [][]byte{seg}, 0); code != http.StatusRequestEntityTooLarge {
		t.Errorf("chunked body over the limit: %d %s", code, msg)
	}
	if code, msg := e.stream("/ingest/"+ch+"/enc/Streams(video.cmfv)", [][]byte{seg}, 0); code != http.StatusRequestEntityTooLarge {
		t.Errorf("stream segment over the limit: %d %s", code, msg)
	}
	if keys := e.keys(video); len(keys) != 0 {
		t.Errorf("stored %v", keys)
	}
}

func TestIngestAudioWithoutSegmentDuration(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	e.mustPut("/ingest/"+ch+"/enc/audio/init.cmfa", initOf(t, audio))
	code, msg := e.put("/ingest/"+ch+"/enc/audio/1.cmfa", segOf(t, audio, k0))
	if code != http.StatusBadRequest || !strings.Contains(msg, "I-MPD") {
		t.Fatalf("audio-only push without D: %d %s", code, msg)
	}
	mpd, _ := sim(t).MPD()
	e.mustPut("/ingest/"+ch+"/enc/a.mpd", mpd)
	if code, msg := e.put("/ingest/"+ch+"/enc/audio/1.cmfa", segOf(t, audio, k0)); code != http.StatusCreated {
		t.Fatalf("after the I-MPD: %d %s", code, msg)
	}
	if _, ok := e.segmentRow(audio, k0); !ok {
		t.Fatal("audio K0 not stored at its epoch index")
	}
}

// TestIngestCutMidSegment: an upload that breaks off stores nothing, and the
// next upload is stored.
func TestIngestCutMidSegment(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	e.pushInits("enc")
	seg := segOf(t, video, k0)
	for _, chunkedTE := range []bool{false, true} {
		c, err := net.Dial("tcp", e.addr)
		if err != nil {
			t.Fatal(err)
		}
		if chunkedTE {
			fmt.Fprintf(c, "PUT /ingest/%s/enc/Streams(video.cmfv) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", ch, len(seg)/2)
		} else {
			fmt.Fprintf(c, "PUT /ingest/%s/enc/video/1.cmfv HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", ch, len(seg))
		}
		_, _ = c.Write(seg[:len(seg)/2])
		time.Sleep(200 * time.Millisecond)
		c.Close()
	}
	time.Sleep(300 * time.Millisecond)
	if keys := e.keys(video); len(keys) != 0 {
		t.Fatalf("stored %v from broken uploads", keys)
	}
	e.mustPut("/ingest/"+ch+"/enc/video/2.cmfv", segOf(t, video, k0+1))
	if got := kSet(t, e.keys(video)); len(got) != 1 || got[0] != k0+1 {
		t.Fatalf("stored K %v, want only K0+1", got)
	}
}

// TestIngestSlowLoris: a client trickling a byte a second is cut off after
// the idle timeout, in the headers and in the body.
func TestIngestSlowLoris(t *testing.T) {
	t.Parallel()
	const idle = 2 * time.Second
	e := start(t, ingest.Options{IdleTimeout: idle, ReadHeaderTimeout: idle})
	e.pushInits("enc")
	seg := segOf(t, video, k0)
	for _, tc := range []struct {
		name   string
		header string // sent at once
		trick  []byte // then one byte a second
	}{
		{"headers", "", []byte(fmt.Sprintf("PUT /ingest/%s/enc/video/1.cmfv HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", ch, len(seg)))},
		{"body", fmt.Sprintf("PUT /ingest/%s/enc/video/1.cmfv HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", ch, len(seg)), seg},
		{"stream body", fmt.Sprintf("PUT /ingest/%s/enc/Streams(video.cmfv) HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", ch, len(seg)), seg},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := net.Dial("tcp", e.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if tc.header != "" {
				if _, err := io.WriteString(c, tc.header); err != nil {
					t.Fatal(err)
				}
			}
			closed := make(chan time.Duration, 1)
			go func() { // the server closing shows as EOF (after any response)
				_, _ = io.Copy(io.Discard, c)
				closed <- time.Since(start)
			}()
			for i := 0; i < len(tc.trick); i++ {
				select {
				case d := <-closed:
					if d > idle+3*time.Second {
						t.Errorf("connection closed after %v, want within %v", d, idle+3*time.Second)
					}
					return
				case <-time.After(time.Second):
				}
				if _, err := c.Write(tc.trick[i : i+1]); err != nil {
					d := time.Since(start)
					if d > idle+3*time.Second {
						t.Errorf("connection closed after %v, want within %v", d, idle+3*time.Second)
					}
					return
				}
				if time.Since(start) > idle+5*time.Second {
					t.Fatalf("slow client still connected after %v", time.Since(start))
				}
			}
		})
	}
	t.Cleanup(func() {
		if keys := e.keys(video); len(keys) != 0 {
			t.Errorf("stored %v from slow clients", keys)
		}
	})
}

func TestIngestInitMismatch(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	e.pushInits("a")
	// Another source's video init with a different timescale.
	f, err := mp4.DecodeFile(bytes.NewReader(initOf(t, video)))
	if err != nil {
		t.Fatal(err)
	}
	f.Init.Moov.Trak.Mdia.Mdhd.Timescale = 12800
	var b bytes.Buffer
	if err := f.Init.Encode(&b); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{"timescale": b.Bytes(), "audio as video": initOf(t, audio)} {
		code, msg := e.put("/ingest/"+ch+"/b/video/init.cmfv", body)
		if code != http.StatusConflict || !strings.Contains(msg, "does not match") {
			t.Errorf("%s: %d %s", name, code, msg)
		}
		code, msg = e.put("/ingest/"+ch+"/b/Streams(video.cmfv)", append(append([]byte{}, body...), segOf(t, video, k0)...))
		if code != http.StatusConflict {
			t.Errorf("%s in a stream: %d %s", name, code, msg)
		}
	}
	if keys := e.keys(video); len(keys) != 0 {
		t.Errorf("stored %v", keys)
	}
	// The same init from b is fine.
	e.pushInits("b")
}

func TestIngestListenAddress(t *testing.T) {
	t.Parallel()
	open := ingest.Options{}
	authed := ingest.Options{Channels: []ingest.PushChannel{{Name: ch, Sources: []ingest.PushSource{{Name: "a", Credential: ingest.Credential{Token: "t"}}}}}}
	partly := ingest.Options{Channels: []ingest.PushChannel{{Name: ch, Sources: []ingest.PushSource{{Name: "a", Credential: ingest.Credential{Token: "t"}}, {Name: "b"}}}}}
	for _, tc := range []struct {
		addr string
		opts ingest.Options
		ok   bool
	}{
		{"127.0.0.1:8080", open, true},
		{"[::1]:8080", open, true},
		{"localhost:8080", open, true},
		{"0.0.0.0:8080", open, false},
		{":8080", open, false},
		{"192.0.2.10:8080", open, false},
		{"0.0.0.0:8080", authed, true},
		{":8080", partly, false},
		{":8080", ingest.Options{AllowInsecure: true}, true},
	} {
		err := ingest.CheckListenAddr(tc.addr, tc.opts)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListenAddr(%q): %v, want ok=%v", tc.addr, err, tc.ok)
		}
		if err != nil && (!errors.Is(err, ingest.ErrInsecureListen) || !strings.Contains(err.Error(), "Options.AllowInsecure")) {
			t.Errorf("error does not say how to fix it: %v", err)
		}
	}
	// Serve checks its listener too.
	srv, err := ingest.New(start(t, open).ar, open)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = srv.Serve(context.Background(), fakeAddrListener{ln, &net.TCPAddr{IP: net.IPv4zero, Port: 8080}})
	if err == nil || !strings.Contains(err.Error(), "non-loopback") {
		t.Fatalf("Serve on 0.0.0.0 without auth: %v", err)
	}
}

// fakeAddrListener reports another address than the one it listens on.
type fakeAddrListener struct {
	net.Listener
	addr net.Addr
}

func (l fakeAddrListener) Addr() net.Addr { return l.addr }

func TestIngestMaxRequests(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{MaxRequests: 1})
	e.pushInits("enc")
	// Hold the only slot with an upload that is not finished.
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, e.base+"/ingest/"+ch+"/enc/video/1.cmfv", pr)
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	seg := segOf(t, video, k0)
	_, _ = pw.Write(seg[:100])
	time.Sleep(300 * time.Millisecond)
	req, _ := http.NewRequest(http.MethodPut, e.base+"/ingest/"+ch+"/enc/video/2.cmfv", bytes.NewReader(segOf(t, video, k0+1)))
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("second request: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	_, _ = pw.Write(seg[100:])
	pw.Close()
	if code := <-done; code != http.StatusCreated {
		t.Errorf("first request: %d", code)
	}
	e.mustPut("/ingest/"+ch+"/enc/video/2.cmfv", segOf(t, video, k0+1))
}

// TestIngestGracefulStop: on stop the receiver refuses new work and reports
// 503 on /healthz, lets an in-flight upload finish (stored, 2xx), ends a
// stream at its next segment boundary, and Serve returns nil.
func TestIngestGracefulStop(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{DrainTimeout: 5 * time.Second, SegmentDuration: 2 * time.Second})
	e.pushInits("enc")
	if code, body := e.do(http.MethodGet, "/healthz", nil); code != 200 || body != "ok" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	seg := segOf(t, video, k0)
	// An upload in flight: half sent before the stop, half after.
	pr, pw := io.Pipe()
	up := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, e.base+"/ingest/"+ch+"/enc/video/1.cmfv", pr)
		req.ContentLength = int64(len(seg))
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			up <- 0
			return
		}
		resp.Body.Close()
		up <- resp.StatusCode
	}()
	// A stream in flight: K0+1 complete and K0+2 half sent before the stop.
	sr, sw := io.Pipe()
	st := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPut, e.base+"/ingest/"+ch+"/enc/Streams(video.cmfv)", sr)
		resp, err := (&http.Client{}).Do(req)
		if err != nil {
			st <- 0
			return
		}
		resp.Body.Close()
		st <- resp.StatusCode
	}()
	s1, _ := chunked(t, video, segOf(t, video, k0+1), 4, false)
	_, c2 := chunked(t, video, segOf(t, video, k0+2), 4, false)
	_, c3 := chunked(t, video, segOf(t, video, k0+3), 4, false)
	_, _ = sw.Write(s1)
	_, _ = sw.Write(c2[0])
	_, _ = pw.Write(seg[:len(seg)/2])
	time.Sleep(300 * time.Millisecond)

	stopped := make(chan error, 1)
	go func() { stopped <- e.stop() }()
	time.Sleep(300 * time.Millisecond)
	rec := &statusRecorder{header: http.Header{}}
	e.srv.Handler().ServeHTTP(rec, httptestRequest("GET", "/healthz"))
	if rec.code != http.StatusServiceUnavailable {
		t.Errorf("/healthz while draining: %d", rec.code)
	}
	if c, err := net.DialTimeout("tcp", e.addr, time.Second); err == nil {
		c.Close()
		t.Error("listener still accepting while draining")
	}
	_, _ = pw.Write(seg[len(seg)/2:])
	pw.Close()
	if code := <-up; code != http.StatusCreated {
		t.Errorf("in-flight upload: %d", code)
	}
	for _, c := range c2[1:] {
		_, _ = sw.Write(c)
	}
	_, _ = sw.Write(c3[0]) // K0+3 begins: K0+2 is complete, the stream stops
	if code := <-st; code != http.StatusServiceUnavailable {
		t.Errorf("stream during drain: %d, want 503 after its segment", code)
	}
	sw.Close()
	if err := <-stopped; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if got := kSet(t, e.keys(video)); fmt.Sprint(got) != fmt.Sprint([]int64{k0, k0 + 1, k0 + 2}) {
		t.Errorf("stored K %v, want K0..K0+2", got)
	}
}

type statusRecorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *statusRecorder) Header() http.Header { return r.header }
func (r *statusRecorder) WriteHeader(c int) {
	if r.code == 0 {
		r.code = c
	}
}
func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}

func httptestRequest(method, target string) *http.Request {
	req, _ := http.NewRequest(method, "http://x"+target, nil)
	return req
}

func TestIngestMetricsAndHealth(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	e.pushInits("enc")
	e.mustPut("/ingest/"+ch+"/enc/video/1.cmfv", segOf(t, video, k0))
	e.mustPut("/ingest/"+ch+"/enc/audio/1.cmfa", segOf(t, audio, k0))
	_, _ = e.put("/ingest/"+ch+"/enc/video/1.cmfv", []byte("garbage garbage"))
	if code, body := e.do(http.MethodGet, "/healthz", nil); code != 200 || body != "ok" {
		t.Errorf("/healthz: %d %q", code, body)
	}
	m := e.metrics()
	for _, want := range []string{
		`reaparchive_ingest_segments_received_total{channel="news",rep="video",source="enc"} 2`, // the garbage too
		`reaparchive_ingest_segments_rejected_total{channel="news",rep="video",source="enc"} 1`,
		`reaparchive_ingest_segments_stored_total{channel="news",rep="video",source="enc"} 1`,
		`reaparchive_ingest_segments_stored_total{channel="news",rep="audio",source="enc"} 1`,
		`reaparchive_ingest_init_segments_total{channel="news",outcome="new",rep="video",source="enc"} 1`,
		`reaparchive_ingest_received_bytes_total{channel="news",source="enc"}`,
		`reaparchive_ingest_request_duration_seconds_bucket{code="201",kind="segment",le=`,
		`reaparchive_ingest_request_duration_seconds_count{code="400",kind="segment"} 1`,
		`reaparchive_ingest_open_streams 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, absent := range []string{"segments_duplicate_total{", "segments_conflicting_total{"} {
		if strings.Contains(m, absent) {
			t.Errorf("/metrics has %s without any", absent)
		}
	}
	if code, _ := e.do(http.MethodGet, "/ingest/news/enc/video/1.cmfv", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET on an ingest URL: %d", code)
	}
	if code, _ := e.do(http.MethodDelete, "/ingest/news/enc/video/1.cmfv", nil); code != http.StatusNoContent {
		t.Errorf("DELETE: %d", code)
	}
	if _, ok := e.segmentRow(video, k0); !ok {
		t.Error("DELETE removed something")
	}
}
