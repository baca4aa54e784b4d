package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// Fixtures: the simulator's 2 s segments, numbered from an epoch index in
// 2026 (64-bit tfdts).
const (
	ch    = "news"
	k0    = int64(888_000_000)
	video = simulate.VideoRep
	audio = simulate.AudioRep
)

var (
	simOnce   sync.Once
	simShared *simulate.Server
	simErr    error
)

// sim is the simulated encoder whose bytes the tests push.
func sim(tb testing.TB) *simulate.Server {
	tb.Helper()
	v, a := testenv.Assets(tb)
	simOnce.Do(func() { simShared, simErr = simulate.New(simulate.Options{Video: v, Audio: a}) })
	if simErr != nil {
		tb.Fatal(simErr)
	}
	return simShared
}

func initOf(tb testing.TB, rep string) []byte {
	tb.Helper()
	return testenv.MustInit(tb, sim(tb), rep)
}

func segOf(tb testing.TB, rep string, k int64) []byte {
	tb.Helper()
	return testenv.MustSeg(tb, sim(tb), rep, k)
}

// tenv is a receiver serving on a loopback port, over a file store and an
// index in a temporary directory.
type tenv struct {
	t      *testing.T
	dir    string
	store  *cloud.Store
	db     *index.DB
	ar     *archive.Archive
	srv    *ingest.Server
	addr   string // host:port
	base   string // http://host:port
	cancel context.CancelFunc
	done   chan error
	client *http.Client
}

func start(t *testing.T, opts ingest.Options) *tenv {
	t.Helper()
	return startArchive(t, opts, nil, nil)
}

// stop cancels Serve and waits for it (once).
func (e *tenv) stop() error {
	e.cancel()
	select {
	case err, ok := <-e.done:
		if ok {
			close(e.done)
		}
		return err
	case <-time.After(60 * time.Second):
		e.t.Fatal("Serve did not return")
		return nil
	}
}

// do sends a request and returns status and body.
func (e *tenv) do(method, path string, body io.Reader, hdr ...string) (int, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

func (e *tenv) put(path string, body []byte, hdr ...string) (int, string) {
	e.t.Helper()
	return e.do(http.MethodPut, path, bytes.NewReader(body), hdr...)
}

// mustPut fails the test unless the PUT is answered 2xx.
func (e *tenv) mustPut(path string, body []byte, hdr ...string) string {
	e.t.Helper()
	code, msg := e.put(path, body, hdr...)
	if code/100 != 2 {
		e.t.Fatalf("PUT %s: %d %s", path, code, msg)
	}
	return msg
}

// pushInits PUTs both init segments as source.
func (e *tenv) pushInits(source string, hdr ...string) {
	e.t.Helper()
	e.mustPut("/ingest/"+ch+"/"+source+"/"+video+"/init.cmfv", initOf(e.t, video), hdr...)
	e.mustPut("/ingest/"+ch+"/"+source+"/"+audio+"/init.cmfa", initOf(e.t, audio), hdr...)
}

// keys lists the store's media keys of rep, sorted.
func (e *tenv) keys(rep string) []string {
	e.t.Helper()
	var out []string
	err := e.store.List(context.Background(), ch+"/"+rep+"/", func(a cloud.Attrs) error {
		if o, err := layout.Parse(a.Key); err == nil && o.Kind == layout.KindMedia {
			out = append(out, a.Key)
		}
		return nil
	})
	if err != nil && !cloud.IsNotFound(err) {
		e.t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// allKeys lists every key of the channel.
func (e *tenv) allKeys() []string {
	e.t.Helper()
	var out []string
	err := e.store.List(context.Background(), ch+"/", func(a cloud.Attrs) error {
		out = append(out, a.Key)
		return nil
	})
	if err != nil && !cloud.IsNotFound(err) {
		e.t.Fatal(err)
	}
	return out
}

// object returns the stored bytes of segment K of rep.
func (e *tenv) object(rep string, k int64) []byte {
	e.t.Helper()
	b, err := e.store.Get(context.Background(), layout.MediaKey(ch, rep, k, "m4s"))
	if err != nil {
		e.t.Fatalf("segment %s %d: %v", rep, k, err)
	}
	return b
}

// deliveries returns the outcomes of (rep, K) per source name.
func (e *tenv) deliveries(rep string, k int64) map[string]index.Outcome {
	e.t.Helper()
	out := map[string]index.Outcome{}
	for name, d := range e.deliveryRows(rep, k) {
		out[name] = d.Outcome
	}
	return out
}

// deliveryRows returns the delivery rows of (rep, K) per source name.
func (e *tenv) deliveryRows(rep string, k int64) map[string]index.Delivery {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.db.Channel(ctx, ch)
	if err != nil {
		e.t.Fatal(err)
	}
	tr, err := e.db.Track(ctx, c.ID, rep)
	if err != nil {
		e.t.Fatal(err)
	}
	srcs, err := e.db.Sources(ctx, c.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	names := map[int64]string{}
	for _, s := range srcs {
		names[s.ID] = s.Name
	}
	ds, err := e.db.Deliveries(ctx, tr.ID, k)
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]index.Delivery{}
	for _, d := range ds {
		out[names[d.SourceID]] = d
	}
	return out
}

// segmentRow returns the index row of (rep, K).
func (e *tenv) segmentRow(rep string, k int64) (index.Segment, bool) {
	e.t.Helper()
	ctx := context.Background()
	c, err := e.db.Channel(ctx, ch)
	if errors.Is(err, index.ErrNotFound) {
		return index.Segment{}, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	tr, err := e.db.Track(ctx, c.ID, rep)
	if errors.Is(err, index.ErrNotFound) {
		return index.Segment{}, false
	}
	if err != nil {
		e.t.Fatal(err)
	}
	s, ok, err := e.db.Segment(ctx, tr.ID, k)
	if err != nil {
		e.t.Fatal(err)
	}
	return s, ok
}

// metrics returns the /metrics text.
func (e *tenv) metrics() string {
	e.t.Helper()
	code, body := e.do(http.MethodGet, "/metrics", nil)
	if code != 200 {
		e.t.Fatalf("/metrics: %d", code)
	}
	return body
}

// chunked rebuilds a simulator segment as n CMAF chunks (moof+mdat pairs)
// with the same samples; the styp, if any, stays in front of the first.
func chunked(tb testing.TB, rep string, seg []byte, n int, keepStyp bool) (out []byte, chunks [][]byte) {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(seg))
	if err != nil {
		tb.Fatal(err)
	}
	in, err := mp4.DecodeFile(bytes.NewReader(initOf(tb, rep)))
	if err != nil {
		tb.Fatal(err)
	}
	trex := in.Init.Moov.Mvex.Trex
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 {
		tb.Fatalf("simulator segment has %d segments", len(f.Segments))
	}
	frag := f.Segments[0].Fragments[0]
	samples, err := frag.GetFullSamples(trex)
	if err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if keepStyp && f.Segments[0].Styp != nil {
		if err := f.Segments[0].Styp.Encode(&buf); err != nil {
			tb.Fatal(err)
		}
	}
	per := (len(samples) + n - 1) / n
	for i := 0; i < len(samples); i += per {
		nf, err := mp4.CreateFragment(frag.Moof.Mfhd.SequenceNumber, trex.TrackID)
		if err != nil {
			tb.Fatal(err)
		}
		for _, s := range samples[i:min(i+per, len(samples))] {
			nf.AddFullSample(s)
		}
		nf.Moof.Traf.Tfdt.Version = 1
		var cb bytes.Buffer
		if err := nf.Encode(&cb); err != nil {
			tb.Fatal(err)
		}
		chunks = append(chunks, cb.Bytes())
		buf.Write(cb.Bytes())
	}
	return buf.Bytes(), chunks
}

// stream sends body as one chunked PUT, written in pieces as they come from
// parts, and returns status and body.
func (e *tenv) stream(path string, parts [][]byte, pause time.Duration, hdr ...string) (int, string) {
	e.t.Helper()
	pr, pw := io.Pipe()
	go func() {
		for _, p := range parts {
			if _, err := pw.Write(p); err != nil {
				return
			}
			if pause > 0 {
				time.Sleep(pause)
			}
		}
		pw.Close()
	}()
	return e.do(http.MethodPut, path, pr, hdr...)
}

// kSet returns the epoch indexes of keys.
func kSet(tb testing.TB, keys []string) []int64 {
	tb.Helper()
	var out []int64
	for _, k := range keys {
		o, err := layout.Parse(k)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, o.K)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
