package index

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
)

const segCols = `track_id, k, ept, duration, size, sha256, key, coalesce(init_id, 0), coalesce(source_id, 0), received_at, filler, last_segment`

const insertSegmentSQL = `INSERT INTO segments (track_id, k, ept, duration, size, sha256, key, init_id, source_id, received_at, filler, last_segment)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

const insertDeliverySQL = `INSERT INTO deliveries (track_id, k, source_id, outcome, ept, duration, size, sha256,
	identical, timing_equal, received_at, detail, filler)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func scanSegment(s scanner) (Segment, error) {
	var g Segment
	var ept, dur, recv int64
	err := s.Scan(&g.TrackID, &g.K, &ept, &dur, &g.Size, &g.SHA256, &g.Key, &g.InitID, &g.SourceID, &recv, &g.Filler, &g.Last)
	g.EPT, g.Duration, g.ReceivedAt = u64(ept), u64(dur), fromNanos(recv)
	return g, err
}

// segRowArgs returns the insertSegmentSQL arguments for g: segArgs and
// the flags.
func segRowArgs(g *Segment, args []any) ([]any, error) {
	args, err := segArgs(g, args)
	if err != nil {
		return nil, err
	}
	return append(args, b2i(g.Filler), b2i(g.Last)), nil
}

// segArgs returns the first ten insertSegmentSQL arguments for g (the
// columns segment_history keeps).
func segArgs(g *Segment, args []any) ([]any, error) {
	ept, err := i64(g.EPT, "EPT")
	if err != nil {
		return nil, err
	}
	dur, err := i64(g.Duration, "duration")
	if err != nil {
		return nil, err
	}
	return append(args, g.TrackID, g.K, ept, dur, g.Size, g.SHA256, g.Key,
		nullID(g.InitID), nullID(g.SourceID), nanos(g.ReceivedAt)), nil
}

func deliveryArgs(d *Delivery) ([]any, error) {
	ept, err := i64(d.EPT, "EPT")
	if err != nil {
		return nil, err
	}
	dur, err := i64(d.Duration, "duration")
	if err != nil {
		return nil, err
	}
	switch d.Outcome {
	case Stored, Duplicate, Conflict, Missing, Rejected:
	default:
		return nil, fmt.Errorf("index: delivery of %d/%d: unknown outcome %q", d.TrackID, d.K, d.Outcome)
	}
	if d.SourceID == 0 {
		return nil, fmt.Errorf("index: delivery of %d/%d: no source", d.TrackID, d.K)
	}
	return []any{d.TrackID, d.K, d.SourceID, string(d.Outcome), ept, dur, d.Size, d.SHA256,
		b2i(d.Identical), b2i(d.TimingEqual), nanos(d.ReceivedAt), d.Detail, b2i(d.Filler)}, nil
}

// Segment returns the stored segment K of the track; ok is false if none.
func (db *DB) Segment(ctx context.Context, trackID, k int64) (Segment, bool, error) {
	db.lookups.Add(1)
	g, err := scanSegment(db.onSnap(ctx, db.hot.segment).QueryRowContext(ctx, trackID, k))
	if errors.Is(err, sql.ErrNoRows) {
		return Segment{}, false, nil
	}
	if err != nil {
		return Segment{}, false, fmt.Errorf("index: segment %d/%d: %w", trackID, k, err)
	}
	return g, true, nil
}

// Segments returns the track's segments with fromK <= K <= toK, ordered by K.
func (db *DB) Segments(ctx context.Context, trackID, fromK, toK int64) ([]Segment, error) {
	var out []Segment
	if n := toK - fromK; toK >= fromK && n >= 0 { // n < 0: the range overflowed int64
		out = make([]Segment, 0, min(n+1, 1<<16))
	}
	err := db.ForEachSegment(ctx, trackID, fromK, toK, func(g Segment) error {
		out = append(out, g)
		return nil
	})
	return out, err
}

// ForEachSegment calls fn for each of the track's segments with
// fromK <= K <= toK, in K order, streaming from one read snapshot. An error
// from fn stops the iteration and is returned. fn may read from db but must
// not wait for other goroutines that do.
func (db *DB) ForEachSegment(ctx context.Context, trackID, fromK, toK int64, fn func(Segment) error) error {
	rows, err := db.query(ctx, `SELECT `+segCols+` FROM segments WHERE track_id = `+idArg+` AND k BETWEEN ? AND ? ORDER BY k`, trackID, fromK, toK)
	if err != nil {
		return fmt.Errorf("index: segments of %d: %w", trackID, err)
	}
	defer rows.Close()
	for rows.Next() {
		g, err := scanSegment(rows)
		if err != nil {
			return fmt.Errorf("index: segments of %d: %w", trackID, err)
		}
		if err := fn(g); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("index: segments of %d: %w", trackID, err)
	}
	return nil
}

// Record writes, in one transaction, the new segment row seg (if non-nil)
// and the delivery rows. If a segment (seg.TrackID, seg.K) already exists it
// returns an error wrapping ErrExists and writes nothing. A delivery with
// TrackID 0 takes seg's TrackID and K.
func (db *DB) Record(ctx context.Context, seg *Segment, deliveries ...Delivery) error {
	return db.RecordWith(ctx, seg, nil, deliveries...)
}

// Contents is what the stored segment K of a track holds besides its
// row: its events (emsg) and, for a text track (Text), the issues its cue
// check found, which replace those of an earlier copy of K (none: clean).
type Contents struct {
	TrackID, K int64
	Events     []Event
	Text       bool
	TextIssues []TextIssue
}

// contentsArgs is c's checked event arguments (nil c: none).
func contentsArgs(c *Contents) ([][]any, error) {
	if c == nil {
		return nil, nil
	}
	return eventArgs(c.Events)
}

// writeContents writes c (evArgs: contentsArgs(c)) in tx.
func (db *DB) writeContents(ctx context.Context, tx *sql.Tx, c *Contents, evArgs [][]any) error {
	if c == nil {
		return nil
	}
	if err := db.addEvents(ctx, tx, c.Events, evArgs); err != nil {
		return err
	}
	if !c.Text {
		return nil
	}
	return db.setTextIssues(ctx, tx, c.TrackID, c.K, c.TextIssues)
}

// AddContents records c in one transaction.
func (db *DB) AddContents(ctx context.Context, c Contents) error {
	evArgs, err := contentsArgs(&c)
	if err != nil {
		return err
	}
	if len(c.Events) == 0 && !c.Text {
		return nil
	}
	return db.write(ctx, func(tx *sql.Tx) error { return db.writeContents(ctx, tx, &c, evArgs) })
}

// RecordWith is Record that also writes c (if non-nil), the stored
// segment's contents, in the same transaction: the write of one recorded
// segment, committed in a transaction it shares with the writes of
// concurrent callers (group commit, writeGrouped). It returns once that
// transaction committed; its error concerns this write only.
func (db *DB) RecordWith(ctx context.Context, seg *Segment, c *Contents, deliveries ...Delivery) error {
	var segA []any
	if seg != nil {
		var err error
		if segA, err = segRowArgs(seg, make([]any, 0, 12)); err != nil {
			return err
		}
	}
	delA, err := deliveriesArgs(seg, deliveries)
	if err != nil {
		return err
	}
	evA, err := contentsArgs(c)
	if err != nil {
		return err
	}
	if seg == nil && len(deliveries) == 0 && (c == nil || (len(c.Events) == 0 && !c.Text)) {
		return nil
	}
	return db.writeGrouped(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if seg != nil {
			if err := db.insertSegment(ctx, tx, seg, segA); err != nil {
				return err
			}
		}
		if err := db.insertDeliveries(ctx, tx, deliveries, delA); err != nil {
			return err
		}
		return db.writeContents(ctx, tx, c, evA)
	})
}

// deliveriesArgs is the insertDeliverySQL arguments of each delivery; one
// with TrackID 0 takes seg's TrackID and K.
func deliveriesArgs(seg *Segment, deliveries []Delivery) ([][]any, error) {
	delA := make([][]any, len(deliveries))
	for i := range deliveries {
		d := deliveries[i]
		if d.TrackID == 0 && seg != nil {
			d.TrackID, d.K = seg.TrackID, seg.K
		}
		a, err := deliveryArgs(&d)
		if err != nil {
			return nil, err
		}
		delA[i] = a
	}
	return delA, nil
}

// insertSegment inserts seg's row (args: segRowArgs) in tx, or fails with
// ErrExists.
func (db *DB) insertSegment(ctx context.Context, tx *sql.Tx, seg *Segment, args []any) error {
	res, err := tx.StmtContext(ctx, db.hot.insSegment).ExecContext(ctx, args...)
	if err != nil {
		return fmt.Errorf("index: record segment %d/%d: %w", seg.TrackID, seg.K, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("index: record segment %d/%d: %w", seg.TrackID, seg.K, err)
	} else if n == 0 {
		return fmt.Errorf("index: record segment %d/%d: %w", seg.TrackID, seg.K, ErrExists)
	}
	return nil
}

// insertDeliveries inserts the delivery rows (args: deliveriesArgs) in tx.
func (db *DB) insertDeliveries(ctx context.Context, tx *sql.Tx, deliveries []Delivery, args [][]any) error {
	if len(args) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, db.hot.insDelivery)
	for i, a := range args {
		if _, err := st.ExecContext(ctx, a...); err != nil {
			return fmt.Errorf("index: record delivery %d/%d from source %d: %w",
				deliveries[i].TrackID, deliveries[i].K, deliveries[i].SourceID, err)
		}
	}
	return nil
}

// insertBatch is the number of rows per transaction in InsertSegments, and
// multiRow the number of rows per INSERT statement.
const (
	insertBatch = 5000
	multiRow    = 50
)

// InsertSegments bulk-inserts segments in batched transactions. Existing
// (track_id, k) rows are overwritten if replace is true, otherwise kept.
// Segments are inserted in (track, K) order; segs is not modified.
func (db *DB) InsertSegments(ctx context.Context, segs []Segment, replace bool) error {
	if len(segs) == 0 {
		return nil
	}
	less := func(a, b Segment) int {
		if a.TrackID != b.TrackID {
			return cmp.Compare(a.TrackID, b.TrackID)
		}
		return cmp.Compare(a.K, b.K)
	}
	if !slices.IsSortedFunc(segs, less) {
		// B-tree inserts in key order touch each page once.
		segs = slices.Clone(segs)
		slices.SortStableFunc(segs, less)
	}
	conflict := ` ON CONFLICT (track_id, k) DO NOTHING`
	if replace {
		conflict = ` ON CONFLICT (track_id, k) DO UPDATE SET ept = excluded.ept, duration = excluded.duration,
	size = excluded.size, sha256 = excluded.sha256, key = excluded.key, init_id = excluded.init_id,
	source_id = excluded.source_id, received_at = excluded.received_at, filler = excluded.filler,
	last_segment = excluded.last_segment`
	}
	values := `, (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	one := insertSegmentSQL + conflict
	many := insertSegmentSQL + strings.Repeat(values, multiRow-1) + conflict

	stOne, err := db.writer.PrepareContext(ctx, one)
	if err != nil {
		return fmt.Errorf("index: insert segments: %w", err)
	}
	defer stOne.Close()
	stMany, err := db.writer.PrepareContext(ctx, many)
	if err != nil {
		return fmt.Errorf("index: insert segments: %w", err)
	}
	defer stMany.Close()

	args := make([]any, 0, 12*multiRow)
	for start := 0; start < len(segs); start += insertBatch {
		batch := segs[start:min(start+insertBatch, len(segs))]
		err := db.write(ctx, func(tx *sql.Tx) error {
			logged := batch
			var triggers []string
			if len(batch) >= bulkLogRows {
				var err error
				if triggers, err = quietChanges(ctx, tx); err != nil {
					return err
				}
			}
			many, one := tx.StmtContext(ctx, stMany), tx.StmtContext(ctx, stOne)
			defer many.Close()
			defer one.Close()
			for len(batch) > 0 {
				n, st := multiRow, many
				if len(batch) < multiRow {
					n, st = 1, one
				}
				args = args[:0]
				for i := range batch[:n] {
					var err error
					if args, err = segRowArgs(&batch[i], args); err != nil {
						return fmt.Errorf("index: insert segment %d/%d: %w", batch[i].TrackID, batch[i].K, err)
					}
				}
				if _, err := st.ExecContext(ctx, args...); err != nil {
					return fmt.Errorf("index: insert segments %d/%d..: %w", batch[0].TrackID, batch[0].K, err)
				}
				batch = batch[n:]
			}
			if triggers == nil {
				return nil // the row triggers logged each change
			}
			return logRanges(ctx, tx, logged, triggers)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// DeleteSegment deletes the segment row (track, K); its delivery history
// is kept. It returns an error wrapping ErrNotFound if there was none.
func (db *DB) DeleteSegment(ctx context.Context, trackID, k int64) error {
	res, err := db.writer.ExecContext(ctx, `DELETE FROM segments WHERE track_id = ? AND k = ?`, trackID, k)
	if err != nil {
		return fmt.Errorf("index: delete segment %d/%d: %w", trackID, k, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("index: segment %d/%d: %w", trackID, k, ErrNotFound)
	}
	return nil
}

// Deliveries returns the deliveries recorded for (track, K) in the order
// they were recorded.
func (db *DB) Deliveries(ctx context.Context, trackID, k int64) ([]Delivery, error) {
	return db.DeliveriesBetween(ctx, trackID, k, k)
}

// DeliveriesBetween returns the deliveries recorded for the track's K in
// [fromK, toK], ordered by K, then in the order they were recorded (one
// range scan of deliveries_track_k).
func (db *DB) DeliveriesBetween(ctx context.Context, trackID, fromK, toK int64) ([]Delivery, error) {
	rows, err := db.rd().QueryContext(ctx, `
SELECT track_id, k, source_id, outcome, ept, duration, size, sha256, identical, timing_equal, received_at, detail, filler
FROM deliveries WHERE track_id = ? AND k BETWEEN ? AND ? ORDER BY k, id`, trackID, fromK, toK)
	if err != nil {
		return nil, fmt.Errorf("index: deliveries %d/%d..%d: %w", trackID, fromK, toK, err)
	}
	defer rows.Close()
	var out []Delivery
	for rows.Next() {
		var d Delivery
		var outcome string
		var ept, dur, recv int64
		if err := rows.Scan(&d.TrackID, &d.K, &d.SourceID, &outcome, &ept, &dur, &d.Size, &d.SHA256,
			&d.Identical, &d.TimingEqual, &recv, &d.Detail, &d.Filler); err != nil {
			return nil, fmt.Errorf("index: deliveries %d/%d..%d: %w", trackID, fromK, toK, err)
		}
		d.Outcome, d.EPT, d.Duration, d.ReceivedAt = Outcome(outcome), u64(ept), u64(dur), fromNanos(recv)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: deliveries %d/%d..%d: %w", trackID, fromK, toK, err)
	}
	return out, nil
}

// ReplaceFiller switches the row of seg's (track, K), whose stored copy is
// an encoder's filler, to seg (a real copy, already durable at seg.Key) and
// records del (if not nil) and c (if not nil: the real copy's contents),
// in one transaction. If the row is no filler any more (another real copy
// won) it returns an error wrapping ErrExists and writes nothing.
func (db *DB) ReplaceFiller(ctx context.Context, seg Segment, c *Contents, del *Delivery) error {
	segA, err := segRowArgs(&seg, make([]any, 0, 12))
	if err != nil {
		return err
	}
	evA, err := contentsArgs(c)
	if err != nil {
		return err
	}
	var delA []any
	if del != nil {
		if delA, err = deliveryArgs(del); err != nil {
			return err
		}
	}
	return db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE segments SET ept = ?3, duration = ?4, size = ?5, sha256 = ?6, key = ?7,
	init_id = ?8, source_id = ?9, received_at = ?10, filler = ?11, last_segment = ?12
WHERE track_id = ?1 AND k = ?2 AND filler = 1`, segA...)
		if err != nil {
			return fmt.Errorf("index: replace filler %d/%d: %w", seg.TrackID, seg.K, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("index: replace filler %d/%d: %w", seg.TrackID, seg.K, err)
		} else if n == 0 {
			return fmt.Errorf("index: replace filler %d/%d: no filler row: %w", seg.TrackID, seg.K, ErrExists)
		}
		if del != nil {
			if _, err := tx.StmtContext(ctx, db.hot.insDelivery).ExecContext(ctx, delA...); err != nil {
				return fmt.Errorf("index: record delivery %d/%d from source %d: %w", del.TrackID, del.K, del.SourceID, err)
			}
		}
		return db.writeContents(ctx, tx, c, evA)
	})
}

// FillerRanges returns, as maximal inclusive ranges in K order, the K in
// [fromK, toK] whose stored copy is an encoder's filler (no real copy yet).
func (db *DB) FillerRanges(ctx context.Context, trackID, fromK, toK int64) ([]Range, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT k FROM segments WHERE track_id = ? AND filler = 1 AND k BETWEEN ? AND ? ORDER BY k`, trackID, fromK, toK)
	if err != nil {
		return nil, fmt.Errorf("index: fillers of %d: %w", trackID, err)
	}
	defer rows.Close()
	var out []Range
	for rows.Next() {
		var k int64
		if err := rows.Scan(&k); err != nil {
			return nil, fmt.Errorf("index: fillers of %d: %w", trackID, err)
		}
		if n := len(out); n > 0 && out[n-1].To+1 == k {
			out[n-1].To = k
			continue
		}
		out = append(out, Range{From: k, To: k})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: fillers of %d: %w", trackID, err)
	}
	return out, nil
}
