package index

import (
	"context"
	"database/sql"
	"fmt"
)

// TextIssue is one violation of a text track's cue rules (order, grid
// alignment, well-formed cues) found in its stored segment K.
type TextIssue struct {
	TrackID int64
	Rep     string // filled by TextIssues
	K       int64
	Kind    string
	Detail  string
}

// SetTextIssues makes issues the issues of the track's segment K,
// replacing any it had (none: the segment is clean). A clean K that had
// none costs one read, no write.
func (db *DB) SetTextIssues(ctx context.Context, trackID, k int64, issues []TextIssue) error {
	if len(issues) == 0 {
		var had bool
		err := db.rd().QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM text_issues WHERE track_id = ? AND k = ?)`, trackID, k).Scan(&had)
		if err != nil {
			return fmt.Errorf("index: text issues of %d/%d: %w", trackID, k, err)
		}
		if !had {
			return nil
		}
	}
	return db.write(ctx, func(tx *sql.Tx) error { return db.setTextIssues(ctx, tx, trackID, k, issues) })
}

// setTextIssues runs SetTextIssues' writes in tx.
func (db *DB) setTextIssues(ctx context.Context, tx *sql.Tx, trackID, k int64, issues []TextIssue) error {
	if _, err := tx.StmtContext(ctx, db.hot.delText).ExecContext(ctx, trackID, k); err != nil {
		return fmt.Errorf("index: text issues of %d/%d: %w", trackID, k, err)
	}
	ins := tx.StmtContext(ctx, db.hot.insText)
	for i, is := range issues {
		if _, err := ins.ExecContext(ctx, trackID, k, i, is.Kind, is.Detail); err != nil {
			return fmt.Errorf("index: text issues of %d/%d: %w", trackID, k, err)
		}
	}
	return nil
}

// TextIssueCount is how many text issues the track's segments have.
func (db *DB) TextIssueCount(ctx context.Context, trackID int64) (int64, error) {
	var n int64
	if err := db.rd().QueryRowContext(ctx, `SELECT count(*) FROM text_issues WHERE track_id = ?`, trackID).Scan(&n); err != nil {
		return 0, fmt.Errorf("index: text issues of track %d: %w", trackID, err)
	}
	return n, nil
}

// TextIssues returns the channel's text issues ordered by representation,
// K and their order in the segment.
func (db *DB) TextIssues(ctx context.Context, channelID int64) ([]TextIssue, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT i.track_id, t.rep, i.k, i.kind, i.detail
FROM text_issues i JOIN tracks t ON t.id = i.track_id
WHERE t.channel_id = ? ORDER BY t.rep, i.k, i.seq`, channelID)
	if err != nil {
		return nil, fmt.Errorf("index: text issues of channel %d: %w", channelID, err)
	}
	defer rows.Close()
	var out []TextIssue
	for rows.Next() {
		var is TextIssue
		if err := rows.Scan(&is.TrackID, &is.Rep, &is.K, &is.Kind, &is.Detail); err != nil {
			return nil, fmt.Errorf("index: text issues of channel %d: %w", channelID, err)
		}
		out = append(out, is)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: text issues of channel %d: %w", channelID, err)
	}
	return out, nil
}
