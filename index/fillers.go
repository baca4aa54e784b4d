package index

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Filler is a filler segment: a segment of a slate asset re-timed to epoch
// index K of a track, spliced over a gap by `export-vod --gaps fill`. The K
// stays a gap of the track (Gaps, Stats); the filler is what exports play
// there.
type Filler struct {
	TrackID   int64
	K         int64
	Slate     string // id of the slate track the filler is made from
	EPT       uint64
	Duration  uint64
	Size      int64
	SHA256    string
	Key       string // the filler object
	InitKey   string // the init segment it decodes with
	CreatedAt time.Time
}

const fillerCols = `track_id, k, slate, ept, duration, size, sha256, key, init_key, created_at`

// AddFiller records a filler object. A row for the same (track, slate, K)
// is kept as it is (fillers are immutable, like the objects they describe);
// the stored row is returned.
func (db *DB) AddFiller(ctx context.Context, f Filler) (Filler, error) {
	ept, err := i64(f.EPT, "EPT")
	if err != nil {
		return Filler{}, err
	}
	dur, err := i64(f.Duration, "duration")
	if err != nil {
		return Filler{}, err
	}
	var got Filler
	err = db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO fillers (`+fillerCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (track_id, slate, k) DO NOTHING`,
			f.TrackID, f.K, f.Slate, ept, dur, f.Size, f.SHA256, f.Key, f.InitKey, nanos(f.CreatedAt)); err != nil {
			return err
		}
		got, err = scanFiller(tx.QueryRowContext(ctx, `SELECT `+fillerCols+` FROM fillers WHERE track_id = ? AND slate = ? AND k = ?`, f.TrackID, f.Slate, f.K))
		return err
	})
	if err != nil {
		return Filler{}, fmt.Errorf("index: add filler %d/%d: %w", f.TrackID, f.K, err)
	}
	return got, nil
}

// scanFiller scans a row of fillerCols.
func scanFiller(r rowScanner) (Filler, error) {
	var f Filler
	var ept, dur, created int64
	if err := r.Scan(&f.TrackID, &f.K, &f.Slate, &ept, &dur, &f.Size, &f.SHA256, &f.Key, &f.InitKey, &created); err != nil {
		return Filler{}, err
	}
	f.EPT, f.Duration, f.CreatedAt = u64(ept), u64(dur), fromNanos(created)
	return f, nil
}

// Fillers returns the track's fillers made from slate with fromK <= K <=
// toK, ordered by K.
func (db *DB) Fillers(ctx context.Context, trackID int64, slate string, fromK, toK int64) ([]Filler, error) {
	rows, err := db.query(ctx, `SELECT `+fillerCols+` FROM fillers
WHERE track_id = `+idArg+` AND slate = ? AND k BETWEEN ? AND ? ORDER BY k`, trackID, slate, fromK, toK)
	if err != nil {
		return nil, fmt.Errorf("index: fillers of %d: %w", trackID, err)
	}
	defer rows.Close()
	var out []Filler
	for rows.Next() {
		f, err := scanFiller(rows)
		if err != nil {
			return nil, fmt.Errorf("index: fillers of %d: %w", trackID, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: fillers of %d: %w", trackID, err)
	}
	return out, nil
}
