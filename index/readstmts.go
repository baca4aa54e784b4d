package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
)

// idArg is the parameter of an ID compared in a reader statement that
// sorts, groups or joins: "track_id = "+idArg. Since SQLite 3.54 a plan may
// depend on whether a bare parameter compared there is 0 or 1, and SQLite
// then prepares the statement again whenever the value changes to or from
// 0 or 1; 1 is the ID of the first channel and of its first track, so a
// live build over 8 tracks prepared such a read again for nearly every
// track. SQLite does not look into an expression of the parameter, and
// "? + 0" is the same integer (TestLiveReadsNotRecompiled).
const idArg = "(? + 0)"

// readStmts are prepared statements of the reader pool by their SQL text,
// made on first use and closed by Close. The live origin runs the same
// few reads for every manifest build, and compiling their text was a
// third of a warm build (BENCHMARKS.md, origin). Only constant SQL text
// goes through it.
type readStmts struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

// stmt is the reader statement of text, prepared once.
func (db *DB) stmt(ctx context.Context, text string) (*sql.Stmt, error) {
	rs := &db.reads
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if st, ok := rs.m[text]; ok {
		return st, nil
	}
	st, err := db.reader.PrepareContext(ctx, text)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	if rs.m == nil {
		rs.m = map[string]*sql.Stmt{}
	}
	rs.m[text] = st
	return st, nil
}

// query runs the reader statement text.
func (db *DB) query(ctx context.Context, text string, args ...any) (*sql.Rows, error) {
	st, err := db.stmt(ctx, text)
	if err != nil {
		return nil, err
	}
	return db.onSnap(ctx, st).QueryContext(ctx, args...)
}

// queryRow runs the reader statement text for one row.
func (db *DB) queryRow(ctx context.Context, text string, args ...any) rowScanner {
	st, err := db.stmt(ctx, text)
	if err != nil {
		return errRow{err}
	}
	return db.onSnap(ctx, st).QueryRowContext(ctx, args...)
}

// txQueryRow runs the reader statement text for one row in tx, a
// transaction of the reader pool.
func (db *DB) txQueryRow(ctx context.Context, tx *sql.Tx, text string, args ...any) rowScanner {
	st, err := db.stmt(ctx, text)
	if err != nil {
		return errRow{err}
	}
	return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
}

// rowScanner is a *sql.Row, or errRow.
type rowScanner interface{ Scan(dest ...any) error }

// errRow is a row whose statement could not be prepared.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// close closes the statements.
func (rs *readStmts) close() error {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var errs []error
	for _, st := range rs.m {
		errs = append(errs, st.Close())
	}
	rs.m = nil
	return errors.Join(errs...)
}
