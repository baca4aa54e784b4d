package index

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// maxGroup is the most writes one group commit takes: a bound on the
// latency a batch adds to its last write.
const maxGroup = 128

// groupCommit gathers the writes of concurrent callers of writeGrouped
// (the recorder's per-segment rows) into shared transactions, as WAL
// databases do: while one batch commits, the writes that arrive queue up,
// and the next batch commits them all at once. There is no timer: a write
// that finds no batch running starts one at once (leader), so a lone write
// waits for nothing but its own transaction, and the batch grows with the
// load. A caller returns only once the transaction holding its write has
// committed (or with its own error).
type groupCommit struct {
	mu      sync.Mutex
	queue   []*groupOp
	leading bool // a leader runs (or is designated): the queue will be served

	stats GroupStats
}

// GroupStats is what the group commit did since Open: Batches
// transactions committed Writes writes in all (tests and benchmarks read
// them); MaxBatch is the largest batch.
type GroupStats struct {
	Batches, Writes, MaxBatch int64
}

// groupOp is one write waiting for its batch.
type groupOp struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	wake chan bool // true: lead the next batch; false: err is final
	err  error
	// taken: in a batch, or designated to lead one (it then stays queued
	// until it takes its batch): it can no longer leave on cancellation.
	taken bool
}

// GroupStats returns the group commit's counts.
func (db *DB) GroupStats() GroupStats {
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	return db.group.stats
}

// writeGrouped runs fn in a write transaction shared with the concurrent
// callers' (see groupCommit) and returns once that transaction committed:
// fn's error, if any, is returned to this caller only, and its writes are
// rolled back alone (a savepoint per write); a failed begin or commit fails
// every write of the batch. fn must use the context it is given (the
// batch's, which is not cancelled), not its caller's: a statement
// interrupted mid-way would abort the whole transaction. If ctx ends while
// the write still waits for its batch, it leaves with ctx's error, having
// written nothing.
func (db *DB) writeGrouped(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error) error {
	g := &db.group
	op := &groupOp{ctx: ctx, fn: fn, wake: make(chan bool, 1)}
	g.mu.Lock()
	g.queue = append(g.queue, op)
	lead := !g.leading
	if lead {
		g.leading, op.taken = true, true
	}
	g.mu.Unlock()
	if !lead {
		var ok bool
		if lead, ok = g.await(op); !ok {
			return ctx.Err()
		}
	}
	if lead {
		db.leadBatch()
	}
	return op.err
}

// await waits until op is either designated to lead a batch (lead) or
// done. ok is false if op's context ended first, op still queued: it then
// left the queue.
func (g *groupCommit) await(op *groupOp) (lead, ok bool) {
	select {
	case lead = <-op.wake:
		return lead, true
	case <-op.ctx.Done():
	}
	g.mu.Lock()
	if !op.taken {
		for i, q := range g.queue {
			if q == op {
				g.queue = append(g.queue[:i], g.queue[i+1:]...)
				break
			}
		}
		g.mu.Unlock()
		return false, false
	}
	g.mu.Unlock()
	return <-op.wake, true
}

// leadBatch takes the queued writes (the leader's first), commits them in
// one transaction, designates the oldest write that queued meanwhile as
// the next leader, and then releases its batch.
func (db *DB) leadBatch() {
	g := &db.group
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := make([]*groupOp, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	for _, op := range batch {
		op.taken = true
	}
	g.mu.Unlock()

	committed := db.commitBatch(batch)

	g.mu.Lock()
	if committed {
		g.stats.Batches++
		g.stats.Writes += int64(n)
		g.stats.MaxBatch = max(g.stats.MaxBatch, int64(n))
	}
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.taken = true
		next.wake <- true
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	for _, op := range batch[1:] {
		op.wake <- false
	}
}

// commitBatch runs batch's writes in one transaction and sets each one's
// err; it reports whether the transaction committed. A write whose context
// has ended is not run. A lone write runs without a savepoint, as db.write
// would run it.
func (db *DB) commitBatch(batch []*groupOp) bool {
	ctx := context.WithoutCancel(batch[0].ctx)
	failAll := func(err error) bool {
		for _, op := range batch {
			if op.err == nil {
				op.err = err
			}
		}
		return false
	}
	if err := db.checkFile(); err != nil {
		return failAll(err)
	}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return failAll(fmt.Errorf("index: begin: %w", err))
	}
	if err := db.runBatch(ctx, tx, batch); err != nil {
		_ = tx.Rollback()
		return failAll(err)
	}
	if err := tx.Commit(); err != nil {
		return failAll(fmt.Errorf("index: commit (a batch of %d writes): %w", len(batch), err))
	}
	db.writeTx.Add(1)
	return true
}

// runBatch runs batch's writes in tx, each inside a savepoint that its
// failure rolls back (a lone write: without one; its failure then fails
// the transaction). The error is the transaction's: it must not commit.
func (db *DB) runBatch(ctx context.Context, tx *sql.Tx, batch []*groupOp) error {
	if len(batch) == 1 {
		op := batch[0]
		if op.err = op.ctx.Err(); op.err == nil {
			op.err = op.fn(ctx, tx)
		}
		return op.err
	}
	for _, op := range batch {
		if op.err = op.ctx.Err(); op.err != nil {
			continue
		}
		if _, err := tx.StmtContext(ctx, db.hot.savepoint).ExecContext(ctx); err != nil {
			return fmt.Errorf("index: savepoint (a batch of %d writes): %w", len(batch), err)
		}
		if op.err = op.fn(ctx, tx); op.err != nil {
			if _, err := tx.StmtContext(ctx, db.hot.rollbackTo).ExecContext(ctx); err != nil {
				// SQLite ended the transaction (an I/O error, a full
				// disk): the batch's earlier writes are lost with it.
				return fmt.Errorf("index: a batch of %d writes rolled back after %w: %w", len(batch), op.err, err)
			}
		}
		if _, err := tx.StmtContext(ctx, db.hot.release).ExecContext(ctx); err != nil {
			return fmt.Errorf("index: release savepoint (a batch of %d writes): %w", len(batch), err)
		}
	}
	return nil
}
