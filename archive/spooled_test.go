package archive_test

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive/spool"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/reconcile"
	"github.com/reaparchive/reaparchive/simulate"
)

// deadStore is an s3:// store whose server is gone (nothing listens on its
// port), with a short retry budget.
func deadStore(t *testing.T) *cloud.Store {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	st, err := cloud.Open(context.Background(), "s3://b?anonymous=true&region=us-east-1&use_path_style=true&endpoint=http://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	st.SetRetry(cloud.RetryPolicy{Initial: 10 * time.Millisecond, Max: 20 * time.Millisecond, Budget: 50 * time.Millisecond, AttemptTimeout: 5 * time.Second})
	return st
}

// TestOfferSegmentSpoolsWhileStoreUnreachable: with the store unreachable,
// a segment is acknowledged once spooled (stored, not yet indexed), a later
// copy of its K is a duplicate (not stored twice), later segments queue
// behind it, and once the store is back the spool is uploaded in order and
// indexed: verify is clean and the spool empty.
func TestOfferSegmentSpoolsWhileStoreUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"), 1<<30, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.a.Spool = sp
	good := e.a.Store
	e.a.Store = deadStore(t)
	for k := k0 + 1; k <= k0+3; k++ {
		for _, rep := range reps {
			res := e.Offer(t, "a", sim, rep, k)
			if res.Outcome != index.Stored || res.Detail != "spooled" {
				t.Fatalf("%s %d while the store is down: %+v; want stored, spooled", rep, k, res)
			}
			if res := e.Offer(t, "b", sim, rep, k); res.Outcome != index.Duplicate {
				t.Fatalf("second copy of spooled %s %d: %s; want duplicate", rep, k, res.Outcome)
			}
			if _, ok := e.Segment(t, rep, k); ok {
				t.Fatalf("%s %d indexed before it is in the store", rep, k)
			}
		}
	}
	if sp.Len() != 6 {
		t.Fatalf("%d spooled; want 6", sp.Len())
	}
	if err := e.a.DrainSpool(ctx); err == nil {
		t.Fatal("DrainSpool with the store still down: no error")
	}
	e.a.Store = good // the store is back
	if err := e.a.DrainSpool(ctx); err != nil {
		t.Fatal(err)
	}
	if sp.Len() != 0 || sp.Bytes() != 0 {
		t.Errorf("spool after drain: %d entries, %d bytes", sp.Len(), sp.Bytes())
	}
	for k := k0 + 1; k <= k0+3; k++ {
		for _, rep := range reps {
			seg, ok := e.Segment(t, rep, k)
			if !ok {
				t.Errorf("%s %d not indexed after the drain", rep, k)
				continue
			}
			if !bytes.Equal(e.Get(t, seg.Key), testenv.MustSeg(t, sim, rep, k)) {
				t.Errorf("%s: stored bytes differ", seg.Key)
			}
			n := 0
			for _, d := range e.deliveries(t, rep, k) {
				if d.Outcome == index.Stored {
					n++
				}
			}
			if n != 1 {
				t.Errorf("%s %d: %d stored deliveries; want 1", rep, k, n)
			}
		}
	}
	// Now the store takes segments directly again.
	if res := e.Offer(t, "a", sim, reps[0], k0+4); res.Outcome != index.Stored || res.Detail != "" {
		t.Errorf("after the drain: %+v", res)
	}
	rep, err := reconcile.Verify(ctx, e.store, e.db, reconcile.VerifyOptions{ReadData: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Mismatches != 0 {
		t.Errorf("verify: %+v", rep.Channels)
	}
}

// TestSpoolUploadFindsOwnObject: an upload whose answer was lost (or a
// crash after the upload, before the entry was removed) finds the object
// already there; it is ours (same reap-sha256), so it is indexed as stored.
func TestSpoolUploadFindsOwnObject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k0, k0)
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	e.a.Spool = sp
	good := e.a.Store
	e.a.Store = deadStore(t)
	e.Offer(t, "a", sim, reps[0], k0+1)
	e.a.Store = good
	// Upload it behind the spool's back, as the lost attempt did.
	var entry *spool.Entry
	if err := sp.Drain(ctx, func(_ context.Context, en *spool.Entry, data []byte) error {
		entry = en
		if err := good.Create(ctx, en.Key, data, en.Meta); err != nil {
			t.Fatal(err)
		}
		return context.DeadlineExceeded // "lost"
	}); err == nil || entry == nil {
		t.Fatal("no upload attempt")
	}
	if err := e.a.DrainSpool(ctx); err != nil {
		t.Fatalf("drain finding our own object: %v", err)
	}
	if _, ok := e.Segment(t, reps[0], k0+1); !ok || sp.Len() != 0 {
		t.Errorf("indexed %v, %d left spooled", ok, sp.Len())
	}
}
