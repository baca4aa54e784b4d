package index

import (
	"context"
	"database/sql"
	"errors"
	"sync"
	"testing"
	"time"
)

// holdWriter starts a grouped write that blocks inside its transaction
// until the returned release is called: the writes made meanwhile queue
// up behind it, as they do behind a running commit under load.
func holdWriter(t *testing.T, db *DB) (release func()) {
	t.Helper()
	started, unblock, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.writeGrouped(context.Background(), func(context.Context, *sql.Tx) error {
			close(started)
			<-unblock
			return nil
		})
	}()
	<-started
	var once sync.Once
	release = func() {
		once.Do(func() {
			close(unblock)
			if err := <-done; err != nil {
				t.Errorf("held write: %v", err)
			}
		})
	}
	t.Cleanup(release)
	return release
}

// awaitQueued waits until n writes wait in db's group commit queue.
func awaitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Millisecond) {
		db.group.mu.Lock()
		got := len(db.group.queue)
		db.group.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued; want %d", got, n)
		}
	}
}

// groupWrite is one RecordWith of a group commit test.
type groupWrite struct {
	k       int64
	badSrc  bool            // its delivery names no source: it fails after its segment row is written
	cancel  bool            // its context is cancelled while it waits
	wantErr error           // nil, ErrExists, context.Canceled, or errAny
	wantRow bool            // its segment row exists afterwards
	ctx     context.Context // set by the test
}

var errAny = errors.New("any error")

// TestGroupCommit: writes that arrive while a batch commits are committed
// together in the next transaction, however many there are (a lone one in
// a batch of its own: it waits for nothing but the running commit); each
// write's failure reaches it alone and rolls back its own rows only; a
// write whose context ends while it waits leaves the queue unwritten.
func TestGroupCommit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		writes    []groupWrite
		existing  []int64 // segment rows present before
		wantBatch int64   // the size of the batch after the held one
	}{
		{name: "lone write", writes: []groupWrite{{k: 1, wantRow: true}}, wantBatch: 1},
		{name: "many writes, one batch", writes: func() []groupWrite {
			ws := make([]groupWrite, 40)
			for i := range ws {
				ws[i] = groupWrite{k: int64(i + 1), wantRow: true}
			}
			return ws
		}(), wantBatch: 40},
		{name: "failures stay with their writes", existing: []int64{2}, writes: []groupWrite{
			{k: 1, wantRow: true},
			{k: 2, wantErr: ErrExists, wantRow: true}, // the earlier row stays
			{k: 3, badSrc: true, wantErr: errAny},     // row written, then its delivery fails: both rolled back
			{k: 4, wantRow: true},
		}, wantBatch: 4},
		{name: "cancelled while queued", writes: []groupWrite{
			{k: 1, wantRow: true},
			{k: 2, cancel: true, wantErr: context.Canceled},
			{k: 3, wantRow: true},
		}, wantBatch: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.insert(tc.existing...)
			release := holdWriter(t, f.db)
			before := f.db.GroupStats()
			errs := make([]chan error, len(tc.writes))
			queued := 0
			for i := range tc.writes {
				w := &tc.writes[i]
				ctx, cancel := context.WithCancel(context.Background())
				t.Cleanup(cancel)
				errs[i] = make(chan error, 1)
				seg, del := f.seg(w.k), Delivery{SourceID: f.srcA.ID, Outcome: Stored}
				if w.badSrc {
					del.SourceID = 1 << 40
				}
				go func() { errs[i] <- f.db.RecordWith(ctx, &seg, nil, del) }()
				queued++
				awaitQueued(t, f.db, queued) // in order: the batch keeps it
				if w.cancel {
					cancel()
					checkGroupErr(t, w, <-errs[i])
					queued--
					awaitQueued(t, f.db, queued)
				}
			}
			release()
			for i := range tc.writes {
				if w := &tc.writes[i]; !w.cancel {
					checkGroupErr(t, w, <-errs[i])
				}
				_, ok, err := f.db.Segment(f.ctx, f.track.ID, tc.writes[i].k)
				if err != nil || ok != tc.writes[i].wantRow {
					t.Errorf("K %d: row %v (%v); want %v", tc.writes[i].k, ok, err, tc.writes[i].wantRow)
				}
			}
			got := f.db.GroupStats()
			if b, n := got.Batches-before.Batches, got.Writes-before.Writes; b != 2 || n != tc.wantBatch+1 {
				t.Errorf("%d batches of %d writes after the held one was queued; want 2: the held write, then one of %d", b, n, tc.wantBatch)
			}
		})
	}
}

func checkGroupErr(t *testing.T, w *groupWrite, err error) {
	t.Helper()
	switch {
	case w.wantErr == errAny && err == nil, w.wantErr == nil && err != nil,
		w.wantErr != nil && w.wantErr != errAny && !errors.Is(err, w.wantErr):
		t.Errorf("K %d: %v; want %v", w.k, err, w.wantErr)
	}
}

// TestGroupCommitLoneWritesNotBatched: writes that never overlap are each
// committed at once, in a transaction of their own (a lone segment waits
// for no other).
func TestGroupCommitLoneWritesNotBatched(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	before, tx := f.db.GroupStats(), f.db.Counts().WriteTx
	for k := int64(1); k <= 5; k++ {
		seg := f.seg(k)
		if err := f.db.RecordWith(f.ctx, &seg, nil, Delivery{SourceID: f.srcA.ID, Outcome: Stored}); err != nil {
			t.Fatal(err)
		}
	}
	got := f.db.GroupStats()
	if b, n, m, txs := got.Batches-before.Batches, got.Writes-before.Writes, got.MaxBatch, f.db.Counts().WriteTx-tx; b != 5 || n != 5 || m != 1 || txs != 5 {
		t.Errorf("%d batches, %d writes, largest %d, %d transactions; want 5, 5, 1, 5", b, n, m, txs)
	}
}

// TestGroupCommitBrokenBatch: when the batch transaction itself fails (here
// a write ends it), every write of the batch fails and none is committed:
// nothing acknowledged is lost.
func TestGroupCommitBrokenBatch(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	release := holdWriter(t, f.db)
	errs := make(chan error, 3)
	for i, k := range []int64{1, 0, 2} {
		go func() {
			if k == 0 {
				errs <- f.db.writeGrouped(f.ctx, func(ctx context.Context, tx *sql.Tx) error {
					if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
						return err
					}
					return errors.New("broke the transaction")
				})
				return
			}
			seg := f.seg(k)
			errs <- f.db.RecordWith(f.ctx, &seg, nil, Delivery{SourceID: f.srcA.ID, Outcome: Stored})
		}()
		awaitQueued(t, f.db, i+1)
	}
	release()
	for range 3 {
		if err := <-errs; err == nil {
			t.Error("a write of the broken batch succeeded")
		}
	}
	for _, k := range []int64{1, 2} {
		if _, ok, err := f.db.Segment(f.ctx, f.track.ID, k); err != nil || ok {
			t.Errorf("K %d: row %v (%v); want none", k, ok, err)
		}
	}
}
