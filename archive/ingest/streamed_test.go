package ingest_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/internal/loadgen"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
)

// segPath is the per-segment URL of segment K of rep pushed by source.
func segPath(source, rep string, k int64) string {
	ext := map[string]string{video: "cmfv", audio: "cmfa"}[rep]
	return fmt.Sprintf("/ingest/%s/%s/%s/%d.%s", ch, source, rep, k, ext)
}

// putChunked PUTs body without a Content-Length (chunked): the buffered
// path.
func (e *tenv) putChunked(path string, body []byte) (int, string) {
	e.t.Helper()
	return e.do(http.MethodPut, path, struct{ io.Reader }{bytes.NewReader(body)})
}

// putCut PUTs a body announced as size bytes (Content-Length) of which
// only sent arrive before the upload breaks off; the answer's status, 0
// if the request failed.
func (e *tenv) putCut(path string, sent []byte, size int64) int {
	e.t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPut, e.base+path, pr)
	if err != nil {
		e.t.Fatal(err)
	}
	req.ContentLength = size
	go func() {
		_, _ = pw.Write(sent)
		time.Sleep(50 * time.Millisecond)
		pw.CloseWithError(io.ErrUnexpectedEOF)
	}()
	resp, err := e.client.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// awaitIdle waits (up to 10 s) until the receiver has no request in
// flight: the handler of a broken upload has finished.
func (e *tenv) awaitIdle() {
	e.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(e.metrics(), "reaparchive_ingest_inflight_requests 0\n") {
			return
		}
	}
	e.t.Fatal("requests still in flight after 10 s")
}

// rawObject is the file and user.reap xattr of segment K of rep in the
// test's file store.
func (e *tenv) rawObject(rep string, k int64) (data, xattr []byte) {
	e.t.Helper()
	p := filepath.Join(e.dir, "store", filepath.FromSlash(layout.MediaKey(ch, rep, k, "m4s")))
	data, err := os.ReadFile(p)
	if err != nil {
		e.t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(p, "user.reap", buf)
	if err != nil {
		e.t.Fatalf("%s: user.reap: %v", p, err)
	}
	return data, buf[:n]
}

// checkNothingLeft fails the test if K of rep was stored, indexed or left
// a temporary file.
func (e *tenv) checkNothingLeft(rep string, k int64) {
	e.t.Helper()
	if keys := e.keys(rep); len(keys) > 0 {
		e.t.Errorf("objects stored: %v", keys)
	}
	if _, ok := e.segmentRow(rep, k); ok {
		e.t.Errorf("%s %d indexed", rep, k)
	}
	tmp, err := e.store.TempFiles(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	if len(tmp) > 0 {
		e.t.Errorf("temporary files left: %v", tmp)
	}
}

// TestIngestStreamedLikeBuffered: a video or audio segment pushed with a
// Content-Length to a file store is streamed (the archive reads its mdat
// from the body as it writes it), and the object, its user.reap xattr and
// its index row are exactly what the buffered path (the same segment
// pushed chunked) writes.
func TestIngestStreamedLikeBuffered(t *testing.T) {
	t.Parallel()
	for _, rep := range []string{video, audio} {
		t.Run(rep, func(t *testing.T) {
			t.Parallel()
			seg := segOf(t, rep, k0)
			streamed := start(t, ingest.Options{SegmentDuration: 2 * time.Second})
			buffered := start(t, ingest.Options{SegmentDuration: 2 * time.Second})
			for _, e := range []*tenv{streamed, buffered} {
				e.pushInits("enc1")
			}
			if code, msg := streamed.put(segPath("enc1", rep, k0), seg); code != http.StatusCreated {
				t.Fatalf("streamed: %d %s", code, msg)
			}
			if code, msg := buffered.putChunked(segPath("enc1", rep, k0), seg); code != http.StatusCreated {
				t.Fatalf("buffered: %d %s", code, msg)
			}
			if n, m := ingest.SegmentsStreamed(streamed.srv), ingest.SegmentsStreamed(buffered.srv); n != 1 || m != 0 {
				t.Fatalf("segments streamed: %d and %d; want 1 (Content-Length) and 0 (chunked)", n, m)
			}
			sData, sAttr := streamed.rawObject(rep, k0)
			bData, bAttr := buffered.rawObject(rep, k0)
			if !bytes.Equal(sData, seg) || !bytes.Equal(bData, seg) {
				t.Errorf("stored bytes differ from the pushed ones (streamed %d, buffered %d, pushed %d bytes)", len(sData), len(bData), len(seg))
			}
			if !bytes.Equal(sAttr, bAttr) {
				t.Errorf("user.reap streamed %s\nbuffered %s", sAttr, bAttr)
			}
			sRow, _ := streamed.segmentRow(rep, k0)
			bRow, _ := buffered.segmentRow(rep, k0)
			sRow.ReceivedAt, bRow.ReceivedAt = time.Time{}, time.Time{}
			if fmt.Sprint(sRow) != fmt.Sprint(bRow) || sRow.SHA256 == "" {
				t.Errorf("index row streamed %+v\nbuffered %+v", sRow, bRow)
			}
		})
	}
}

// TestIngestStreamedRefused: a streamed body that breaks off inside its
// mdat, whose mdat does not hold what its moof says, or that is over the
// segment size limit is answered as the buffered path answers it and
// leaves no object, no index row and no temporary file.
func TestIngestStreamedRefused(t *testing.T) {
	t.Parallel()
	seg := segOf(t, video, k0)
	at := testenv.MdatOffset(t, seg)
	short := bytes.Clone(seg[:len(seg)-100]) // the moof's samples run past the mdat
	binary.BigEndian.PutUint32(short[at:], binary.BigEndian.Uint32(short[at:])-100)
	huge := bytes.Clone(seg) // an mdat declared over the size limit
	binary.BigEndian.PutUint32(huge[at:], uint32(len(seg)+1000))
	cases := []struct {
		name     string
		body     []byte
		cutAt    int // > 0: the upload breaks off after so many bytes
		maxSize  int64
		want     int // status; 0: the request fails
		streamed int64
	}{
		{name: "cut mid-mdat", body: seg, cutAt: at + (len(seg)-at)/2, want: 0, streamed: 1},
		{name: "mdat short of the moof", body: short, want: http.StatusBadRequest, streamed: 1},
		{name: "mdat over the limit", body: huge, maxSize: int64(len(seg) + 500), want: http.StatusRequestEntityTooLarge},
		{name: "body over the limit", body: seg, maxSize: int64(len(seg) - 1), want: http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, ingest.Options{SegmentDuration: 2 * time.Second, MaxSegmentSize: tc.maxSize})
			e.pushInits("enc1")
			var code int
			if tc.cutAt > 0 {
				code = e.putCut(segPath("enc1", video, k0), tc.body[:tc.cutAt], int64(len(tc.body)))
			} else {
				code, _ = e.put(segPath("enc1", video, k0), tc.body)
			}
			if code != tc.want && (tc.want != 0 || code/100 == 2) {
				t.Errorf("status %d; want %d", code, tc.want)
			}
			e.awaitIdle()
			e.checkNothingLeft(video, k0)
			if n := ingest.SegmentsStreamed(e.srv); n != tc.streamed {
				t.Errorf("segments streamed: %d; want %d", n, tc.streamed)
			}
		})
	}
}

// TestIngestStreamedDuplicate: later streamed copies of a stored K are
// compared by their SHA-256, hashed as they stream: the same bytes from
// another source are an identical duplicate, bytes that differ in the
// mdat are a duplicate that is not identical, and neither is a second
// object.
func TestIngestStreamedDuplicate(t *testing.T) {
	t.Parallel()
	seg := segOf(t, video, k0)
	flipped := bytes.Clone(seg)
	flipped[len(flipped)-10] ^= 0xff
	e := start(t, ingest.Options{SegmentDuration: 2 * time.Second})
	for _, src := range []string{"enc1", "enc2", "enc3"} {
		e.pushInits(src)
	}
	if code, msg := e.put(segPath("enc1", video, k0), seg); code != http.StatusCreated {
		t.Fatalf("first copy: %d %s", code, msg)
	}
	cases := []struct {
		source    string
		body      []byte
		identical bool
	}{{"enc2", seg, true}, {"enc3", flipped, false}}
	for _, tc := range cases {
		if code, msg := e.put(segPath(tc.source, video, k0), tc.body); code != http.StatusOK || !strings.Contains(msg, "duplicate") {
			t.Errorf("%s: %d %s; want 200 duplicate", tc.source, code, msg)
		}
	}
	ds := e.deliveryRows(video, k0)
	for _, tc := range cases {
		if d := ds[tc.source]; d.Identical != tc.identical || d.SHA256 == "" {
			t.Errorf("%s: identical %v, SHA-256 %q; want identical %v and a SHA-256", tc.source, d.Identical, d.SHA256, tc.identical)
		}
	}
	if keys := e.keys(video); len(keys) != 1 || !bytes.Equal(e.object(video, k0), seg) {
		t.Errorf("objects %v; want the first copy only", keys)
	}
	if n := ingest.SegmentsStreamed(e.srv); n != 3 {
		t.Errorf("segments streamed: %d; want 3", n)
	}
}

// TestIngestStreamedMemoryBound: a 32 MiB video segment is stored while
// the request holds a chunk of it, not the segment: the most bytes of the
// buffer budget held at once stay under 1 MiB (the buffered path holds
// the whole segment).
func TestIngestStreamedMemoryBound(t *testing.T) {
	t.Parallel()
	v, a := testenv.Assets(t)
	l, err := loadgen.New(loadgen.Options{Video: v, Audio: a, Channels: 1, VideoSizes: []int{32 << 20}, AudioTracks: 1, Segments: 1})
	if err != nil {
		t.Fatal(err)
	}
	tr := l.Tracks[0]
	e := start(t, ingest.Options{SegmentDuration: l.SegmentDuration, MaxSegmentSize: 40 << 20})
	e.mustPut("/ingest/"+ch+"/enc1/"+tr.Rep+"/init.cmfv", tr.Init)
	base := ingest.BufferPeak(e.srv)
	if code, msg := e.put("/ingest/"+ch+"/enc1/"+tr.Rep+"/1.cmfv", tr.Segments[0]); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	if peak := ingest.BufferPeak(e.srv); peak > max(base, 1<<20) {
		t.Errorf("%d bytes of the buffer budget held for a %d byte segment; want at most 1 MiB", peak, len(tr.Segments[0]))
	}
	got, err := e.store.Get(context.Background(), layout.MediaKey(ch, tr.Rep, l.K0, "m4s"))
	if err != nil || !bytes.Equal(got, tr.Segments[0]) {
		t.Errorf("stored %d bytes (%v); want the %d pushed", len(got), err, len(tr.Segments[0]))
	}
}

// TestIngestBufferedOnS3: on S3 a segment pushed with a Content-Length
// takes the buffered path (the store takes objects whole): nothing is
// streamed, the budget holds the segment, and the object is stored.
func TestIngestBufferedOnS3(t *testing.T) {
	t.Parallel()
	url := testenv.Store("s3").URL(t)
	e := startArchive(t, ingest.Options{SegmentDuration: 2 * time.Second}, func(*cloud.Store) *cloud.Store {
		s, err := cloud.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}, nil)
	seg := segOf(t, video, k0)
	e.pushInits("enc1")
	if code, msg := e.put(segPath("enc1", video, k0), seg); code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", code, msg)
	}
	if n, peak := ingest.SegmentsStreamed(e.srv), ingest.BufferPeak(e.srv); n != 0 || peak < int64(len(seg)) {
		t.Errorf("segments streamed %d, budget peak %d bytes; want 0 and the segment's %d", n, peak, len(seg))
	}
	row, ok := e.segmentRow(video, k0)
	if !ok {
		t.Fatal("not indexed")
	}
	got, err := e.ar.Store.Get(context.Background(), row.Key)
	if err != nil || !bytes.Equal(got, seg) {
		t.Errorf("stored %d bytes (%v); want the %d pushed", len(got), err, len(seg))
	}
	if errors.Is(err, cloud.ErrNotFound) {
		t.Fatal("no object")
	}
}

// TestIngestStreamedReplacesFiller: a streamed real copy of a K whose
// stored copy is an encoder's filler (slat) is written, as it streams, to
// the K's real key and replaces the filler (its body is not consumed for
// the duplicate comparison first).
func TestIngestStreamedReplacesFiller(t *testing.T) {
	t.Parallel()
	seg := segOf(t, video, k0)
	filler, err := testenv.WithStypBrands(seg, "slat")
	if err != nil {
		t.Fatal(err)
	}
	e := start(t, ingest.Options{SegmentDuration: 2 * time.Second})
	e.pushInits("enc1")
	e.pushInits("enc2")
	if code, msg := e.put(segPath("enc1", video, k0), filler); code != http.StatusCreated {
		t.Fatalf("filler: %d %s", code, msg)
	}
	if code, msg := e.put(segPath("enc2", video, k0), seg); code != http.StatusCreated {
		t.Fatalf("real copy: %d %s", code, msg)
	}
	row, ok := e.segmentRow(video, k0)
	if want := layout.RealKey(ch, video, k0, "m4s"); !ok || row.Key != want || row.Filler {
		t.Fatalf("row %+v; want the real copy at %s", row, want)
	}
	got, err := e.store.Get(context.Background(), row.Key)
	if err != nil || !bytes.Equal(got, seg) {
		t.Errorf("real copy: %d bytes (%v); want the %d pushed", len(got), err, len(seg))
	}
	if n := ingest.SegmentsStreamed(e.srv); n != 2 {
		t.Errorf("segments streamed: %d; want 2", n)
	}
}
