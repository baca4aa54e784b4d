package index

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"math/bits"

	"github.com/reaparchive/reaparchive/cmaf"
)

// Event is one timed-metadata event of a track: an emsg box of a stored
// segment. Equal (TrackID, Scheme, Value, ID) is the same event.
type Event struct {
	TrackID int64
	Rep     string // filled by Events
	Scheme  string
	Value   string
	ID      uint32
	K       int64 // smallest epoch index of a stored segment that carried it
	Version int   // of the emsg box
	// Timescale and PresentationTime are the event's exact start: ticks
	// since the epoch of the media timeline.
	Timescale        uint32
	PresentationTime uint64
	Duration         uint32 // Timescale ticks; UnknownEventDuration: unknown
	Message          []byte
}

// EmsgEvent is the index row of event e (resolved:
// cmaf.SegmentInfo.ResolvedEvents) carried by segment K of a track. It is
// the one mapping of emsg fields to event rows: the recorder and Reindex
// both build their rows with it.
func EmsgEvent(trackID, k int64, e cmaf.Emsg) Event {
	return Event{TrackID: trackID, Scheme: e.SchemeIDURI, Value: e.Value, ID: e.ID, K: k, Version: int(e.Version),
		Timescale: e.Timescale, PresentationTime: e.PresentationTime, Duration: e.EventDuration, Message: e.Message}
}

// UnknownEventDuration is the emsg event_duration of an event whose
// duration is unknown.
const UnknownEventDuration = math.MaxUint32

// StartMillis is the event's start in Unix milliseconds, rounded down.
func (e Event) StartMillis() (int64, error) {
	if e.Timescale == 0 {
		return 0, fmt.Errorf("index: event %q id %d: timescale 0", e.Scheme, e.ID)
	}
	hi, lo := bits.Mul64(e.PresentationTime, 1000)
	if hi >= uint64(e.Timescale) {
		return 0, fmt.Errorf("index: event %q id %d: time %d/%d out of range", e.Scheme, e.ID, e.PresentationTime, e.Timescale)
	}
	ms, _ := bits.Div64(hi, lo, uint64(e.Timescale))
	if ms > math.MaxInt64 {
		return 0, fmt.Errorf("index: event %q id %d: time %d/%d out of range", e.Scheme, e.ID, e.PresentationTime, e.Timescale)
	}
	return int64(ms), nil
}

// SchemeValue is an event stream: a scheme and a value.
type SchemeValue struct {
	Scheme string
	Value  string
}

// AddEvents records events in one transaction. An event the index has
// already (same track, scheme, value and id) is kept as it is, except that
// its K becomes the smaller of the two.
func (db *DB) AddEvents(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	args, err := eventArgs(evs)
	if err != nil {
		return err
	}
	return db.write(ctx, func(tx *sql.Tx) error { return db.addEvents(ctx, tx, evs, args) })
}

// eventArgs is the insertEventSQL arguments of each of evs.
func eventArgs(evs []Event) ([][]any, error) {
	out := make([][]any, len(evs))
	for i, e := range evs {
		pt, err := i64(e.PresentationTime, "event presentation time")
		if err != nil {
			return nil, err
		}
		ms, err := e.StartMillis()
		if err != nil {
			return nil, err
		}
		msg := e.Message
		if msg == nil {
			msg = []byte{}
		}
		out[i] = []any{e.TrackID, e.Scheme, e.Value, int64(e.ID), e.K, e.Version, int64(e.Timescale), pt, int64(e.Duration), msg, ms}
	}
	return out, nil
}

// addEvents runs AddEvents' inserts (args: eventArgs(evs)) in tx.
func (db *DB) addEvents(ctx context.Context, tx *sql.Tx, evs []Event, args [][]any) error {
	if len(evs) == 0 {
		return nil
	}
	st := tx.StmtContext(ctx, db.hot.insEvent)
	for i, a := range args {
		if _, err := st.ExecContext(ctx, a...); err != nil {
			return fmt.Errorf("index: add event %q id %d of track %d: %w", evs[i].Scheme, evs[i].ID, evs[i].TrackID, err)
		}
	}
	return nil
}

// Events returns the channel's events that start in [fromMs, toMs) (Unix
// milliseconds), ordered by start, then representation, scheme, value, id.
func (db *DB) Events(ctx context.Context, channelID, fromMs, toMs int64) ([]Event, error) {
	rows, err := db.query(ctx, `SELECT e.track_id, t.rep, e.scheme, e.value, e.id, e.k, e.version, e.timescale,
e.presentation_time, e.duration, e.message
FROM events e JOIN tracks t ON t.id = e.track_id
WHERE t.channel_id = `+idArg+` AND e.start_ms >= ? AND e.start_ms < ?
ORDER BY e.start_ms, e.presentation_time, t.rep, e.scheme, e.value, e.id`, channelID, fromMs, toMs)
	if err != nil {
		return nil, fmt.Errorf("index: events of channel %d: %w", channelID, err)
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var id, ts, pt, dur int64
		if err := rows.Scan(&e.TrackID, &e.Rep, &e.Scheme, &e.Value, &id, &e.K, &e.Version, &ts, &pt, &dur, &e.Message); err != nil {
			return nil, fmt.Errorf("index: events of channel %d: %w", channelID, err)
		}
		e.ID, e.Timescale, e.PresentationTime, e.Duration = uint32(id), uint32(ts), u64(pt), uint32(dur)
		if e.Message == nil {
			e.Message = []byte{}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: events of channel %d: %w", channelID, err)
	}
	return out, nil
}

// EventSchemes returns the distinct (scheme, value) of the track's events
// carried by segments fromK..toK, sorted.
func (db *DB) EventSchemes(ctx context.Context, trackID, fromK, toK int64) ([]SchemeValue, error) {
	rows, err := db.query(ctx, `SELECT DISTINCT scheme, value FROM events
WHERE track_id = `+idArg+` AND k BETWEEN ? AND ? ORDER BY scheme, value`, trackID, fromK, toK)
	if err != nil {
		return nil, fmt.Errorf("index: event schemes of track %d: %w", trackID, err)
	}
	defer rows.Close()
	var out []SchemeValue
	for rows.Next() {
		var s SchemeValue
		if err := rows.Scan(&s.Scheme, &s.Value); err != nil {
			return nil, fmt.Errorf("index: event schemes of track %d: %w", trackID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: event schemes of track %d: %w", trackID, err)
	}
	return out, nil
}

// SchemeSpan is where, between two Ks, a track's segments carry events of
// one scheme and value: the first and the last K that does.
type SchemeSpan struct {
	TrackID int64
	SchemeValue
	FromK, ToK int64
}

// EventSchemeSpans returns, for every track of a channel and every
// (scheme, value) its segments fromK..toK carry, the first and the last K
// that carries it; ordered by track, scheme and value. One query answers
// for a whole presentation what EventSchemes answers a track and range at
// a time.
func (db *DB) EventSchemeSpans(ctx context.Context, channelID, fromK, toK int64) ([]SchemeSpan, error) {
	rows, err := db.query(ctx, `SELECT track_id, scheme, value, min(k), max(k) FROM events
WHERE track_id IN (SELECT id FROM tracks WHERE channel_id = `+idArg+`) AND k BETWEEN ? AND ?
GROUP BY track_id, scheme, value ORDER BY track_id, scheme, value`, channelID, fromK, toK)
	if err != nil {
		return nil, fmt.Errorf("index: event schemes of channel %d: %w", channelID, err)
	}
	defer rows.Close()
	var out []SchemeSpan
	for rows.Next() {
		var s SchemeSpan
		if err := rows.Scan(&s.TrackID, &s.Scheme, &s.Value, &s.FromK, &s.ToK); err != nil {
			return nil, fmt.Errorf("index: event schemes of channel %d: %w", channelID, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: event schemes of channel %d: %w", channelID, err)
	}
	return out, nil
}

// EventCounts returns, for each K fromK..toK of the track that has events
// (an event counts at the smallest K that carried it), how many.
func (db *DB) EventCounts(ctx context.Context, trackID, fromK, toK int64) (map[int64]int, error) {
	rows, err := db.rd().QueryContext(ctx, `SELECT k, count(*) FROM events
WHERE track_id = ? AND k BETWEEN ? AND ? GROUP BY k`, trackID, fromK, toK)
	if err != nil {
		return nil, fmt.Errorf("index: event counts of track %d: %w", trackID, err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var k int64
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("index: event counts of track %d: %w", trackID, err)
		}
		out[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("index: event counts of track %d: %w", trackID, err)
	}
	return out, nil
}
