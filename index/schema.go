package index

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] brings the schema from version i to version i+1. Append new
// migrations; never edit a released one.
var migrations = []string{
	// 1: initial schema.
	`
CREATE TABLE channels (
	id               INTEGER PRIMARY KEY,
	name             TEXT    NOT NULL UNIQUE,
	preferred_source TEXT    NOT NULL DEFAULT ''
);

CREATE TABLE sources (
	id         INTEGER PRIMARY KEY,
	channel_id INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	name       TEXT    NOT NULL,
	url        TEXT    NOT NULL DEFAULT '',
	UNIQUE (channel_id, name)
);

CREATE TABLE tracks (
	id           INTEGER PRIMARY KEY,
	channel_id   INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	rep          TEXT    NOT NULL,
	content_type TEXT    NOT NULL DEFAULT '',
	mime_type    TEXT    NOT NULL DEFAULT '',
	codecs       TEXT    NOT NULL DEFAULT '',
	lang         TEXT    NOT NULL DEFAULT '',
	roles        TEXT    NOT NULL DEFAULT '',
	width        INTEGER NOT NULL DEFAULT 0,
	height       INTEGER NOT NULL DEFAULT 0,
	frame_rate   TEXT    NOT NULL DEFAULT '',
	sample_rate  INTEGER NOT NULL DEFAULT 0,
	channels     INTEGER NOT NULL DEFAULT 0,
	bandwidth    INTEGER NOT NULL DEFAULT 0,
	timescale    INTEGER NOT NULL DEFAULT 0,
	seg_dur      INTEGER NOT NULL DEFAULT 0,
	ext          TEXT    NOT NULL DEFAULT '',
	UNIQUE (channel_id, rep)
);

CREATE TABLE inits (
	id          INTEGER PRIMARY KEY,
	track_id    INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	hash        TEXT    NOT NULL,
	config_hash TEXT    NOT NULL DEFAULT '',
	key         TEXT    NOT NULL DEFAULT '',
	size        INTEGER NOT NULL DEFAULT 0,
	first_k     INTEGER NOT NULL,
	UNIQUE (track_id, hash)
);

-- One row per stored copy: the clustered primary key makes K-range scans,
-- min/max and gap detection index-only.
CREATE TABLE segments (
	track_id    INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	k           INTEGER NOT NULL,
	ept         INTEGER NOT NULL,
	duration    INTEGER NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT    NOT NULL,
	key         TEXT    NOT NULL,
	init_id     INTEGER REFERENCES inits(id),
	source_id   INTEGER REFERENCES sources(id),
	received_at INTEGER NOT NULL, -- Unix nanoseconds, 0 if unknown
	PRIMARY KEY (track_id, k)
) WITHOUT ROWID;

CREATE TABLE deliveries (
	id           INTEGER PRIMARY KEY,
	track_id     INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	k            INTEGER NOT NULL,
	source_id    INTEGER NOT NULL REFERENCES sources(id),
	outcome      TEXT    NOT NULL CHECK (outcome IN ('stored','duplicate','conflict','missing','rejected')),
	ept          INTEGER NOT NULL,
	duration     INTEGER NOT NULL,
	size         INTEGER NOT NULL,
	sha256       TEXT    NOT NULL,
	identical    INTEGER NOT NULL,
	timing_equal INTEGER NOT NULL,
	received_at  INTEGER NOT NULL, -- Unix nanoseconds, 0 if unknown
	detail       TEXT    NOT NULL
);
CREATE INDEX deliveries_track_k ON deliveries (track_id, k);
-- Per-source outcome counts over a K range are index-only range counts:
-- one seek per (source, outcome, identical) group, then the K range.
CREATE INDEX deliveries_track_source_outcome ON deliveries (track_id, source_id, outcome, identical, k);
`,
}

// SchemaVersion is the schema version this package creates and expects.
var SchemaVersion = len(migrations)

func (db *DB) migrate(ctx context.Context) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
			return fmt.Errorf("index: schema_version: %w", err)
		}
		var v int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v); err != nil {
			return fmt.Errorf("index: schema_version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("index: database schema version %d is newer than this program's (%d)", v, len(migrations))
		}
		if v == len(migrations) {
			return nil
		}
		for i := v; i < len(migrations); i++ {
			if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
				return fmt.Errorf("index: migration to version %d: %w", i+1, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM schema_version`); err != nil {
			return fmt.Errorf("index: schema_version: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, len(migrations)); err != nil {
			return fmt.Errorf("index: schema_version: %w", err)
		}
		return nil
	})
}
