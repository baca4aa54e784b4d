package ingest_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// fuzzHandler is a receiver over an in-memory store and an index in a
// temporary directory, with
// both inits of source "enc" pushed, so that fuzzed media segments reach
// the segment parser.
func fuzzHandler(f *testing.F) http.Handler {
	f.Helper()
	ctx := context.Background()
	dir := f.TempDir()
	store, err := cloud.Open(ctx, "mem://")
	if err != nil {
		f.Fatal(err)
	}
	db, err := index.Open(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		db.Close()
		store.Close()
	})
	// D is set so that audio segments do not wait for a video one.
	srv, err := ingest.New(archive.New(store, db, nil), ingest.Options{SegmentDuration: 2 * time.Second, MaxSegmentSize: 4 << 20})
	if err != nil {
		f.Fatal(err)
	}
	h := srv.Handler()
	for rep, ext := range map[string]string{video: "cmfv", audio: "cmfa"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/ingest/"+ch+"/enc/"+rep+"/init."+ext, bytes.NewReader(initOf(f, rep))))
		if rec.Code/100 != 2 {
			f.Fatalf("init %s: %d %s", rep, rec.Code, rec.Body)
		}
	}
	return h
}

// FuzzIngestHandler drives the ingest HTTP handler with fuzzed paths (after
// /ingest/) and bodies: it must not panic, and malformed input gets a 2xx
// or 4xx, never a 5xx. The seeds include small forms of issue 10's hostile
// bodies (nested moof, nested traf). I-MPD paths are left to the MPD
// parser's own fuzz target.
func FuzzIngestHandler(f *testing.F) {
	h := fuzzHandler(f)
	vInit, aInit := initOf(f, video), initOf(f, audio)
	vSeg, aSeg := segOf(f, video, k0), segOf(f, audio, k0)
	seg := func(rep string, n int) string { return ch + "/enc/" + rep + "/" + strings.Repeat("1", n) + ".cmfv" }
	for _, s := range []struct {
		path string
		body []byte
	}{
		{seg(video, 1), vSeg},
		{ch + "/enc/" + audio + "/2.cmfa", aSeg},
		{ch + "/enc/" + video + "/init.cmfv", vInit},
		{ch + "/enc2/" + audio + "/init.cmfa", aInit},
		{ch + "/enc/Streams(" + video + ".cmfv)", slices.Concat(vInit, vSeg, segOf(f, video, k0+1))},
		{seg(video, 2), testenv.NestedBoxes(64, "moof", "moof", nil)},
		{seg(video, 3), testenv.NestedBoxes(64, "moof", "traf", make([]byte, 8))},
		{seg(video, 4), slices.Concat(testenv.NestedBoxes(3, "moof", "traf", nil), []byte("\x00\x00\x00\x08mdat"))},
		{ch + "/enc/Streams(" + video + ".cmfv)", slices.Concat(vInit, testenv.NestedBoxes(64, "moof", "traf", make([]byte, 8)))},
		{seg(video, 5), []byte("\x00\x00\x01\x00junk")},
		{"../x/y/z.cmfv", nil},
	} {
		f.Add(s.path, s.body)
	}
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		if strings.Contains(strings.ToLower(path), ".mpd") {
			return // see the doc comment
		}
		target := "/ingest/" + path
		req, err := http.NewRequest(http.MethodPut, "http://receiver"+target, bytes.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			h.ServeHTTP(rec, req)
		}()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			stacks := make([]byte, 1<<20)
			stacks = stacks[:runtime.Stack(stacks, true)]
			t.Fatalf("PUT %q (%d bytes %q): no answer after 20 s\n%s", target, len(body), body[:min(len(body), 64)], stacks)
		}
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("PUT %q (%d bytes): %d %.500s", target, len(body), rec.Code, rec.Body)
		}
	})
}
