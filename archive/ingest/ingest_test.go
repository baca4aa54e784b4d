package ingest_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

func TestIngestPerSegment(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	mpd, err := sim(t).MPD()
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := e.put("/ingest/"+ch+"/enc1/manifest.mpd", mpd); code != http.StatusCreated {
		t.Fatalf("I-MPD: %d %s", code, msg)
	}
	e.pushInits("enc1")
	for k := k0; k < k0+3; k++ {
		for _, rep := range []string{video, audio} {
			ext := map[string]string{video: "cmfv", audio: "cmfa"}[rep]
			// Identity comes from the bytes: the name is deliberately not K.
			path := fmt.Sprintf("/ingest/%s/enc1/%s/%d.%s", ch, rep, 1000+k-k0, ext)
			if code, msg := e.put(path, segOf(t, rep, k)); code != http.StatusCreated {
				t.Fatalf("PUT %s: %d %s", path, code, msg)
			}
		}
	}
	for _, rep := range []string{video, audio} {
		if got := kSet(t, e.keys(rep)); !slices.Equal(got, []int64{k0, k0 + 1, k0 + 2}) {
			t.Errorf("%s: stored K %v", rep, got)
		}
		for k := k0; k < k0+3; k++ {
			row, ok := e.segmentRow(rep, k)
			if !ok {
				t.Fatalf("%s %d not indexed", rep, k)
			}
			if !bytes.Equal(e.object(rep, k), segOf(t, rep, k)) {
				t.Errorf("%s %d: stored bytes differ from the pushed ones", rep, k)
			}
			if row.Key != layout.MediaKey(ch, rep, k, "m4s") {
				t.Errorf("%s %d: key %s", rep, k, row.Key)
			}
		}
	}
	keys := strings.Join(e.allKeys(), " ")
	if !strings.Contains(keys, ch+"/impd-") || !strings.Contains(keys, ch+"/video/init-") {
		t.Errorf("no I-MPD or init object in %s", keys)
	}
	// The same segment again is a duplicate (200), from the same source.
	if code, msg := e.put("/ingest/"+ch+"/enc1/video/x.m4s", segOf(t, video, k0)); code != http.StatusOK || !strings.Contains(msg, "duplicate") {
		t.Errorf("repeat: %d %s", code, msg)
	}
	// A media segment sent to init.cmfv is still a media segment.
	if code, msg := e.put("/ingest/"+ch+"/enc1/video/init.cmfv", segOf(t, video, k0+3)); code != http.StatusCreated {
		t.Errorf("media at init URL: %d %s", code, msg)
	}
}

// TestIngestStreamChunked pushes whole tracks through one long-running
// chunked Streams() request: the header, then segments of 4 CMAF chunks
// each, back to back. The splitter must group the chunks into one object
// per K, by styp or, without styp, by the epoch timeline (D from the I-MPD
// or from Options.SegmentDuration).
func TestIngestStreamChunked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		rep      string
		styp     bool
		mpd      bool // D from an I-MPD; else from Options.SegmentDuration
		optD     time.Duration
		pieceLen int // write the body in pieces of this many bytes (0: per chunk)
	}{
		{name: "video styp", rep: video, styp: true},
		{name: "video no styp I-MPD", rep: video, mpd: true},
		{name: "audio no styp option D", rep: audio, optD: 2 * time.Second, pieceLen: 1000},
		{name: "audio styp odd pieces", rep: audio, styp: true, mpd: true, pieceLen: 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, ingest.Options{SegmentDuration: tc.optD})
			if tc.mpd {
				mpd, _ := sim(t).MPD()
				e.mustPut("/ingest/"+ch+"/enc1/in.mpd", mpd)
			}
			ext := map[string]string{video: "cmfv", audio: "cmfa"}[tc.rep]
			parts := [][]byte{initOf(t, tc.rep)}
			want := map[int64][]byte{}
			for k := k0; k < k0+4; k++ {
				seg, chunks := chunked(t, tc.rep, segOf(t, tc.rep, k), 4, tc.styp)
				if len(chunks) != 4 {
					t.Fatalf("%d chunks", len(chunks))
				}
				want[k] = seg
				parts = append(parts, seg)
			}
			if tc.pieceLen > 0 {
				all := bytes.Join(parts, nil)
				parts = nil
				for len(all) > 0 {
					n := min(tc.pieceLen, len(all))
					parts = append(parts, all[:n])
					all = all[n:]
				}
			}
			code, msg := e.stream(fmt.Sprintf("/ingest/%s/enc1/Streams(%s.%s)", ch, tc.rep, ext), parts, 0)
			if code != http.StatusCreated {
				t.Fatalf("stream: %d %s", code, msg)
			}
			if got := kSet(t, e.keys(tc.rep)); !slices.Equal(got, []int64{k0, k0 + 1, k0 + 2, k0 + 3}) {
				t.Fatalf("stored K %v (%s)", got, msg)
			}
			for k, b := range want {
				if !bytes.Equal(e.object(tc.rep, k), b) {
					t.Errorf("K %d: stored bytes are not the 4 chunks of the segment", k)
				}
			}
		})
	}
}

// TestIngestStreamEnd checks the end-of-stream rule: the last segment is
// stored only when complete (duration within a sample of D), and a body
// that breaks off mid-box stores nothing for its segment.
func TestIngestStreamEnd(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{SegmentDuration: 2 * time.Second})
	e.pushInits("enc1")
	path := fmt.Sprintf("/ingest/%s/enc1/Streams(video.cmfv)", ch)
	var body []byte
	for k := k0; k < k0+2; k++ {
		seg, _ := chunked(t, video, segOf(t, video, k), 4, false)
		body = append(body, seg...)
	}
	_, chunks := chunked(t, video, segOf(t, video, k0+2), 4, false)
	body = append(body, chunks[0]...)
	body = append(body, chunks[1]...) // K0+2: half a segment, then a clean end
	code, msg := e.put(path, body)
	if code != http.StatusCreated || !strings.Contains(msg, "1 incomplete") {
		t.Fatalf("stream: %d %s", code, msg)
	}
	if got := kSet(t, e.keys(video)); !slices.Equal(got, []int64{k0, k0 + 1}) {
		t.Fatalf("stored K %v, want the two complete segments", got)
	}
	// K0+2 complete, then K0+3 cut inside its second chunk's mdat.
	seg2, _ := chunked(t, video, segOf(t, video, k0+2), 4, false)
	_, c3 := chunked(t, video, segOf(t, video, k0+3), 4, false)
	broken := append(append(append([]byte{}, seg2...), c3[0]...), c3[1][:len(c3[1])-10]...)
	code, msg = e.put(path, broken)
	if code != http.StatusBadRequest {
		t.Fatalf("broken stream: %d %s", code, msg)
	}
	if got := kSet(t, e.keys(video)); !slices.Equal(got, []int64{k0, k0 + 1, k0 + 2}) {
		t.Fatalf("stored K %v, want K0+2 but not the broken K0+3", got)
	}
	// The lmsg brand marks a short last segment as complete.
	seg4 := segOf(t, video, k0+4)
	lm := bytes.Replace(seg4, []byte("msdhmsix"), []byte("msdhlmsg"), 1)
	if bytes.Equal(lm, seg4) {
		t.Fatal("no styp brands to patch")
	}
	_, c4 := chunked(t, video, lm, 4, false)
	short := append(append([]byte{}, lm[:24]...), c4[0]...) // styp with lmsg, then one chunk of four
	code, msg = e.put(path, short)
	if code != http.StatusCreated {
		t.Fatalf("lmsg stream: %d %s", code, msg)
	}
	if _, ok := e.segmentRow(video, k0+4); !ok {
		t.Fatalf("short lmsg segment not stored: %s", msg)
	}
}

func TestIngestDuplicateSources(t *testing.T) {
	t.Parallel()
	e := start(t, ingest.Options{})
	e.pushInits("a")
	e.pushInits("b")
	for _, src := range []string{"a", "b"} {
		e.mustPut("/ingest/"+ch+"/"+src+"/video/5.cmfv", segOf(t, video, k0+5))
	}
	// b also via a stream, as 4 chunks: interchangeable, not bit-identical.
	seg, _ := chunked(t, video, segOf(t, video, k0+5), 4, true)
	if code, msg := e.put("/ingest/"+ch+"/b/Streams(video.cmfv)", seg); code != http.StatusOK {
		t.Fatalf("stream: %d %s", code, msg)
	}
	if got := e.keys(video); len(got) != 1 {
		t.Fatalf("objects %v, want one", got)
	}
	d := e.deliveries(video, k0+5)
	if d["a"] != index.Stored || d["b"] != index.Duplicate {
		t.Fatalf("deliveries %v", d)
	}
	m := e.metrics()
	for _, want := range []string{
		`reaparchive_ingest_segments_stored_total{channel="news",rep="video",source="a"} 1`,
		`reaparchive_ingest_segments_duplicate_total{channel="news",rep="video",source="b"} 2`,
		`reaparchive_ingest_segments_received_total{channel="news",rep="video",source="b"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
