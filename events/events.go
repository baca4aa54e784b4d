// Package events lists a channel's timed-metadata events (the emsg boxes of
// its stored segments, from the index) with SCTE-35 messages decoded.
package events

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"time"

	"github.com/Comcast/scte35-go/pkg/scte35"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/index"
)

// SCTE35Scheme is the scheme of emsg boxes carrying a binary SCTE-35
// splice_info_section (SCTE 214-1).
const SCTE35Scheme = "urn:scte:scte35:2013:bin"

// Event is one event as `reaparchive events` lists it.
type Event struct {
	Channel          string    `json:"channel"`
	Rep              string    `json:"rep"`
	SchemeIDURI      string    `json:"scheme_id_uri"`
	Value            string    `json:"value"`
	ID               uint32    `json:"id"`
	Time             time.Time `json:"time"`
	PresentationTime uint64    `json:"presentation_time"` // ticks of timescale since the epoch
	Timescale        uint32    `json:"timescale"`
	// DurationSeconds is nil when the emsg says the duration is unknown.
	DurationSeconds *float64 `json:"duration_seconds"`
	K               int64    `json:"k"` // the first stored segment that carried it
	EmsgVersion     int      `json:"emsg_version"`
	MessageBase64   string   `json:"message_base64"`
	// SCTE35 is the decoded message of an SCTE-35 event; SCTE35Error says
	// why it could not be decoded.
	SCTE35      *Splice `json:"scte35,omitempty"`
	SCTE35Error string  `json:"scte35_error,omitempty"`
}

// Splice is what an SCTE-35 splice_info_section says.
type Splice struct {
	Command string `json:"command"` // splice_insert, time_signal, splice_null, ...
	// SpliceEventID, OutOfNetwork, Cancel: splice_insert only.
	SpliceEventID *uint32 `json:"splice_event_id,omitempty"`
	OutOfNetwork  *bool   `json:"out_of_network,omitempty"`
	Cancel        bool    `json:"cancel,omitempty"`
	Immediate     bool    `json:"immediate,omitempty"`
	// PTS is the splice time (90 kHz, before pts_adjustment), when the
	// command gives one.
	PTS                  *uint64  `json:"pts,omitempty"`
	BreakDurationSeconds *float64 `json:"break_duration_seconds,omitempty"`
	AutoReturn           *bool    `json:"auto_return,omitempty"`
	// SegmentationTypeIDs are the segmentation_type_id of its
	// segmentation descriptors.
	SegmentationTypeIDs []uint32 `json:"segmentation_type_ids,omitempty"`
}

// List returns the channel's events that start in [from, to) (the whole
// archive when both are zero), in time order.
func List(ctx context.Context, db *index.DB, channel string, from, to time.Time) ([]Event, error) {
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		return nil, err
	}
	fromMs, toMs := int64(0), int64(math.MaxInt64)
	if !from.IsZero() || !to.IsZero() {
		fromMs, toMs = from.UnixMilli(), to.UnixMilli()
		if to.Sub(time.UnixMilli(toMs)) > 0 {
			toMs++ // [from, to) in whole milliseconds: keep an event in to's last partial millisecond
		}
	}
	rows, err := db.Events(ctx, ch.ID, fromMs, toMs)
	if err != nil {
		return nil, err
	}
	out := make([]Event, 0, len(rows))
	for _, r := range rows {
		e, err := describe(channel, r)
		if err != nil {
			return nil, err
		}
		if (!from.IsZero() || !to.IsZero()) && (e.Time.Before(from) || !e.Time.Before(to)) {
			continue
		}
		out = append(out, e)
	}
	return out, nil
}

// describe is the listing of index row r.
func describe(channel string, r index.Event) (Event, error) {
	t, err := archive.EPTTime(r.PresentationTime, r.Timescale)
	if err != nil {
		return Event{}, fmt.Errorf("event %q id %d of %s: %w", r.Scheme, r.ID, r.Rep, err)
	}
	e := Event{Channel: channel, Rep: r.Rep, SchemeIDURI: r.Scheme, Value: r.Value, ID: r.ID, Time: t,
		PresentationTime: r.PresentationTime, Timescale: r.Timescale, K: r.K, EmsgVersion: r.Version,
		MessageBase64: base64.StdEncoding.EncodeToString(r.Message)}
	if r.Duration != index.UnknownEventDuration {
		d := float64(r.Duration) / float64(r.Timescale)
		e.DurationSeconds = &d
	}
	if r.Scheme == SCTE35Scheme {
		if e.SCTE35, err = DecodeSCTE35(r.Message); err != nil {
			e.SCTE35Error = err.Error()
		}
	}
	return e, nil
}

// DecodeSCTE35 decodes a binary splice_info_section.
func DecodeSCTE35(msg []byte) (s *Splice, err error) {
	defer func() {
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("scte35: undecodable splice_info_section: %v", p)
		}
	}()
	var sis scte35.SpliceInfoSection
	if err := sis.Decode(msg); err != nil {
		return nil, fmt.Errorf("scte35: %w", err)
	}
	s = &Splice{}
	switch c := sis.SpliceCommand.(type) {
	case *scte35.SpliceInsert:
		s.Command = "splice_insert"
		id, out := c.SpliceEventID, c.OutOfNetworkIndicator
		s.SpliceEventID, s.OutOfNetwork = &id, &out
		s.Cancel, s.Immediate = c.SpliceEventCancelIndicator, c.SpliceImmediateFlag
		if c.Program != nil {
			s.PTS = c.Program.SpliceTime.PTSTime
		}
		if c.BreakDuration != nil {
			d := float64(c.BreakDuration.Duration) / 90000
			ar := c.BreakDuration.AutoReturn
			s.BreakDurationSeconds, s.AutoReturn = &d, &ar
		}
	case *scte35.TimeSignal:
		s.Command = "time_signal"
		s.PTS = c.SpliceTime.PTSTime
	case *scte35.SpliceNull:
		s.Command = "splice_null"
	case *scte35.SpliceSchedule:
		s.Command = "splice_schedule"
	case *scte35.BandwidthReservation:
		s.Command = "bandwidth_reservation"
	case *scte35.PrivateCommand:
		s.Command = "private_command"
	default:
		s.Command = fmt.Sprintf("type_0x%02x", sis.SpliceCommand.Type())
	}
	for _, d := range sis.SpliceDescriptors {
		if sd, ok := d.(*scte35.SegmentationDescriptor); ok {
			s.SegmentationTypeIDs = append(s.SegmentationTypeIDs, sd.SegmentationTypeID)
		}
	}
	return s, nil
}
