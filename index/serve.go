package index

import (
	"context"
	"fmt"
)

// SegmentsDown returns up to limit of the track's segments with K <= k, in
// descending K order: the walk back from a K to where its run began (the
// origin's live Periods, origin package).
func (db *DB) SegmentsDown(ctx context.Context, trackID, k int64, limit int) ([]Segment, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+segCols+` FROM segments WHERE track_id = ? AND k <= ? ORDER BY k DESC LIMIT ?`, trackID, k, limit)
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
