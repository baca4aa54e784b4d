package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

const trackCols = `id, channel_id, rep, content_type, mime_type, codecs, lang, roles, width, height,
	frame_rate, sample_rate, channels, bandwidth, timescale, seg_dur, ext, label`

// trackOrder sorts video, audio, text, metadata, then anything else; then rep.
const trackOrder = `CASE content_type WHEN 'video' THEN 0 WHEN 'audio' THEN 1 WHEN 'text' THEN 2 WHEN 'metadata' THEN 3 ELSE 4 END, rep`

type scanner interface{ Scan(dest ...any) error }

func scanTrack(s scanner) (Track, error) {
	var t Track
	var timescale, segDur int64
	err := s.Scan(&t.ID, &t.ChannelID, &t.Rep, &t.ContentType, &t.MimeType, &t.Codecs, &t.Lang, &t.Roles,
		&t.Width, &t.Height, &t.FrameRate, &t.SampleRate, &t.Channels, &t.Bandwidth, &timescale, &segDur, &t.Ext, &t.Label)
	t.Timescale = uint32(timescale)
	t.SegDur = u64(segDur)
	return t, err
}

// UpsertTrack creates the track (t.ChannelID, t.Rep) or, if it exists,
// overwrites each metadata field that is non-zero in t, keeping the others.
// It returns the stored row. t.ID is ignored.
func (db *DB) UpsertTrack(ctx context.Context, t Track) (Track, error) {
	if t.Rep == "" {
		return Track{}, errors.New("index: upsert track: empty rep")
	}
	segDur, err := i64(t.SegDur, "segment duration")
	if err != nil {
		return Track{}, err
	}
	var out Track
	err = db.write(ctx, func(tx *sql.Tx) error {
		row := tx.QueryRowContext(ctx, `
INSERT INTO tracks (channel_id, rep, content_type, mime_type, codecs, lang, roles, width, height,
	frame_rate, sample_rate, channels, bandwidth, timescale, seg_dur, ext, label)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (channel_id, rep) DO UPDATE SET
	content_type = coalesce(nullif(excluded.content_type, ''), content_type),
	mime_type    = coalesce(nullif(excluded.mime_type, ''), mime_type),
	codecs       = coalesce(nullif(excluded.codecs, ''), codecs),
	lang         = coalesce(nullif(excluded.lang, ''), lang),
	roles        = coalesce(nullif(excluded.roles, ''), roles),
	width        = coalesce(nullif(excluded.width, 0), width),
	height       = coalesce(nullif(excluded.height, 0), height),
	frame_rate   = coalesce(nullif(excluded.frame_rate, ''), frame_rate),
	sample_rate  = coalesce(nullif(excluded.sample_rate, 0), sample_rate),
	channels     = coalesce(nullif(excluded.channels, 0), channels),
	bandwidth    = coalesce(nullif(excluded.bandwidth, 0), bandwidth),
	timescale    = coalesce(nullif(excluded.timescale, 0), timescale),
	seg_dur      = coalesce(nullif(excluded.seg_dur, 0), seg_dur),
	ext          = coalesce(nullif(excluded.ext, ''), ext),
	label        = coalesce(nullif(excluded.label, ''), label)
RETURNING `+trackCols,
			t.ChannelID, t.Rep, t.ContentType, t.MimeType, t.Codecs, t.Lang, t.Roles, t.Width, t.Height,
			t.FrameRate, t.SampleRate, t.Channels, t.Bandwidth, int64(t.Timescale), segDur, t.Ext, t.Label)
		var err error
		out, err = scanTrack(row)
		return err
	})
	if err != nil {
		return Track{}, fmt.Errorf("index: upsert track %q: %w", t.Rep, err)
	}
	return out, nil
}

// Track returns the track rep of the channel, or an error wrapping ErrNotFound.
func (db *DB) Track(ctx context.Context, channelID int64, rep string) (Track, error) {
	t, err := scanTrack(db.rd().QueryRowContext(ctx, `SELECT `+trackCols+` FROM tracks WHERE channel_id = ? AND rep = ?`, channelID, rep))
	if errors.Is(err, sql.ErrNoRows) {
		return Track{}, fmt.Errorf("index: track %q of channel %d: %w", rep, channelID, ErrNotFound)
	}
	if err != nil {
		return Track{}, fmt.Errorf("index: track %q: %w", rep, err)
	}
	return t, nil
}

// TrackByID returns the track with that ID, or an error wrapping ErrNotFound.
func (db *DB) TrackByID(ctx context.Context, id int64) (Track, error) {
	return trackByID(ctx, db.rd(), id)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func trackByID(ctx context.Context, q querier, id int64) (Track, error) {
	t, err := scanTrack(q.QueryRowContext(ctx, `SELECT `+trackCols+` FROM tracks WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Track{}, fmt.Errorf("index: track %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Track{}, fmt.Errorf("index: track %d: %w", id, err)
	}
	return t, nil
}

// Tracks returns the channel's tracks: video, audio, text, metadata, others;
// then by rep.
func (db *DB) Tracks(ctx context.Context, channelID int64) ([]Track, error) {
	rows, err := db.query(ctx, `SELECT `+trackCols+` FROM tracks WHERE channel_id = `+idArg+` ORDER BY `+trackOrder, channelID)
	if err != nil {
		return nil, fmt.Errorf("index: tracks: %w", err)
	}
	defer rows.Close()
	var out []Track
	for rows.Next() {
		t, err := scanTrack(rows)
		if err != nil {
			return nil, fmt.Errorf("index: tracks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: tracks: %w", err)
	}
	return out, nil
}

const initCols = `id, track_id, hash, config_hash, key, size, first_k`

func scanInit(s scanner) (Init, error) {
	var in Init
	err := s.Scan(&in.ID, &in.TrackID, &in.Hash, &in.ConfigHash, &in.Key, &in.Size, &in.FirstK)
	return in, err
}

// AddInit returns the init version (in.TrackID, in.Hash), creating it if
// needed. An existing row keeps the smaller FirstK, and gets ConfigHash, Key
// and Size filled in where they were empty.
func (db *DB) AddInit(ctx context.Context, in Init) (Init, error) {
	if in.Hash == "" {
		return Init{}, errors.New("index: add init: empty hash")
	}
	var out Init
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = scanInit(tx.QueryRowContext(ctx, `
INSERT INTO inits (track_id, hash, config_hash, key, size, first_k) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (track_id, hash) DO UPDATE SET
	first_k     = min(first_k, excluded.first_k),
	config_hash = CASE WHEN config_hash = '' THEN excluded.config_hash ELSE config_hash END,
	key         = CASE WHEN key = '' THEN excluded.key ELSE key END,
	size        = CASE WHEN size = 0 THEN excluded.size ELSE size END
RETURNING `+initCols, in.TrackID, in.Hash, in.ConfigHash, in.Key, in.Size, in.FirstK))
		return err
	})
	if err != nil {
		return Init{}, fmt.Errorf("index: add init %.12s: %w", in.Hash, err)
	}
	return out, nil
}

// Inits returns the track's init versions ordered by FirstK.
func (db *DB) Inits(ctx context.Context, trackID int64) ([]Init, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT `+initCols+` FROM inits WHERE track_id = ? ORDER BY first_k, id`, trackID)
	if err != nil {
		return nil, fmt.Errorf("index: inits: %w", err)
	}
	defer rows.Close()
	var out []Init
	for rows.Next() {
		in, err := scanInit(rows)
		if err != nil {
			return nil, fmt.Errorf("index: inits: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: inits: %w", err)
	}
	return out, nil
}

// ChannelInits returns the init versions of every track of a channel, by
// ID: what a live manifest build reads in one query rather than one init
// at a time.
func (db *DB) ChannelInits(ctx context.Context, channelID int64) (map[int64]Init, error) {
	rows, err := db.query(ctx, `SELECT `+initCols+` FROM inits WHERE track_id IN (SELECT id FROM tracks WHERE channel_id = `+idArg+`)`, channelID)
	if err != nil {
		return nil, fmt.Errorf("index: inits of channel %d: %w", channelID, err)
	}
	defer rows.Close()
	out := map[int64]Init{}
	for rows.Next() {
		in, err := scanInit(rows)
		if err != nil {
			return nil, fmt.Errorf("index: inits of channel %d: %w", channelID, err)
		}
		out[in.ID] = in
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: inits of channel %d: %w", channelID, err)
	}
	return out, nil
}

// InitByID returns an init version, or an error wrapping ErrNotFound.
func (db *DB) InitByID(ctx context.Context, id int64) (Init, error) {
	in, err := scanInit(db.queryRow(ctx, `SELECT `+initCols+` FROM inits WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Init{}, fmt.Errorf("index: init %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Init{}, fmt.Errorf("index: init %d: %w", id, err)
	}
	return in, nil
}
