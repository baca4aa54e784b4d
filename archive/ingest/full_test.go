package ingest_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/ingest"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
)

// putStatus PUTs body and returns the status, the Retry-After header and
// the answer.
func (e *tenv) putStatus(path string, body []byte) (int, string, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPut, e.base+path, strings.NewReader(string(body)))
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("PUT %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), strings.TrimSpace(string(b))
}

// TestIngestStorageFull: a full store disk (ENOSPC, EDQUOT) answers 503
// with Retry-After, not 500; once space is back, the retried segment is
// stored, and counted as stored, not as a duplicate of itself.
func TestIngestStorageFull(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"ENOSPC", &fs.PathError{Op: "write", Path: "news/video/888000000.m4s.18a3c0ffee123456.tmp", Err: syscall.ENOSPC}},
		{"EDQUOT", &fs.PathError{Op: "write", Path: "news/video/888000000.m4s.18a3c0ffee123456.tmp", Err: syscall.EDQUOT}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var full atomic.Bool
			e := startArchive(t, ingest.Options{}, func(st *cloud.Store) *cloud.Store {
				st.InjectFaults(func(op string) error {
					if full.Load() && (op == "create" || op == "put") {
						return tc.err
					}
					return nil
				})
				return st
			}, nil)
			e.pushInits("enc")
			full.Store(true)
			path := "/ingest/" + ch + "/enc/" + video + "/seg.cmfv"
			code, retry, msg := e.putStatus(path, segOf(t, video, k0))
			if code != http.StatusServiceUnavailable || retry == "" || !strings.Contains(msg, tc.err.(*fs.PathError).Err.Error()) {
				t.Fatalf("PUT on a full disk: %d (Retry-After %q) %q; want 503 with Retry-After naming the cause", code, retry, msg)
			}
			full.Store(false)
			if code, _, msg := e.putStatus(path, segOf(t, video, k0)); code != http.StatusCreated {
				t.Fatalf("PUT once space is back: %d %q; want 201", code, msg)
			}
			if got := e.deliveries(video, k0); len(got) != 1 || got["enc"] != index.Stored {
				t.Fatalf("deliveries %v; want one stored", got)
			}
		})
	}
}

// TestIngestRetryAfterIndexFailure: a segment whose object was stored but
// whose index write failed (the encoder got a 500) and that the encoder
// then sends again is recorded as stored, not as a duplicate of itself;
// another source's copy is still a duplicate.
func TestIngestRetryAfterIndexFailure(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := startArchive(t, ingest.Options{}, nil, nil)
	e.pushInits("enc")
	e.pushInits("other")
	// The failed attempt: the object is in the store (written through
	// another index), this receiver's index has neither row nor delivery.
	lost, err := index.Open(ctx, filepath.Join(e.dir, "lost.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lost.Close()
	lch, err := archive.New(e.store, lost, nil).OpenChannel(ctx, ch, 0)
	if err != nil {
		t.Fatal(err)
	}
	seg := segOf(t, video, k0)
	if _, err := lch.OfferInit(ctx, "enc", video, initOf(t, video), false); err != nil {
		t.Fatal(err)
	}
	if _, err := lch.OfferSegment(ctx, archive.Offer{Source: "enc", Rep: video, Data: seg, ExpectK: k0}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		source string
		want   index.Outcome
	}{
		{"enc", index.Stored},
		{"other", index.Duplicate},
	} {
		code, _, msg := e.putStatus("/ingest/"+ch+"/"+tc.source+"/"+video+"/seg.cmfv", seg)
		if code/100 != 2 || !strings.HasPrefix(msg, string(tc.want)) {
			t.Errorf("%s: PUT: %d %q; want 2xx %s", tc.source, code, msg, tc.want)
		}
	}
	if got := e.deliveries(video, k0); len(got) != 2 || got["enc"] != index.Stored || got["other"] != index.Duplicate {
		t.Errorf("deliveries %v; want enc stored, other duplicate", got)
	}
	if row, ok := e.segmentRow(video, k0); !ok || row.SourceID == 0 {
		t.Errorf("segment row %+v, %v; want one naming its source", row, ok)
	}
}

// TestIngestIndexDeleted: once the index file is deleted under a running
// receiver, pushes are answered 503 with Retry-After (nothing is
// acknowledged into the unlinked file), and Watch reports it.
func TestIngestIndexDeleted(t *testing.T) {
	t.Parallel()
	e := startArchive(t, ingest.Options{}, nil, nil)
	e.pushInits("enc")
	e.mustPut("/ingest/"+ch+"/enc/"+video+"/seg.cmfv", segOf(t, video, k0))
	watch := make(chan error, 1)
	wctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { watch <- e.db.Watch(wctx, 50*time.Millisecond) }()
	if err := os.Remove(filepath.Join(e.dir, "index.db")); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int64{k0 + 1, k0 + 2} {
		code, retry, msg := e.putStatus("/ingest/"+ch+"/enc/"+video+"/seg.cmfv", segOf(t, video, k))
		if code != http.StatusServiceUnavailable || retry == "" || !strings.Contains(msg, "deleted") {
			t.Errorf("K %d after the index was deleted: %d (Retry-After %q) %q; want 503 naming the deleted index", k, code, retry, msg)
		}
	}
	select {
	case err := <-watch:
		if !errors.Is(err, index.ErrLost) {
			t.Errorf("Watch: %v; want ErrLost", err)
		}
	case <-time.After(10 * time.Second):
		t.Error("Watch did not notice the deleted index within 10 s")
	}
}
