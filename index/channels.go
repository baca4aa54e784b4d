package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// EnsureChannel returns the channel called name, creating it if needed.
func (db *DB) EnsureChannel(ctx context.Context, name string) (ChannelRow, error) {
	if name == "" {
		return ChannelRow{}, errors.New("index: empty channel name")
	}
	if c, err := db.Channel(ctx, name); err == nil || !errors.Is(err, ErrNotFound) {
		return c, err
	}
	var c ChannelRow
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO channels (name) VALUES (?) ON CONFLICT (name) DO NOTHING`, name); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id, name, preferred_source FROM channels WHERE name = ?`, name).
			Scan(&c.ID, &c.Name, &c.PreferredSource)
	})
	if err != nil {
		return ChannelRow{}, fmt.Errorf("index: ensure channel %q: %w", name, err)
	}
	return c, nil
}

// SetPreferredSource sets the channel's preferred source name ("" clears it).
func (db *DB) SetPreferredSource(ctx context.Context, channelID int64, source string) error {
	res, err := db.writer.ExecContext(ctx, `UPDATE channels SET preferred_source = ? WHERE id = ?`, source, channelID)
	if err != nil {
		return fmt.Errorf("index: set preferred source: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("index: channel %d: %w", channelID, ErrNotFound)
	}
	return nil
}

// Channel returns the channel called name, or an error wrapping ErrNotFound.
func (db *DB) Channel(ctx context.Context, name string) (ChannelRow, error) {
	var c ChannelRow
	err := db.queryRow(ctx, `SELECT id, name, preferred_source FROM channels WHERE name = ?`, name).
		Scan(&c.ID, &c.Name, &c.PreferredSource)
	if errors.Is(err, sql.ErrNoRows) {
		return ChannelRow{}, fmt.Errorf("index: channel %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return ChannelRow{}, fmt.Errorf("index: channel %q: %w", name, err)
	}
	return c, nil
}

// Channels returns all channels ordered by name.
func (db *DB) Channels(ctx context.Context) ([]ChannelRow, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT id, name, preferred_source FROM channels ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("index: channels: %w", err)
	}
	defer rows.Close()
	var out []ChannelRow
	for rows.Next() {
		var c ChannelRow
		if err := rows.Scan(&c.ID, &c.Name, &c.PreferredSource); err != nil {
			return nil, fmt.Errorf("index: channels: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: channels: %w", err)
	}
	return out, nil
}

// EnsureSource returns the source name of the channel, creating it if needed.
// A non-empty url replaces the stored one when it differs.
func (db *DB) EnsureSource(ctx context.Context, channelID int64, name, url string) (SourceRow, error) {
	if name == "" {
		return SourceRow{}, errors.New("index: empty source name")
	}
	var s SourceRow
	err := db.rd().QueryRowContext(ctx, `SELECT id, channel_id, name, url FROM sources WHERE channel_id = ? AND name = ?`, channelID, name).
		Scan(&s.ID, &s.ChannelID, &s.Name, &s.URL)
	if err == nil && (url == "" || url == s.URL) {
		return s, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return SourceRow{}, fmt.Errorf("index: ensure source %q: %w", name, err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `
INSERT INTO sources (channel_id, name, url) VALUES (?, ?, ?)
ON CONFLICT (channel_id, name) DO UPDATE SET url = excluded.url WHERE excluded.url != '' AND excluded.url != url
RETURNING id, channel_id, name, url`, channelID, name, url).Scan(&s.ID, &s.ChannelID, &s.Name, &s.URL)
	})
	if errors.Is(err, sql.ErrNoRows) {
		// The conflict's DO UPDATE was skipped by its WHERE (another writer
		// stored the same url meanwhile): RETURNING yields nothing.
		err = db.writer.QueryRowContext(ctx, `SELECT id, channel_id, name, url FROM sources WHERE channel_id = ? AND name = ?`, channelID, name).
			Scan(&s.ID, &s.ChannelID, &s.Name, &s.URL)
	}
	if err != nil {
		return SourceRow{}, fmt.Errorf("index: ensure source %q: %w", name, err)
	}
	return s, nil
}

// Sources returns the channel's sources ordered by name.
func (db *DB) Sources(ctx context.Context, channelID int64) ([]SourceRow, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT id, channel_id, name, url FROM sources WHERE channel_id = ? ORDER BY name`, channelID)
	if err != nil {
		return nil, fmt.Errorf("index: sources: %w", err)
	}
	defer rows.Close()
	var out []SourceRow
	for rows.Next() {
		var s SourceRow
		if err := rows.Scan(&s.ID, &s.ChannelID, &s.Name, &s.URL); err != nil {
			return nil, fmt.Errorf("index: sources: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: sources: %w", err)
	}
	return out, nil
}
