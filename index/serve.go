package index

import (
	"context"
	"database/sql"
	"fmt"
)

// SegmentsDown returns up to limit of the track's segments with K <= k, in
// descending K order: the walk back from a K to where its run began (the
// origin's live Periods, origin package).
func (db *DB) SegmentsDown(ctx context.Context, trackID, k int64, limit int) ([]Segment, error) {
	rows, err := db.query(ctx, `SELECT `+segCols+` FROM segments WHERE track_id = `+idArg+` AND k <= ? ORDER BY k DESC LIMIT ?`, trackID, k, limit)
	if err != nil {
		return nil, fmt.Errorf("index: segments of %d down from %d: %w", trackID, k, err)
	}
	defer rows.Close()
	var out []Segment
	for rows.Next() {
		g, err := scanSegment(rows)
		if err != nil {
			return nil, fmt.Errorf("index: segments of %d down from %d: %w", trackID, k, err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: segments of %d down from %d: %w", trackID, k, err)
	}
	return out, nil
}

// SpliceStamp changes whenever a splice of the channel is applied or
// undone: a reader holding segment rows knows to read them again.
func (db *DB) SpliceStamp(ctx context.Context, channelID int64) (string, error) {
	var n, created, undone int64
	err := db.queryRow(ctx, `SELECT count(*), coalesce(max(created_at), 0), coalesce(max(undone_at), 0) FROM splices WHERE channel_id = `+idArg, channelID).
		Scan(&n, &created, &undone)
	if err != nil {
		return "", fmt.Errorf("index: splices of %d: %w", channelID, err)
	}
	return fmt.Sprintf("%d/%d/%d", n, created, undone), nil
}

// FirstKFrom is the track's first K at or after k; ok is false when it has
// none there.
func (db *DB) FirstKFrom(ctx context.Context, trackID, k int64) (first int64, ok bool, err error) {
	var f sql.NullInt64
	if err := db.rd().QueryRowContext(ctx, `SELECT min(k) FROM segments WHERE track_id = ? AND k >= ?`, trackID, k).Scan(&f); err != nil {
		return 0, false, fmt.Errorf("index: first K of track %d from %d: %w", trackID, k, err)
	}
	return f.Int64, f.Valid, nil
}
