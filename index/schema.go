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
	// 2: filler segments (export-vod --gaps fill). A new table only: the
	// tables of version 1 and every query on them are unchanged.
	`
-- One row per filler object: a slate segment re-timed to epoch index k of a
-- track, stored at key (<channel>/<rep>/filler/<k>-<slate>.<ext>) and
-- decoding with the init at init_key. A filler never becomes a segment: the
-- K stays a gap of the track.
CREATE TABLE fillers (
	track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	k          INTEGER NOT NULL,
	slate      TEXT    NOT NULL, -- id of the slate track (16 hex digits)
	ept        INTEGER NOT NULL,
	duration   INTEGER NOT NULL,
	size       INTEGER NOT NULL,
	sha256     TEXT    NOT NULL,
	key        TEXT    NOT NULL,
	init_key   TEXT    NOT NULL,
	created_at INTEGER NOT NULL, -- Unix nanoseconds
	PRIMARY KEY (track_id, slate, k)
) WITHOUT ROWID;
`,
	// 3: splices (reaparchive splice). New tables only; a splice changes
	// segment rows in place and keeps what they were in segment_history.
	`
-- One row per splice: segments of [from_k, to_k] replaced by copies from
-- source, written under <channel>/<rep>/splice-<id>/. Undoing it restores
-- the rows from segment_history and sets undone_at; the row and its
-- history are kept.
CREATE TABLE splices (
	id          TEXT    NOT NULL PRIMARY KEY, -- 16 hex digits
	channel_id  INTEGER NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
	from_k      INTEGER NOT NULL,
	to_k        INTEGER NOT NULL,
	source      TEXT    NOT NULL, -- where the replacements came from (URL)
	source_name TEXT    NOT NULL, -- the reap-source of its objects
	record_key  TEXT    NOT NULL, -- <channel>/splice-<id>.json
	created_at  INTEGER NOT NULL, -- Unix nanoseconds
	undone_at   INTEGER           -- Unix nanoseconds; NULL while active
) WITHOUT ROWID;
CREATE INDEX splices_channel ON splices (channel_id, created_at);

-- One row per segment a splice replaced: the replaced row as it was (so an
-- undo restores it exactly) and the replacement's key and sha256.
CREATE TABLE segment_history (
	splice_id   TEXT    NOT NULL REFERENCES splices(id) ON DELETE CASCADE,
	track_id    INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	k           INTEGER NOT NULL,
	ept         INTEGER NOT NULL,
	duration    INTEGER NOT NULL,
	size        INTEGER NOT NULL,
	sha256      TEXT    NOT NULL,
	key         TEXT    NOT NULL,
	init_id     INTEGER,          -- no foreign key: history never blocks a change
	source_id   INTEGER,
	received_at INTEGER NOT NULL,
	new_key     TEXT    NOT NULL,
	new_sha256  TEXT    NOT NULL,
	PRIMARY KEY (splice_id, track_id, k)
) WITHOUT ROWID;

-- The init segments a splice's replacements decode with, and whether the
-- splice added the index row and/or created the object (an undo removes
-- exactly those, unless something else decodes with them by then).
CREATE TABLE splice_inits (
	splice_id      TEXT    NOT NULL REFERENCES splices(id) ON DELETE CASCADE,
	track_id       INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	hash           TEXT    NOT NULL, -- full hex sha256
	key            TEXT    NOT NULL,
	row_created    INTEGER NOT NULL,
	object_created INTEGER NOT NULL,
	PRIMARY KEY (splice_id, track_id, hash)
) WITHOUT ROWID;
`,
	// 4: events (emsg boxes of stored segments). A new table only.
	`
-- One row per event of a track: DASH says emsg boxes with equal scheme,
-- value and id are the same event, so a repeat (in later segments, from
-- other sources) is stored once. k is the smallest epoch index of a stored
-- segment that carried it. The start is exact as presentation_time in
-- timescale ticks since the epoch; start_ms (its floor in Unix
-- milliseconds) is for range queries.
CREATE TABLE events (
	track_id          INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	scheme            TEXT    NOT NULL,
	value             TEXT    NOT NULL,
	id                INTEGER NOT NULL,
	k                 INTEGER NOT NULL,
	version           INTEGER NOT NULL, -- of the emsg box
	timescale         INTEGER NOT NULL,
	presentation_time INTEGER NOT NULL,
	duration          INTEGER NOT NULL, -- timescale ticks; 4294967295: unknown
	message           BLOB    NOT NULL,
	start_ms          INTEGER NOT NULL,
	PRIMARY KEY (track_id, scheme, value, id)
) WITHOUT ROWID;
CREATE INDEX events_track_k ON events (track_id, k);
CREATE INDEX events_track_start ON events (track_id, start_ms);
`,
	// 5: encoder fillers and end of stream (DASH-IF ingest styp brands
	// slat and lmsg). New columns with defaults: rows of earlier versions are
	// real segments that are not a track's last.
	`
-- filler: the stored copy is an encoder's filler (styp brand slat); a later
-- real copy of the K replaces the row (LAYOUT.md, Encoder fillers).
-- last_segment: the segment carries lmsg, the track's clean end.
ALTER TABLE segments ADD COLUMN filler INTEGER NOT NULL DEFAULT 0;
ALTER TABLE segments ADD COLUMN last_segment INTEGER NOT NULL DEFAULT 0;
-- filler: this delivery was an encoder's filler.
ALTER TABLE deliveries ADD COLUMN filler INTEGER NOT NULL DEFAULT 0;
-- A splice's replacement is no filler and no end; undo restores the flags.
ALTER TABLE segment_history ADD COLUMN filler INTEGER NOT NULL DEFAULT 0;
ALTER TABLE segment_history ADD COLUMN last_segment INTEGER NOT NULL DEFAULT 0;
CREATE INDEX segments_filler ON segments (track_id, k) WHERE filler = 1;
CREATE INDEX segments_last ON segments (track_id, k) WHERE last_segment = 1;
`,
	// 6: track labels (the source's DASH Label). A new column with a
	// default: tracks of earlier versions have no label.
	`
ALTER TABLE tracks ADD COLUMN label TEXT NOT NULL DEFAULT '';
`,
	// 7: cue checks of text tracks (wvtt, stpp). A new table only.
	`
-- One row per issue the cue check found in the stored segment K of a text
-- track (archive.Channel.OfferSegment, cmaf.CheckText): kind is order,
-- alignment, malformed or cue_time; seq orders a segment's issues. A new
-- copy of K (an encoder filler replaced) replaces its rows.
CREATE TABLE text_issues (
	track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	k        INTEGER NOT NULL,
	seq      INTEGER NOT NULL,
	kind     TEXT    NOT NULL,
	detail   TEXT    NOT NULL,
	PRIMARY KEY (track_id, k, seq)
) WITHOUT ROWID;
`,
	// 8: retention (reaparchive prune). A new table only: a track without a
	// row has never been pruned.
	`
-- One row per pruned track: start_k is the start of the track's archive.
-- Segment rows with k < start_k, outside the active holds, are expiring:
-- their objects are being (or have been) deleted, and the next prune
-- removes the rows (LAYOUT.md, Retention and deletion order). horizon is
-- the wall-clock time (Unix nanoseconds) that set start_k.
CREATE TABLE expiry (
	track_id INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
	start_k  INTEGER NOT NULL,
	horizon  INTEGER NOT NULL
);
`,
	// 9: the change log of segment rows (SegmentChanges). New tables
	// filled by triggers and by InsertSegments: rows of earlier versions
	// have no changes (a reader starts from the head).
	`
-- One row per insert, update or delete of a segment row, written by the
-- triggers below in the writer's own transaction (whichever process
-- writes: record, reindex --follow, prune, splice), or per track of a bulk
-- insert (the K range it wrote): seq orders them. A
-- reader holding rows (the origin's live windows) reads the changes after
-- the last seq it saw instead of the rows. Every changeLogTrim-th change
-- deletes those older than changeLogKeep changes and raises
-- segment_changes_floor; a reader behind the floor reads its rows again.
CREATE TABLE segment_changes (
	seq      INTEGER PRIMARY KEY,
	track_id INTEGER NOT NULL,
	k        INTEGER NOT NULL, -- the K range [k, to_k] that changed
	to_k     INTEGER NOT NULL
);
-- Changes with seq <= floor are deleted.
CREATE TABLE segment_changes_floor (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	floor INTEGER NOT NULL
);
INSERT INTO segment_changes_floor (id, floor) VALUES (1, 0);
-- A bulk insert (InsertSegments of many rows) drops the three row triggers
-- in its transaction, logs one K range per track itself and creates them
-- again from their text here, before it commits.
CREATE TRIGGER segments_log_insert AFTER INSERT ON segments BEGIN
	INSERT INTO segment_changes (track_id, k, to_k) VALUES (NEW.track_id, NEW.k, NEW.k);
END;
CREATE TRIGGER segments_log_update AFTER UPDATE ON segments BEGIN
	INSERT INTO segment_changes (track_id, k, to_k) VALUES (OLD.track_id, OLD.k, OLD.k);
	INSERT INTO segment_changes (track_id, k, to_k) SELECT NEW.track_id, NEW.k, NEW.k WHERE NEW.track_id != OLD.track_id OR NEW.k != OLD.k;
END;
CREATE TRIGGER segments_log_delete AFTER DELETE ON segments BEGIN
	INSERT INTO segment_changes (track_id, k, to_k) VALUES (OLD.track_id, OLD.k, OLD.k);
END;
-- changeLogTrim = 1024, changeLogKeep = 65536 (index/changes.go).
CREATE TRIGGER segment_changes_trim AFTER INSERT ON segment_changes WHEN NEW.seq % 1024 = 0 BEGIN
	DELETE FROM segment_changes WHERE seq <= NEW.seq - 65536;
	UPDATE segment_changes_floor SET floor = NEW.seq - 65536 WHERE floor < NEW.seq - 65536;
END;
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
