package index

import (
	"context"
	"database/sql"
	"fmt"
)

// Lacking returns, as maximal inclusive ranges in K order, the indexes K in
// [max(fromK, first), toK] that have no segment row, where first is the
// track's first stored K: the holes Gaps reports plus the run after the last
// stored K up to toK. A track with no segment lacks nothing (its recording
// has not started). The pull recorder uses it to find what a source may
// still fill after a restart or an outage.
func (db *DB) Lacking(ctx context.Context, trackID, fromK, toK int64) ([]Range, error) {
	var last sql.NullInt64
	if err := db.rd().QueryRowContext(ctx, `SELECT max(k) FROM segments WHERE track_id = ?`, trackID).Scan(&last); err != nil {
		return nil, fmt.Errorf("index: last segment of %d: %w", trackID, err)
	}
	if !last.Valid || fromK > toK {
		return nil, nil
	}
	out, err := db.Gaps(ctx, trackID, fromK, toK)
	if err != nil {
		return nil, err
	}
	if tail := max(fromK, last.Int64+1); tail <= toK {
		if n := len(out); n > 0 && out[n-1].To+1 == tail {
			out[n-1].To = toK
		} else {
			out = append(out, Range{From: tail, To: toK})
		}
	}
	return out, nil
}
