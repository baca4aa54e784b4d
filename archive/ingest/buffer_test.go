package ingest_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// bufferedBytes is the receiver's reaparchive_ingest_buffered_bytes gauge.
func (e *tenv) bufferedBytes() int64 {
	e.t.Helper()
	mfs, err := e.srv.Registry().Gather()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "reaparchive_ingest_buffered_bytes" {
			return int64(mf.GetMetric()[0].GetGauge().GetValue())
		}
	}
	e.t.Fatal("no reaparchive_ingest_buffered_bytes metric")
	return 0
}

// heldUpload is a PUT whose body stops after its first bytes, holding its
// part of the buffer budget until finish.
type heldUpload struct {
	pw   *io.PipeWriter
	resp chan answer
}

// answer is a response's status (0: the request failed) and Retry-After.
type answer struct {
	code       int
	retryAfter string
}

// holdUpload starts a PUT to path of a box that declares size bytes (the
// Content-Length if withLength, else chunked), sends its first 1,000 bytes
// and holds the rest back.
func (e *tenv) holdUpload(path string, size int64, withLength bool) *heldUpload {
	e.t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, e.base+path, pr)
	if err != nil {
		e.t.Fatal(err)
	}
	if withLength {
		req.ContentLength = size
	}
	h := &heldUpload{pw: pw, resp: make(chan answer, 1)}
	go func() {
		resp, err := e.client.Do(req)
		if err != nil {
			h.resp <- answer{}
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h.resp <- answer{resp.StatusCode, resp.Header.Get("Retry-After")}
	}()
	head := make([]byte, 1000)
	binary.BigEndian.PutUint32(head, uint32(size))
	copy(head[4:], "free")
	if _, err := pw.Write(head); err != nil {
		e.t.Fatal(err)
	}
	return h
}

// finish breaks the held body off and returns the answer it got.
func (h *heldUpload) finish() answer {
	h.pw.CloseWithError(io.ErrUnexpectedEOF)
	return <-h.resp
}

// awaitBuffered waits (up to 10 s) until the receiver buffers want bytes,
// and returns what it buffers then.
func (e *tenv) awaitBuffered(want int64) int64 {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.bufferedBytes() != want && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return e.bufferedBytes()
}

// TestIngestBufferBound: the bytes requests hold while their segments
// arrive stay within Options.MaxBuffer however many large uploads run at
// once: with the budget taken by three held 1 MiB uploads a fourth gets
// 503 with Retry-After (after a short wait for room) and nothing more is
// buffered; once one of them ends, the next upload gets through. Per
// segment URL with and without Content-Length, and a Streams request.
func TestIngestBufferBound(t *testing.T) {
	t.Parallel()
	const seg = 1 << 20
	for _, tc := range []struct {
		name       string
		path       string
		withLength bool
	}{
		{"content-length", "/ingest/" + ch + "/enc1/" + audio + "/seg.cmfa", true},
		{"chunked", "/ingest/" + ch + "/enc1/" + audio + "/seg.cmfa", false},
		{"stream", "/ingest/" + ch + "/enc1/Streams(" + audio + ".cmfa)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, ingest.Options{MaxSegmentSize: seg, MaxBuffer: 3 * seg, SegmentDuration: 2 * time.Second})
			e.pushInits("enc1")
			var held []*heldUpload
			for range 3 {
				held = append(held, e.holdUpload(tc.path, seg, tc.withLength))
			}
			if got := e.awaitBuffered(3 * seg); got != 3*seg {
				t.Fatalf("buffered %d bytes with three uploads held; want %d", got, 3*seg)
			}
			extra := e.holdUpload(tc.path, seg, tc.withLength)
			select {
			case a := <-extra.resp:
				if a.code != http.StatusServiceUnavailable || a.retryAfter == "" {
					t.Errorf("fourth upload: %d, Retry-After %q; want 503 with Retry-After", a.code, a.retryAfter)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("fourth upload: no answer while the budget was full")
			}
			if got := e.bufferedBytes(); got > 3*seg {
				t.Errorf("buffered %d bytes; want at most %d", got, 3*seg)
			}
			if a := held[0].finish(); a.code/100 == 2 {
				t.Errorf("broken-off upload: %d; want no success", a.code)
			}
			data := segOf(t, audio, k0)
			if code, msg := e.put("/ingest/"+ch+"/enc1/"+audio+"/seg.cmfa", data); code != http.StatusCreated {
				t.Errorf("upload after one ended: %d %s; want 201", code, msg)
			}
			for _, h := range held[1:] {
				h.finish()
			}
			extra.pw.Close()
			if got := e.awaitBuffered(0); got != 0 {
				t.Errorf("buffered %d bytes after every upload ended; want 0", got)
			}
		})
	}
}

// TestPushedDigest: the SHA-256 the receiver computes while a body
// streams in (and hands to the archive, which does not hash again) is the
// digest of the segment stored, for per-segment uploads and for segments
// split from a Streams request.
func TestPushedDigest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		stream bool
	}{
		{"per segment", false},
		{"stream", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, ingest.Options{SegmentDuration: 2 * time.Second})
			ks := []int64{k0, k0 + 1, k0 + 2}
			if tc.stream {
				parts := [][]byte{initOf(t, video)}
				for _, k := range ks {
					parts = append(parts, segOf(t, video, k))
				}
				if code, msg := e.stream("/ingest/"+ch+"/enc1/Streams(video.cmfv)", parts, 0); code/100 != 2 {
					t.Fatalf("stream: %d %s", code, msg)
				}
			} else {
				e.pushInits("enc1")
				for _, k := range ks {
					e.mustPut(fmt.Sprintf("/ingest/%s/enc1/%s/%d.cmfv", ch, video, k), segOf(t, video, k))
				}
			}
			for _, k := range ks {
				row, ok := e.segmentRow(video, k)
				obj := e.object(video, k)
				sum := sha256.Sum256(obj)
				at, err := e.store.Attributes(context.Background(), layout.MediaKey(ch, video, k, "m4s"))
				if err != nil {
					t.Fatal(err)
				}
				want := hex.EncodeToString(sum[:])
				if !ok || row.SHA256 != want || at.Meta[layout.MetaSHA256] != want || !bytes.Equal(obj, segOf(t, video, k)) {
					t.Errorf("K %d: row %s (%v), attribute %s; want %s", k, row.SHA256, ok, at.Meta[layout.MetaSHA256], want)
				}
				if d := e.deliveries(video, k); d["enc1"] != index.Stored {
					t.Errorf("K %d: deliveries %v", k, d)
				}
			}
		})
	}
}

// TestSegmentBuffersReused: media segment bodies are read into recycled
// buffers, and every segment is stored as sent all the same (a buffer is
// only recycled once the archive is done with its bytes).
func TestSegmentBuffersReused(t *testing.T) {
	t.Parallel()
	for _, rep := range []string{audio, video} {
		t.Run(rep, func(t *testing.T) {
			t.Parallel()
			e := start(t, ingest.Options{SegmentDuration: 2 * time.Second})
			e.pushInits("enc1")
			ext := map[string]string{audio: "cmfa", video: "cmfv"}[rep]
			const n = 12
			keys := map[int64]string{}
			for k := k0; k < k0+n; k++ {
				msg := e.mustPut(fmt.Sprintf("/ingest/%s/enc1/%s/%d.%s", ch, rep, k, ext), segOf(t, rep, k))
				keys[k] = msg[strings.LastIndex(msg, " ")+1:] // "stored K <k> <key>"
			}
			for k := k0; k < k0+n; k++ {
				got, err := e.store.Get(context.Background(), keys[k])
				if err != nil || !bytes.Equal(got, segOf(t, rep, k)) {
					t.Errorf("segment %d: stored %d bytes at %q (%v); want the %d bytes sent", k, len(got), keys[k], err, len(segOf(t, rep, k)))
				}
			}
			if got := ingest.SegmentBuffersReused(e.srv); got == 0 {
				t.Errorf("%d of %d segment bodies read into a recycled buffer; want most", got, n)
			}
		})
	}
}
