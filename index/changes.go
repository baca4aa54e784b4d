package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// The change log's trimming (schema version 9, whose trigger spells the
// numbers out): every changeLogTrim-th change deletes the changes older
// than the newest changeLogKeep.
const (
	changeLogTrim = 1024
	changeLogKeep = 65536
)

// SegmentChange is a change of the segment rows (TrackID, K) to
// (TrackID, ToK): inserted, updated or deleted (a row trigger logs one K,
// ToK = K; a bulk insert the K range it wrote of a track). Seq orders the
// changes of an index.
type SegmentChange struct {
	Seq, TrackID, K, ToK int64
}

// Changes is what SegmentChanges read: the changes after a seq, and the
// newest seq of the log (the seq to ask from next time).
type Changes struct {
	List []SegmentChange
	Head int64
	// Complete is false when the log no longer holds every change after
	// the seq asked from (it was trimmed past it, it has more than the
	// limit, or the index is another one whose log is behind it): the
	// reader must read its rows again.
	Complete bool
}

// SegmentChanges reads the change log of segment rows after seq, written
// by triggers in every writer's transaction (any process): a reader that
// holds rows applies the changes instead of reading the rows again. At
// most limit changes are returned (more: Complete is false). A seq < 0
// asks for the head only (a reader about to read its rows).
func (db *DB) SegmentChanges(ctx context.Context, seq int64, limit int) (Changes, error) {
	tx, end, err := db.readTx(ctx)
	if err != nil {
		return Changes{}, fmt.Errorf("index: segment changes: %w", err)
	}
	defer end()
	var c Changes
	var floor int64
	if floor, c.Head, err = db.changesHead(ctx, tx); err != nil {
		return Changes{}, err
	}
	if seq < 0 || seq < floor || seq > c.Head || c.Head-seq > int64(limit) {
		return c, nil
	}
	if c.List, err = db.readChanges(ctx, tx, seq, c.Head); err != nil {
		return Changes{}, err
	}
	c.Complete = true
	return c, nil
}

// changesHead is the change log's floor (changes up to it are trimmed)
// and head (its newest seq).
func (db *DB) changesHead(ctx context.Context, tx *sql.Tx) (floor, head int64, err error) {
	err = db.txQueryRow(ctx, tx, `SELECT floor, coalesce((SELECT max(seq) FROM segment_changes), floor) FROM segment_changes_floor`).Scan(&floor, &head)
	if err != nil {
		return 0, 0, fmt.Errorf("index: segment changes: %w", err)
	}
	return floor, head, nil
}

// ChangeSpan is what the change log names of some tracks' rows at or
// below a K after a seq (SegmentChangeSpan).
type ChangeSpan struct {
	Head int64 // the newest seq: the seq to ask from next time
	// Complete is false when the log no longer holds every change after
	// the seq asked from (as in Changes).
	Complete bool
	// Low and High are, per track with such a change, the lowest K and
	// the highest K at or below the K asked up to that they name.
	Low, High map[int64]int64
}

// SegmentChangeSpan is, in one query, the changes of the rows of trackIDs
// at or below K upTo after seq, per track the lowest and the highest K
// they name: a
// reader that holds what it derived from those rows keeps it when no
// change reaches up to the rows it read (the origin's live Periods). A
// seq < 0 asks for the head only.
func (db *DB) SegmentChangeSpan(ctx context.Context, seq int64, trackIDs []int64, upTo int64) (ChangeSpan, error) {
	tx, end, err := db.readTx(ctx)
	if err != nil {
		return ChangeSpan{}, fmt.Errorf("index: segment change span: %w", err)
	}
	defer end()
	var c ChangeSpan
	floor, head, err := db.changesHead(ctx, tx)
	if err != nil || seq < 0 || seq < floor || seq > head {
		return ChangeSpan{Head: head}, err
	}
	c.Head, c.Complete, c.Low, c.High = head, true, map[int64]int64{}, map[int64]int64{}
	if seq == head || len(trackIDs) == 0 {
		return c, nil
	}
	args := []any{upTo, seq, head, upTo}
	for _, id := range trackIDs {
		args = append(args, id)
	}
	rows, err := tx.QueryContext(ctx, `SELECT track_id, min(k), max(min(to_k, ?)) FROM segment_changes WHERE seq > ? AND seq <= ? AND k <= ?
AND track_id IN (?`+strings.Repeat(", ?", len(trackIDs)-1)+`) GROUP BY track_id`, args...)
	if err != nil {
		return ChangeSpan{}, fmt.Errorf("index: segment change span: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, low, high int64
		if err := rows.Scan(&id, &low, &high); err != nil {
			return ChangeSpan{}, fmt.Errorf("index: segment change span: %w", err)
		}
		c.Low[id], c.High[id] = low, high
	}
	if err := rows.Err(); err != nil {
		return ChangeSpan{}, fmt.Errorf("index: segment change span: %w", err)
	}
	return c, nil
}

// readChanges reads the changes of (seq, head].
func (db *DB) readChanges(ctx context.Context, tx *sql.Tx, seq, head int64) ([]SegmentChange, error) {
	st, err := db.stmt(ctx, `SELECT seq, track_id, k, to_k FROM segment_changes WHERE seq > ? AND seq <= ? ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("index: segment changes: %w", err)
	}
	rows, err := tx.StmtContext(ctx, st).QueryContext(ctx, seq, head)
	if err != nil {
		return nil, fmt.Errorf("index: segment changes: %w", err)
	}
	defer rows.Close()
	var out []SegmentChange
	for rows.Next() {
		var c SegmentChange
		if err := rows.Scan(&c.Seq, &c.TrackID, &c.K, &c.ToK); err != nil {
			return nil, fmt.Errorf("index: segment changes: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: segment changes: %w", err)
	}
	return out, nil
}

// bulkLogRows is the size from which an insert batch logs K ranges
// instead of a change per row: its transaction drops the row triggers
// (a schema change, which costs every connection a new prepare of its
// statements, so small batches keep them).
const bulkLogRows = 256

// quietChanges drops the change log's row triggers for the rest of tx
// and returns their text, for logRanges to create them again.
func quietChanges(ctx context.Context, tx *sql.Tx) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'segments' ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("index: change log: %w", err)
	}
	var names, texts []string
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			rows.Close()
			return nil, fmt.Errorf("index: change log: %w", err)
		}
		names, texts = append(names, name), append(texts, text)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return nil, fmt.Errorf("index: change log: %w", err)
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP TRIGGER "`+name+`"`); err != nil {
			return nil, fmt.Errorf("index: change log: %w", err)
		}
	}
	return texts, nil
}

// logRanges creates the row triggers again from their text and logs, per
// track of segs (sorted by track and K), the K range from its first to
// its last.
func logRanges(ctx context.Context, tx *sql.Tx, segs []Segment, triggers []string) error {
	for _, text := range triggers {
		if _, err := tx.ExecContext(ctx, text); err != nil {
			return fmt.Errorf("index: change log: %w", err)
		}
	}
	for i := 0; i < len(segs); {
		j := i
		for j+1 < len(segs) && segs[j+1].TrackID == segs[i].TrackID {
			j++
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO segment_changes (track_id, k, to_k) VALUES (?, ?, ?)`, segs[i].TrackID, segs[i].K, segs[j].K); err != nil {
			return fmt.Errorf("index: change log: %w", err)
		}
		i = j + 1
	}
	return nil
}
