package index

import (
	"context"
	"database/sql"
	"fmt"
)

// StoredSpan returns the first and the last stored K of the track with
// fromK <= K <= toK (two index seeks), and false when it has none there.
// With Gaps over the same range it gives the track's recorded runs at a cost
// that follows the holes, not the segments (the origin's timeline page).
func (db *DB) StoredSpan(ctx context.Context, trackID, fromK, toK int64) (Range, bool, error) {
	var first, last sql.NullInt64
	err := db.rd().QueryRowContext(ctx, `SELECT
	(SELECT min(k) FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3),
	(SELECT max(k) FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3)`, trackID, fromK, toK).Scan(&first, &last)
	if err != nil {
		return Range{}, false, fmt.Errorf("index: span of %d: %w", trackID, err)
	}
	if !first.Valid {
		return Range{}, false, nil
	}
	return Range{From: first.Int64, To: last.Int64}, true, nil
}
