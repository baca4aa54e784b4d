package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"
)

// Errors of splices; test with errors.Is.
var (
	// ErrSpliceConflict: the segment rows are not what the splice (or its
	// undo) expects: another writer changed them, or a newer splice
	// replaced some of them.
	ErrSpliceConflict = errors.New("index: segment rows changed")
	// ErrSpliceUndone: the splice was undone already.
	ErrSpliceUndone = errors.New("index: splice already undone")
)

// Splice is content of a channel replaced by segments from another source
// (`reaparchive splice`). The replaced segments' rows point at the
// replacements while the splice is active; segment_history keeps them.
type Splice struct {
	ID         string // 16 hex digits
	ChannelID  int64
	FromK, ToK int64 // the K range asked for (over every track)
	Source     string
	SourceName string
	RecordKey  string
	CreatedAt  time.Time
	UndoneAt   time.Time // zero while active
}

// Active reports whether the splice has not been undone.
func (s Splice) Active() bool { return s.UndoneAt.IsZero() }

// SpliceSegment is one replacement a splice makes.
type SpliceSegment struct {
	TrackID  int64
	K        int64
	EPT      uint64
	Duration uint64
	Size     int64
	SHA256   string
	Key      string
	InitHash string // full sha256 of the init segment it decodes with (one of the splice's inits)
	// Replaces is the sha256 of the row it replaces: if the row changed
	// since the splice looked, ApplySplice fails with ErrSpliceConflict.
	Replaces string
}

// SpliceInit is an init segment a splice's replacements decode with.
type SpliceInit struct {
	TrackID    int64
	Hash       string // full hex sha256
	ConfigHash string
	Key        string
	Size       int64
	// RowCreated: the splice added the index row (ApplySplice finds out).
	RowCreated bool
	// ObjectCreated: the splice created the object (the caller says).
	ObjectCreated bool
}

// SegmentHistory is a segment row as it was before a splice replaced it.
type SegmentHistory struct {
	SpliceID  string
	Segment   Segment // the replaced row
	NewKey    string  // the replacement's key
	NewSHA256 string
}

const spliceCols = `id, channel_id, from_k, to_k, source, source_name, record_key, created_at, coalesce(undone_at, 0)`

func scanSplice(s scanner) (Splice, error) {
	var sp Splice
	var created, undone int64
	err := s.Scan(&sp.ID, &sp.ChannelID, &sp.FromK, &sp.ToK, &sp.Source, &sp.SourceName, &sp.RecordKey, &created, &undone)
	sp.CreatedAt, sp.UndoneAt = fromNanos(created), fromNanos(undone)
	return sp, err
}

// ApplySplice records splice sp and replaces the segment rows segs
// describe, in one transaction: for each, the current row (which must have
// sha256 Replaces) goes to segment_history and the row is updated to the
// replacement (its source_id NULL, received_at sp.CreatedAt). inits are the
// init segments the replacements decode with: an init the index does not
// have yet gets a row (its first K the smallest K decoding with it), and
// RowCreated is set on it. Nothing is written when an error is returned.
func (db *DB) ApplySplice(ctx context.Context, sp Splice, inits []SpliceInit, segs []SpliceSegment) error {
	if sp.ID == "" || sp.CreatedAt.IsZero() {
		return errors.New("index: apply splice: no id or creation time")
	}
	created := make([]bool, len(inits))
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO splices (id, channel_id, from_k, to_k, source, source_name, record_key, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, sp.ID, sp.ChannelID, sp.FromK, sp.ToK, sp.Source, sp.SourceName, sp.RecordKey, nanos(sp.CreatedAt))
		if err != nil {
			return fmt.Errorf("index: splice %s: %w", sp.ID, err)
		}
		initIDs, err := addSpliceInits(ctx, tx, sp.ID, inits, spliceFirstKs(segs), created)
		if err != nil {
			return err
		}
		return replaceSegments(ctx, tx, sp, segs, initIDs)
	})
	if err != nil {
		return err
	}
	for i := range inits {
		inits[i].RowCreated = created[i]
	}
	return nil
}

// spliceFirstKs is the smallest K of segs decoding with each init.
func spliceFirstKs(segs []SpliceSegment) map[initRef]int64 {
	firstK := map[initRef]int64{}
	for _, g := range segs {
		key := initRef{g.TrackID, g.InitHash}
		if k, ok := firstK[key]; !ok || g.K < k {
			firstK[key] = g.K
		}
	}
	return firstK
}

// addSpliceInits records the inits of splice spliceID, adding a row for
// each the index does not have yet (its first K from firstK; created[i]
// set), and returns their row IDs.
func addSpliceInits(ctx context.Context, tx *sql.Tx, spliceID string, inits []SpliceInit, firstK map[initRef]int64, created []bool) (map[initRef]int64, error) {
	initIDs := map[initRef]int64{}
	for i, in := range inits {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM inits WHERE track_id = ? AND hash = ?`, in.TrackID, in.Hash).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			fk, ok := firstK[initRef{in.TrackID, in.Hash}]
			if !ok {
				fk = math.MaxInt64
			}
			err = tx.QueryRowContext(ctx, `INSERT INTO inits (track_id, hash, config_hash, key, size, first_k) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
				in.TrackID, in.Hash, in.ConfigHash, in.Key, in.Size, fk).Scan(&id)
			created[i] = true
		}
		if err != nil {
			return nil, fmt.Errorf("index: splice %s: init %.12s: %w", spliceID, in.Hash, err)
		}
		initIDs[initRef{in.TrackID, in.Hash}] = id
		if _, err := tx.ExecContext(ctx, `INSERT INTO splice_inits (splice_id, track_id, hash, key, row_created, object_created) VALUES (?, ?, ?, ?, ?, ?)`,
			spliceID, in.TrackID, in.Hash, in.Key, b2i(created[i]), b2i(in.ObjectCreated)); err != nil {
			return nil, fmt.Errorf("index: splice %s: init %.12s: %w", spliceID, in.Hash, err)
		}
	}
	return initIDs, nil
}

// replaceSegments moves the current row of each of segs to
// segment_history and updates it to the replacement (decoding with the
// init row initIDs names).
func replaceSegments(ctx context.Context, tx *sql.Tx, sp Splice, segs []SpliceSegment, initIDs map[initRef]int64) error {
	cur, err := tx.PrepareContext(ctx, `SELECT `+segCols+` FROM segments WHERE track_id = ? AND k = ?`)
	if err != nil {
		return err
	}
	defer cur.Close()
	hist, err := tx.PrepareContext(ctx, `INSERT INTO segment_history (splice_id, track_id, k, ept, duration, size, sha256, key,
	init_id, source_id, received_at, new_key, new_sha256, filler, last_segment) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer hist.Close()
	upd, err := tx.PrepareContext(ctx, `UPDATE segments SET ept = ?, duration = ?, size = ?, sha256 = ?, key = ?,
	init_id = ?, source_id = NULL, received_at = ?, filler = 0, last_segment = 0 WHERE track_id = ? AND k = ?`)
	if err != nil {
		return err
	}
	defer upd.Close()
	for _, g := range segs {
		initID, ok := initIDs[initRef{g.TrackID, g.InitHash}]
		if !ok {
			return fmt.Errorf("index: splice %s: K %d of track %d decodes with init %.12s, which is not among the splice's", sp.ID, g.K, g.TrackID, g.InitHash)
		}
		old, err := scanSegment(cur.QueryRowContext(ctx, g.TrackID, g.K))
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: track %d K %d has no segment row any more", ErrSpliceConflict, g.TrackID, g.K)
		}
		if err != nil {
			return fmt.Errorf("index: splice %s: segment %d/%d: %w", sp.ID, g.TrackID, g.K, err)
		}
		if old.SHA256 != g.Replaces {
			return fmt.Errorf("%w: track %d K %d is now %s (sha256 %.12s), not the segment the splice checked (%.12s)",
				ErrSpliceConflict, g.TrackID, g.K, old.Key, old.SHA256, g.Replaces)
		}
		oargs, err := segArgs(&old, nil)
		if err != nil {
			return err
		}
		// segArgs: track_id, k, ept, duration, size, sha256, key, init_id, source_id, received_at
		if _, err := hist.ExecContext(ctx, append([]any{sp.ID}, append(oargs, g.Key, g.SHA256, b2i(old.Filler), b2i(old.Last))...)...); err != nil {
			return fmt.Errorf("index: splice %s: history of %d/%d: %w", sp.ID, g.TrackID, g.K, err)
		}
		ept, err := i64(g.EPT, "EPT")
		if err != nil {
			return err
		}
		dur, err := i64(g.Duration, "duration")
		if err != nil {
			return err
		}
		if _, err := upd.ExecContext(ctx, ept, dur, g.Size, g.SHA256, g.Key, initID, nanos(sp.CreatedAt), g.TrackID, g.K); err != nil {
			return fmt.Errorf("index: splice %s: segment %d/%d: %w", sp.ID, g.TrackID, g.K, err)
		}
	}
	return nil
}

// UndoResult says what UndoSplice did in the index.
type UndoResult struct {
	Splice   Splice // as it is now (undone)
	Restored int    // segment rows restored
	// Inits are the splice's init segments; RowCreated ones whose row was
	// deleted are in InitsDeleted; those it created (row or object) that a
	// segment row decodes with by now are in InitsKept.
	Inits        []SpliceInit
	InitsDeleted []SpliceInit
	InitsKept    []SpliceInit
}

// UndoSplice restores, in one transaction, every segment row splice id
// replaced (from segment_history), deletes the init rows the splice added
// that no segment row names any more, and marks the splice undone at at.
// Its history is kept. Every row it replaced must still point at the
// splice's replacement; if a newer splice replaced some, it fails with
// ErrSpliceConflict naming one. An undone splice gives ErrSpliceUndone, an
// unknown one ErrNotFound.
func (db *DB) UndoSplice(ctx context.Context, id string, at time.Time) (UndoResult, error) {
	var res UndoResult
	err := db.write(ctx, func(tx *sql.Tx) error {
		sp, err := undoableSplice(ctx, tx, id)
		if err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE segments SET ept = h.ept, duration = h.duration, size = h.size, sha256 = h.sha256,
	key = h.key, init_id = h.init_id, source_id = h.source_id, received_at = h.received_at,
	filler = h.filler, last_segment = h.last_segment
FROM segment_history h WHERE h.splice_id = ? AND segments.track_id = h.track_id AND segments.k = h.k`, id)
		if err != nil {
			return fmt.Errorf("index: undo splice %s: %w", id, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return fmt.Errorf("index: undo splice %s: %w", id, err)
		}
		res.Restored = int(n)
		if res.Inits, err = spliceInits(ctx, tx, id); err != nil {
			return err
		}
		if err := dropSpliceInits(ctx, tx, id, &res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE splices SET undone_at = ? WHERE id = ?`, nanos(at), id); err != nil {
			return fmt.Errorf("index: undo splice %s: %w", id, err)
		}
		sp.UndoneAt = fromNanos(nanos(at))
		res.Splice = sp
		return nil
	})
	if err != nil {
		return UndoResult{}, err
	}
	return res, nil
}

// undoableSplice is splice id, if it is active and every row it replaced
// still points at its replacement.
func undoableSplice(ctx context.Context, tx *sql.Tx, id string) (Splice, error) {
	sp, err := scanSplice(tx.QueryRowContext(ctx, `SELECT `+spliceCols+` FROM splices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sp, fmt.Errorf("index: splice %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return sp, fmt.Errorf("index: splice %s: %w", id, err)
	}
	if !sp.Active() {
		return sp, fmt.Errorf("%w: splice %s was undone at %s", ErrSpliceUndone, id, sp.UndoneAt.Format(time.RFC3339))
	}
	var (
		trackID, k int64
		rep, now   sql.NullString
	)
	err = tx.QueryRowContext(ctx, `SELECT h.track_id, h.k, t.rep, s.key FROM segment_history h
	JOIN tracks t ON t.id = h.track_id
	LEFT JOIN segments s ON s.track_id = h.track_id AND s.k = h.k
WHERE h.splice_id = ? AND (s.key IS NULL OR s.key != h.new_key) ORDER BY h.track_id, h.k LIMIT 1`, id).Scan(&trackID, &k, &rep, &now)
	switch {
	case err == nil && now.Valid:
		return sp, fmt.Errorf("%w: %s K %d is now %s, no longer splice %s's replacement (undo the newer splice first)",
			ErrSpliceConflict, rep.String, k, now.String, id)
	case err == nil:
		return sp, fmt.Errorf("%w: %s K %d has no segment row any more", ErrSpliceConflict, rep.String, k)
	case !errors.Is(err, sql.ErrNoRows):
		return sp, fmt.Errorf("index: splice %s: %w", id, err)
	}
	return sp, nil
}

// dropSpliceInits deletes the init rows splice id created (res.Inits)
// that no segment row decodes with any more, into res.InitsDeleted, and
// notes in res.InitsKept those it created that one does.
func dropSpliceInits(ctx context.Context, tx *sql.Tx, id string, res *UndoResult) error {
	for _, in := range res.Inits {
		// An init the splice created (object or row) goes only if no
		// segment row decodes with it by now: the recorder may have
		// adopted an object the splice stored (its own create found
		// it there).
		if !in.RowCreated && !in.ObjectCreated {
			continue
		}
		var initID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM inits WHERE track_id = ? AND hash = ?`, in.TrackID, in.Hash).Scan(&initID)
		if errors.Is(err, sql.ErrNoRows) {
			res.InitsDeleted = append(res.InitsDeleted, in) // gone already
			continue
		}
		if err != nil {
			return fmt.Errorf("index: undo splice %s: init %.12s: %w", id, in.Hash, err)
		}
		var used bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM segments WHERE track_id = ? AND init_id = ?)`, in.TrackID, initID).Scan(&used); err != nil {
			return fmt.Errorf("index: undo splice %s: init %.12s: %w", id, in.Hash, err)
		}
		if used {
			res.InitsKept = append(res.InitsKept, in)
			continue
		}
		if !in.RowCreated {
			continue // the row was there before the splice
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM inits WHERE id = ?`, initID); err != nil {
			return fmt.Errorf("index: undo splice %s: init %.12s: %w", id, in.Hash, err)
		}
		res.InitsDeleted = append(res.InitsDeleted, in)
	}
	return nil
}

// SpliceByID returns a splice, or an error wrapping ErrNotFound.
func (db *DB) SpliceByID(ctx context.Context, id string) (Splice, error) {
	sp, err := scanSplice(db.rd().QueryRowContext(ctx, `SELECT `+spliceCols+` FROM splices WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Splice{}, fmt.Errorf("index: splice %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Splice{}, fmt.Errorf("index: splice %s: %w", id, err)
	}
	return sp, nil
}

// Splices returns the channel's splices, active and undone, oldest first.
func (db *DB) Splices(ctx context.Context, channelID int64) ([]Splice, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT `+spliceCols+` FROM splices WHERE channel_id = ? ORDER BY created_at, id`, channelID)
	if err != nil {
		return nil, fmt.Errorf("index: splices: %w", err)
	}
	defer rows.Close()
	var out []Splice
	for rows.Next() {
		sp, err := scanSplice(rows)
		if err != nil {
			return nil, fmt.Errorf("index: splices: %w", err)
		}
		out = append(out, sp)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: splices: %w", err)
	}
	return out, nil
}

// SpliceInits returns the init segments of a splice.
func (db *DB) SpliceInits(ctx context.Context, id string) ([]SpliceInit, error) {
	return spliceInits(ctx, db.rd(), id)
}

func spliceInits(ctx context.Context, q querier, id string) ([]SpliceInit, error) {
	rows, err := q.QueryContext(ctx, `SELECT track_id, hash, key, row_created, object_created FROM splice_inits WHERE splice_id = ? ORDER BY track_id, hash`, id)
	if err != nil {
		return nil, fmt.Errorf("index: splice %s inits: %w", id, err)
	}
	defer rows.Close()
	var out []SpliceInit
	for rows.Next() {
		var in SpliceInit
		if err := rows.Scan(&in.TrackID, &in.Hash, &in.Key, &in.RowCreated, &in.ObjectCreated); err != nil {
			return nil, fmt.Errorf("index: splice %s inits: %w", id, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: splice %s inits: %w", id, err)
	}
	return out, nil
}

// SpliceHistory returns the segment rows splice id replaced, as they were,
// ordered by track and K.
func (db *DB) SpliceHistory(ctx context.Context, id string) ([]SegmentHistory, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT track_id, k, ept, duration, size, sha256, key, coalesce(init_id, 0),
	coalesce(source_id, 0), received_at, new_key, new_sha256, filler, last_segment FROM segment_history WHERE splice_id = ? ORDER BY track_id, k`, id)
	if err != nil {
		return nil, fmt.Errorf("index: splice %s history: %w", id, err)
	}
	defer rows.Close()
	var out []SegmentHistory
	for rows.Next() {
		h := SegmentHistory{SpliceID: id}
		g := &h.Segment
		var ept, dur, recv int64
		if err := rows.Scan(&g.TrackID, &g.K, &ept, &dur, &g.Size, &g.SHA256, &g.Key, &g.InitID, &g.SourceID, &recv, &h.NewKey, &h.NewSHA256, &g.Filler, &g.Last); err != nil {
			return nil, fmt.Errorf("index: splice %s history: %w", id, err)
		}
		g.EPT, g.Duration, g.ReceivedAt = u64(ept), u64(dur), fromNanos(recv)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: splice %s history: %w", id, err)
	}
	return out, nil
}

// initRef names an init segment of a track.
type initRef struct {
	trackID int64
	hash    string
}
