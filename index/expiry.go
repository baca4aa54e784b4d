package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Expiry is where a pruned track's archive starts: segment rows with
// K < StartK, outside the active holds, are expiring (their objects are
// being or have been deleted; LAYOUT.md, Retention and deletion order).
type Expiry struct {
	StartK  int64
	Horizon time.Time // the wall-clock time that set StartK
}

// MarkExpiring makes startK the start of the track's archive (step 1 of a
// prune): the rows below it become expiring. The start never moves back: a
// smaller startK than the one recorded changes nothing.
func (db *DB) MarkExpiring(ctx context.Context, trackID, startK int64, horizon time.Time) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO expiry (track_id, start_k, horizon) VALUES (?, ?, ?)
ON CONFLICT (track_id) DO UPDATE SET start_k = excluded.start_k, horizon = excluded.horizon
WHERE excluded.start_k > expiry.start_k`, trackID, startK, nanos(horizon))
		if err != nil {
			return fmt.Errorf("index: mark track %d expiring below K %d: %w", trackID, startK, err)
		}
		return nil
	})
}

// Expiry returns where the track's archive starts; ok is false for a
// track never pruned.
func (db *DB) Expiry(ctx context.Context, trackID int64) (e Expiry, ok bool, err error) {
	var h int64
	err = db.rd().QueryRowContext(ctx, `SELECT start_k, horizon FROM expiry WHERE track_id = ?`, trackID).Scan(&e.StartK, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return Expiry{}, false, nil
	}
	if err != nil {
		return Expiry{}, false, fmt.Errorf("index: expiry of track %d: %w", trackID, err)
	}
	e.Horizon = fromNanos(h)
	return e, true, nil
}

// RemoveExpired deletes what the index holds of the track's K in
// [fromK, toK] (step 3 of a prune, after their objects are deleted): the
// segment rows, their deliveries, events, text issues and splice history
// (fillers: DeleteFillers). It returns the number of segment rows deleted.
func (db *DB) RemoveExpired(ctx context.Context, trackID, fromK, toK int64) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"segments", "deliveries", "events", "text_issues", "segment_history"} {
			res, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE track_id = ? AND k BETWEEN ? AND ?`, trackID, fromK, toK)
			if err != nil {
				return fmt.Errorf("index: remove expired %s of track %d K %d-%d: %w", table, trackID, fromK, toK, err)
			}
			if table == "segments" {
				n, _ = res.RowsAffected()
			}
		}
		return nil
	})
	return n, err
}

// UsedInits returns the IDs of the track's inits that a segment row with
// K >= fromK, or in one of the ranges kept, decodes with.
func (db *DB) UsedInits(ctx context.Context, trackID, fromK int64, kept []Range) (map[int64]bool, error) {
	used := map[int64]bool{}
	add := func(lo, hi int64) error {
		rows, err := db.rd().QueryContext(ctx, `SELECT DISTINCT coalesce(init_id, 0) FROM segments WHERE track_id = ? AND k BETWEEN ? AND ?`, trackID, lo, hi)
		if err != nil {
			return fmt.Errorf("index: inits in use by track %d: %w", trackID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return fmt.Errorf("index: inits in use by track %d: %w", trackID, err)
			}
			used[id] = true
		}
		return rows.Err()
	}
	if err := add(fromK, 1<<62); err != nil {
		return nil, err
	}
	for _, r := range kept {
		if err := add(r.From, r.To); err != nil {
			return nil, err
		}
	}
	return used, nil
}

// DeleteInit deletes an init row that no segment row decodes with.
func (db *DB) DeleteInit(ctx context.Context, id int64) error {
	_, err := db.writer.ExecContext(ctx, `DELETE FROM inits WHERE id = ? AND NOT EXISTS (SELECT 1 FROM segments WHERE init_id = ?)`, id, id)
	if err != nil {
		return fmt.Errorf("index: delete init %d: %w", id, err)
	}
	return nil
}

// DeleteSplice deletes a splice row, its history and its inits (a splice
// whose range has expired entirely).
func (db *DB) DeleteSplice(ctx context.Context, id string) error {
	_, err := db.writer.ExecContext(ctx, `DELETE FROM splices WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("index: delete splice %s: %w", id, err)
	}
	return nil
}

// SegmentCount is the number of the track's segment rows with
// fromK <= K <= toK.
func (db *DB) SegmentCount(ctx context.Context, trackID, fromK, toK int64) (int64, error) {
	var n int64
	err := db.rd().QueryRowContext(ctx, `SELECT count(*) FROM segments WHERE track_id = ? AND k BETWEEN ? AND ?`, trackID, fromK, toK).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("index: segments of track %d: %w", trackID, err)
	}
	return n, nil
}

// LastK is the track's last stored K; ok is false when it has none.
func (db *DB) LastK(ctx context.Context, trackID int64) (k int64, ok bool, err error) {
	var last sql.NullInt64
	if err := db.rd().QueryRowContext(ctx, `SELECT max(k) FROM segments WHERE track_id = ?`, trackID).Scan(&last); err != nil {
		return 0, false, fmt.Errorf("index: last K of track %d: %w", trackID, err)
	}
	return last.Int64, last.Valid, nil
}

// DeleteFillers deletes the track's filler rows with fromK <= K <= toK
// (after their objects are deleted).
func (db *DB) DeleteFillers(ctx context.Context, trackID, fromK, toK int64) error {
	_, err := db.writer.ExecContext(ctx, `DELETE FROM fillers WHERE track_id = ? AND k BETWEEN ? AND ?`, trackID, fromK, toK)
	if err != nil {
		return fmt.Errorf("index: delete fillers of track %d: %w", trackID, err)
	}
	return nil
}

// SizeBelow is the total size of the track's segment rows with K < k.
func (db *DB) SizeBelow(ctx context.Context, trackID, k int64) (int64, error) {
	var n int64
	if err := db.rd().QueryRowContext(ctx, `SELECT coalesce(sum(size), 0) FROM segments WHERE track_id = ? AND k < ?`, trackID, k).Scan(&n); err != nil {
		return 0, fmt.Errorf("index: size of track %d below K %d: %w", trackID, k, err)
	}
	return n, nil
}
