package index

import (
	"context"
	"database/sql"
	"fmt"
)

// Gaps returns, as maximal inclusive ranges in K order, the indexes K in
// [max(fromK, first), min(toK, last)] that have no segment row, where first
// and last are the track's first and last stored K. Indexes before the first
// (or before the archive's start, see Expiry) or after the last segment are not gaps (the recording had not started or
// has not reached them); a range that starts or ends inside a hole gets the
// hole clipped to the range. Use math.MinInt64 and math.MaxInt64 for "all".
//
// The gaps are computed in SQL, with LAG over the segments primary key, so
// only the holes, not the Ks, reach Go; see gapsSQL.
func (db *DB) Gaps(ctx context.Context, trackID, fromK, toK int64) ([]Range, error) {
	return gaps(ctx, db.rd(), trackID, fromK, toK)
}

// gapBucket is the K-bucket size of gapsSQL. Counting a bucket costs about
// 50 ns a row, the window function about 1.2 µs a row (modernc.org/sqlite),
// so LAG runs only over buckets that miss a K; 32 keeps the per-bucket
// overhead low for a clean day and the windowed rows few for a holey one.
const gapBucket = 32

// gapsSQL finds the holes of track ?1 in [?2, ?3] (?4 = gapBucket). Its
// cost follows the segments and the holes, never the span of K:
//   - b: buckets [lo, lo+?4-1]; the first starts at ?2, each next one at the
//     first stored K after the end of the one before (nx, one index seek),
//     so every bucket but the first starts at a stored K and the K between
//     a bucket's end and the next bucket are one hole, never visited;
//   - dirty: the buckets [lo, hi] whose count(*) (an index-only range count
//     on the primary key) is below their width;
//   - within each dirty bucket, LAG(k) (default lo-1) finds the holes before
//     each present K, and max(k) < hi the hole at the bucket's end (the whole
//     bucket if it is empty);
//   - between buckets, [lo+?4, nx-1] (or up to ?3 after the last) is a hole.
//
// A hole crossing bucket boundaries comes out in pieces, in K order; gaps
// merges adjacent pieces.
const gapsSQL = `
WITH RECURSIVE
b(lo, nx) AS (
	SELECT ?2, (SELECT min(k) FROM segments WHERE track_id = ?1 AND k >= ?2 + ?4)
	UNION ALL
	SELECT nx, (SELECT min(k) FROM segments WHERE track_id = ?1 AND k >= b.nx + ?4) FROM b WHERE nx <= ?3
),
dirty(lo, hi) AS MATERIALIZED (
	SELECT lo, min(lo + ?4 - 1, ?3) FROM b
	WHERE (SELECT count(*) FROM segments WHERE track_id = ?1 AND k BETWEEN b.lo AND min(b.lo + ?4 - 1, ?3))
		< min(b.lo + ?4 - 1, ?3) - b.lo + 1
)
SELECT prev + 1, k - 1 FROM (
	SELECT s.k, lag(s.k, 1, d.lo - 1) OVER (PARTITION BY d.lo ORDER BY s.k) AS prev
	FROM dirty d JOIN segments s ON s.track_id = ?1 AND s.k BETWEEN d.lo AND d.hi
) WHERE k - prev > 1
UNION ALL
SELECT coalesce(max(s.k), d.lo - 1) + 1, d.hi
FROM dirty d LEFT JOIN segments s ON s.track_id = ?1 AND s.k BETWEEN d.lo AND d.hi
GROUP BY d.lo HAVING coalesce(max(s.k), d.lo - 1) < d.hi
UNION ALL
SELECT lo + ?4, min(coalesce(nx, ?3 + 1), ?3 + 1) - 1 FROM b
WHERE lo + ?4 <= min(coalesce(nx, ?3 + 1), ?3 + 1) - 1
ORDER BY 1`

func gaps(ctx context.Context, q querier, trackID, fromK, toK int64) ([]Range, error) {
	var first, last, start sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT (SELECT min(k) FROM segments WHERE track_id = ?1), (SELECT max(k) FROM segments WHERE track_id = ?1),
	(SELECT start_k FROM expiry WHERE track_id = ?1)`, trackID).
		Scan(&first, &last, &start)
	if err != nil {
		return nil, fmt.Errorf("index: gaps of %d: %w", trackID, err)
	}
	if !first.Valid {
		return nil, nil
	}
	lo, hi := max(fromK, first.Int64), min(toK, last.Int64)
	if start.Valid {
		lo = max(lo, start.Int64) // before the archive's start (retention) nothing is a gap
	}
	if lo > hi {
		return nil, nil
	}
	rows, err := q.QueryContext(ctx, gapsSQL, trackID, lo, hi, gapBucket)
	if err != nil {
		return nil, fmt.Errorf("index: gaps of %d: %w", trackID, err)
	}
	defer rows.Close()
	var out []Range
	for rows.Next() {
		var r Range
		if err := rows.Scan(&r.From, &r.To); err != nil {
			return nil, fmt.Errorf("index: gaps of %d: %w", trackID, err)
		}
		if n := len(out); n > 0 && out[n-1].To+1 == r.From {
			out[n-1].To = r.To // one hole across bucket boundaries
			continue
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: gaps of %d: %w", trackID, err)
	}
	return out, nil
}

// statsSQL counts deliveries per (source of the track's channel, outcome)
// over a K range: every count is an index-only range count on
// deliveries_track_source_outcome (one seek per group).
const statsSQL = `
WITH o(outcome) AS (VALUES ('stored'), ('duplicate'), ('conflict'), ('missing'), ('rejected'))
SELECT s.name, o.outcome,
	(SELECT count(*) FROM deliveries d WHERE d.track_id = ?1 AND d.source_id = s.id AND d.outcome = o.outcome
		AND d.identical = 0 AND d.k BETWEEN ?2 AND ?3),
	(SELECT count(*) FROM deliveries d WHERE d.track_id = ?1 AND d.source_id = s.id AND d.outcome = o.outcome
		AND d.identical = 1 AND d.k BETWEEN ?2 AND ?3)
FROM sources s CROSS JOIN o
WHERE s.channel_id = ?4
UNION ALL
SELECT s.name, 'filler',
	(SELECT count(*) FROM deliveries d WHERE d.track_id = ?1 AND d.source_id = s.id AND d.filler = 1 AND d.k BETWEEN ?2 AND ?3), 0
FROM sources s WHERE s.channel_id = ?4
ORDER BY 1, 2`

// Stats summarises the track's segments and deliveries with fromK <= K <= toK
// (math.MinInt64, math.MaxInt64 for all): First and Last stored K (First is
// -1 when there is none), the number of segments, the gaps (as Gaps), the
// duplicate and conflict delivery counts and per-source delivery counts for
// every source of the track's channel, ordered by source name. All figures
// come from one read snapshot.
func (db *DB) Stats(ctx context.Context, trackID int64, fromK, toK int64) (TrackStats, error) {
	tx, end, err := db.readTx(ctx)
	if err != nil {
		return TrackStats{}, fmt.Errorf("index: stats of %d: %w", trackID, err)
	}
	defer end()

	st := TrackStats{First: -1, Last: -1}
	if st.Track, err = trackByID(ctx, tx, trackID); err != nil {
		return TrackStats{}, err
	}
	var first, last sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT
	(SELECT min(k) FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3),
	(SELECT max(k) FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3),
	(SELECT count(*) FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3)`, trackID, fromK, toK).
		Scan(&first, &last, &st.Segments)
	if err != nil {
		return TrackStats{}, fmt.Errorf("index: stats of %d: %w", trackID, err)
	}
	if first.Valid {
		st.First, st.Last = first.Int64, last.Int64
	}
	if st.Gaps, err = gaps(ctx, tx, trackID, fromK, toK); err != nil {
		return TrackStats{}, err
	}
	if err := fillerStats(ctx, tx, &st, trackID, fromK, toK); err != nil {
		return TrackStats{}, err
	}

	rows, err := tx.QueryContext(ctx, statsSQL, trackID, fromK, toK, st.Track.ChannelID)
	if err != nil {
		return TrackStats{}, fmt.Errorf("index: stats of %d: %w", trackID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, outcome string
		var n0, n1 int64
		if err := rows.Scan(&name, &outcome, &n0, &n1); err != nil {
			return TrackStats{}, fmt.Errorf("index: stats of %d: %w", trackID, err)
		}
		if len(st.Sources) == 0 || st.Sources[len(st.Sources)-1].Source != name {
			st.Sources = append(st.Sources, SourceStats{Source: name})
		}
		ss := &st.Sources[len(st.Sources)-1]
		switch n := n0 + n1; Outcome(outcome) {
		case Stored:
			ss.Stored = n
		case Duplicate:
			ss.Duplicates, ss.Identical = n, n1
			st.Duplicates += n
		case Conflict:
			ss.Conflicts = n
			st.Conflicts += n
		case Missing:
			ss.Missing = n
		case Rejected:
			ss.Rejected = n
		case "filler":
			ss.Fillers = n
		}
	}
	if err := rows.Err(); err != nil {
		return TrackStats{}, fmt.Errorf("index: stats of %d: %w", trackID, err)
	}
	return st, nil
}

// fillerStats sets the track's filler count (stored K whose copy is an
// encoder's filler) and the last K carrying lmsg (Ended, nil if none).
func fillerStats(ctx context.Context, q querier, st *TrackStats, trackID, fromK, toK int64) error {
	var ended sql.NullInt64
	err := q.QueryRowContext(ctx, `SELECT
	(SELECT count(*) FROM segments WHERE track_id = ?1 AND filler = 1 AND k BETWEEN ?2 AND ?3),
	(SELECT max(k) FROM segments WHERE track_id = ?1 AND last_segment = 1 AND k BETWEEN ?2 AND ?3)`, trackID, fromK, toK).
		Scan(&st.Fillers, &ended)
	if err != nil {
		return fmt.Errorf("index: fillers of %d: %w", trackID, err)
	}
	if ended.Valid {
		st.Ended = &ended.Int64
	}
	return nil
}
