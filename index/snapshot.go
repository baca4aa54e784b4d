package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Snapshot is db whose reads all run in one read transaction: they see
// the index as the first of them found it, whatever writers commit
// meanwhile. A live manifest build reads the index some twenty times; in
// a Snapshot it takes SQLite's WAL read lock once (two fcntl calls) rather
// than for each read, and its reads agree with each other. Writes through
// it go to the writer as through db, and its reads do not see them. Close
// ends it (not db), and it must not be used after that; it is for one
// goroutine at a time. ctx bounds the transaction.
func (db *DB) Snapshot(ctx context.Context) (*DB, error) {
	if db.snap != nil {
		return nil, fmt.Errorf("index: snapshot: already a snapshot")
	}
	tx, _, err := db.readTx(ctx) // Close ends it
	if err != nil {
		return nil, fmt.Errorf("index: snapshot: %w", err)
	}
	return &DB{conns: db.conns, snap: tx}, nil
}

// endSnapshot ends a Snapshot's read transaction.
func (db *DB) endSnapshot() error {
	if err := db.snap.Rollback(); err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("index: snapshot: %w", err)
	}
	return nil
}

// rd is what a read of db runs on: the Snapshot's transaction, or the
// reader pool.
func (db *DB) rd() querier {
	if db.snap != nil {
		return db.snap
	}
	return db.reader
}

// readTx is a read transaction for reads that must agree: the Snapshot's
// own, or a new one of the reader pool. end ends a new one (of a Snapshot:
// nothing).
func (db *DB) readTx(ctx context.Context) (tx *sql.Tx, end func(), err error) {
	if db.snap != nil {
		return db.snap, func() {}, nil
	}
	if tx, err = db.reader.BeginTx(ctx, &sql.TxOptions{ReadOnly: true}); err != nil {
		return nil, nil, err
	}
	return tx, func() { _ = tx.Rollback() }, nil //nolint:errcheck // read-only
}

// onSnap is st, a statement of the reader pool, in db's Snapshot if db
// is one.
func (db *DB) onSnap(ctx context.Context, st *sql.Stmt) *sql.Stmt {
	if db.snap != nil {
		return db.snap.StmtContext(ctx, st)
	}
	return st
}
