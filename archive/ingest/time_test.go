package ingest_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
)

// startArchive is start over a given store (nil: a file store in the test's
// directory), with the archive configured by setup before the listener serves.
func startArchive(t *testing.T, opts ingest.Options, store func(*cloud.Store) *cloud.Store, setup func(*archive.Archive)) *tenv {
	t.Helper()
	ctx := context.Background()
	e := &tenv{t: t, dir: t.TempDir(), done: make(chan error, 1)}
	var err error
	if e.store, err = cloud.Open(ctx, "file://"+filepath.ToSlash(filepath.Join(e.dir, "store"))); err != nil {
		t.Fatal(err)
	}
	if e.db, err = index.Open(ctx, filepath.Join(e.dir, "index.db")); err != nil {
		t.Fatal(err)
	}
	st := e.store
	if store != nil {
		st = store(e.store)
	}
	e.ar = archive.New(st, e.db, nil)
	if setup != nil {
		setup(e.ar)
	}
	if e.srv, err = ingest.New(e.ar, opts); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	e.base = "http://" + e.addr
	sctx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	go func() { e.done <- e.srv.Serve(sctx, ln) }()
	e.client = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(func() {
		e.stop()
		e.client.CloseIdleConnections()
		e.db.Close()
		e.store.Close()
	})
	return e
}

// withTfdt returns a simulator segment with its tfdt set to tfdt.
func withTfdt(tb testing.TB, seg []byte, tfdt uint64) []byte {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(seg))
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range f.Segments {
		for _, fr := range s.Fragments {
			fr.Moof.Traf.Tfdt.Version = 1
			fr.Moof.Traf.Tfdt.SetBaseMediaDecodeTime(tfdt)
		}
	}
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// TestIngestImplausibleTime: a segment whose time cannot be represented
// (tfdt >= 2^63) or lies far from the recorder's clock (1970, the year 3000)
// gets a 4xx naming the time, and nothing is written to the store; status
// afterwards describes only the plausible segment.
func TestIngestImplausibleTime(t *testing.T) {
	t.Parallel()
	kNow := time.Now().Unix() / 2 // D = 2 s
	const k3000 = int64(32503680000 / 2)
	for _, tc := range []struct {
		name  string
		skew  time.Duration
		seg   func(t *testing.T) []byte
		want  string // in the 400 answer
		wantK int64  // the K in the index besides kNow, or -1
	}{
		{"tfdt 2^63", archive.DefaultMaxTimeSkew, func(t *testing.T) []byte { return withTfdt(t, segOf(t, video, kNow), 1<<63) }, "9223372036854775808 is over 2^63-1", -1},
		{"tfdt 2^63 without a window", 0, func(t *testing.T) []byte { return withTfdt(t, segOf(t, video, kNow), 1<<63) }, "9223372036854775808 is over 2^63-1", -1},
		{"tfdt max uint64", 0, func(t *testing.T) []byte { return withTfdt(t, segOf(t, video, kNow), 1<<64-1) }, "overflows 64 bits", -1},
		{"tfdt 0", archive.DefaultMaxTimeSkew, func(t *testing.T) []byte { return segOf(t, video, 0) }, "1970-01-01T00:00:00Z, more than 24h0m0s from the recorder's clock", -1},
		{"year 3000", archive.DefaultMaxTimeSkew, func(t *testing.T) []byte { return segOf(t, video, k3000) }, "3000-01-01T00:00:00Z, more than 24h0m0s", -1},
		{"two days ago", archive.DefaultMaxTimeSkew, func(t *testing.T) []byte { return segOf(t, video, kNow-2*43200) }, "from the recorder's clock", -1},
		{"year 3000 without a window", 0, func(t *testing.T) []byte { return segOf(t, video, k3000) }, "", k3000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := startArchive(t, ingest.Options{SegmentDuration: 2 * time.Second}, nil, func(a *archive.Archive) { a.MaxTimeSkew = tc.skew })
			e.pushInits("enc")
			before := e.allKeys()
			path := "/ingest/" + ch + "/enc/" + video + "/seg.cmfv"
			code, msg := e.put(path, tc.seg(t))
			if tc.want == "" {
				if code != http.StatusCreated {
					t.Fatalf("PUT: %d %s; want 201", code, msg)
				}
			} else {
				if code != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
					t.Fatalf("PUT: %d %q; want 400 naming %q", code, msg, tc.want)
				}
				if after := e.allKeys(); len(after) != len(before) {
					t.Fatalf("store after the refused segment: %v; before: %v", after, before)
				}
			}
			e.mustPut(path, segOf(t, video, kNow))
			// Status visits the stored segments, not the K between them.
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			st, err := e.ar.Status(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			tr := st.Channels[0].Tracks
			var vt archive.TrackStatus
			for _, x := range tr {
				if x.Rep == video {
					vt = x
				}
			}
			wantFirst, wantLast, wantN, wantGaps := kNow, kNow, int64(1), 0
			if tc.wantK >= 0 {
				wantFirst, wantLast, wantN, wantGaps = min(kNow, tc.wantK), max(kNow, tc.wantK), 2, 1
			}
			if vt.First != wantFirst || vt.Last != wantLast || vt.Segments != wantN || len(vt.Gaps) != wantGaps {
				t.Fatalf("status: first %d last %d, %d segments, gaps %v; want %d %d %d, %d gaps", vt.First, vt.Last, vt.Segments, vt.Gaps, wantFirst, wantLast, wantN, wantGaps)
			}
		})
	}
}
