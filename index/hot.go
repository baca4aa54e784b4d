package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SQL of the statements the recorder runs per segment.
const (
	selectSegmentSQL = `SELECT ` + segCols + ` FROM segments WHERE track_id = ? AND k = ?`
	insertEventSQL   = `INSERT INTO events
(track_id, scheme, value, id, k, version, timescale, presentation_time, duration, message, start_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (track_id, scheme, value, id) DO UPDATE SET k = min(k, excluded.k)`
	deleteTextIssuesSQL = `DELETE FROM text_issues WHERE track_id = ? AND k = ?`
	insertTextIssueSQL  = `INSERT INTO text_issues (track_id, k, seq, kind, detail) VALUES (?, ?, ?, ?, ?)`
)

// hotStmts are the statements the recorder runs for every segment,
// prepared once per DB (Open) and closed by Close: compiling their SQL text
// on every call was a visible share of the ingest profile (BENCHMARKS.md).
// segment runs on the reader pool (database/sql prepares it once per pooled
// connection and keeps it); the others run on the writer, inside
// transactions through tx.StmtContext.
type hotStmts struct {
	segment     *sql.Stmt
	insSegment  *sql.Stmt
	insDelivery *sql.Stmt
	insEvent    *sql.Stmt
	delText     *sql.Stmt
	insText     *sql.Stmt
	// a savepoint per write of a group commit (writeGrouped)
	savepoint, rollbackTo, release *sql.Stmt
}

// prepareHot prepares db's hot statements.
func (db *DB) prepareHot(ctx context.Context) error {
	type prep struct {
		dst  **sql.Stmt
		on   *sql.DB
		text string
	}
	for _, p := range []prep{
		{&db.hot.segment, db.reader, selectSegmentSQL},
		{&db.hot.insSegment, db.writer, insertSegmentSQL + ` ON CONFLICT(track_id, k) DO NOTHING`},
		{&db.hot.insDelivery, db.writer, insertDeliverySQL},
		{&db.hot.insEvent, db.writer, insertEventSQL},
		{&db.hot.delText, db.writer, deleteTextIssuesSQL},
		{&db.hot.insText, db.writer, insertTextIssueSQL},
		{&db.hot.savepoint, db.writer, `SAVEPOINT grouped`},
		{&db.hot.rollbackTo, db.writer, `ROLLBACK TO grouped`},
		{&db.hot.release, db.writer, `RELEASE grouped`},
	} {
		st, err := p.on.PrepareContext(ctx, p.text)
		if err != nil {
			return fmt.Errorf("index: prepare: %w", err)
		}
		*p.dst = st
	}
	return nil
}

// close closes the prepared statements.
func (h *hotStmts) close() error {
	var errs []error
	for _, st := range []*sql.Stmt{h.segment, h.insSegment, h.insDelivery, h.insEvent, h.delText, h.insText,
		h.savepoint, h.rollbackTo, h.release} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}
