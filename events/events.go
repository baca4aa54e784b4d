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
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/manifest"
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
	PTS *uint64 `json:"pts,omitempty"`
	// BreakDurationSeconds is a splice_insert's break_duration, or the
	// segmentation_duration of a time_signal's segmentation descriptor.
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
		s.BreakDurationSeconds = segmentationDuration(sis.SpliceDescriptors)
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

// segmentationDuration is the segmentation_duration (seconds) of the first
// segmentation descriptor that has one.
func segmentationDuration(ds scte35.SpliceDescriptors) *float64 {
	for _, d := range ds {
		if sd, ok := d.(*scte35.SegmentationDescriptor); ok && sd.SegmentationDuration != nil {
			v := float64(*sd.SegmentationDuration) / 90000
			return &v
		}
	}
	return nil
}

// Cue is what an SCTE-35 message does to a break: CueOut starts one (a
// splice_insert out of network, or a time_signal whose segmentation
// descriptor starts a break, an ad or a placement opportunity), CueIn ends
// one (the return), CueCmd is anything else.
func (s *Splice) Cue() manifest.Cue {
	switch {
	case s.Command == "splice_insert" && !s.Cancel && s.OutOfNetwork != nil:
		if *s.OutOfNetwork {
			return manifest.CueOut
		}
		return manifest.CueIn
	case s.Command == "time_signal":
		for _, id := range s.SegmentationTypeIDs {
			if breakStarts(id) {
				return manifest.CueOut
			}
			if breakStarts(id - 1) {
				return manifest.CueIn
			}
		}
	}
	return manifest.CueCmd
}

// breakStarts reports whether segmentation_type_id id starts a break (the
// type that ends it is id+1): break, provider/distributor ad, placement
// opportunity, overlay, promo, unscheduled event, alternate content and
// ad block starts (ANSI/SCTE 35 table 23).
func breakStarts(id uint32) bool {
	return id == scte35.SegmentationTypeBreakStart ||
		(id >= scte35.SegmentationTypeProviderAdStart && id <= scte35.SegmentationTypeDistributorAdBlockStart && id%2 == 0)
}

// ForExport loads the channel's SCTE-35 events that start in [from, to)
// (one index query) as the data the manifest builders signal: each event
// once (every track carries its own copy of an emsg), with its cue and its
// break duration (from the message, else from the emsg's duration). An
// undecodable message is signalled as a command (SCTE35-CMD).
func ForExport(ctx context.Context, db *index.DB, channel string, from, to time.Time) ([]manifest.SCTE35Event, error) {
	evs, err := List(ctx, db, channel, from, to)
	if err != nil {
		return nil, err
	}
	type key struct {
		id   uint32
		time int64 // ns since the epoch
	}
	seen := map[key]bool{}
	var out []manifest.SCTE35Event
	for _, e := range evs {
		if e.SchemeIDURI != SCTE35Scheme || seen[key{e.ID, e.Time.UnixNano()}] {
			continue
		}
		seen[key{e.ID, e.Time.UnixNano()}] = true
		msg, err := base64.StdEncoding.DecodeString(e.MessageBase64)
		if err != nil {
			return nil, fmt.Errorf("event id %d of %s: %w", e.ID, e.Rep, err)
		}
		me := manifest.SCTE35Event{ID: e.ID, Timescale: e.Timescale, Time: e.PresentationTime, Cue: manifest.CueCmd, Message: msg}
		dur := e.DurationSeconds
		if e.SCTE35 != nil {
			me.Cue = e.SCTE35.Cue()
			if e.SCTE35.BreakDurationSeconds != nil {
				dur = e.SCTE35.BreakDurationSeconds
			}
		}
		if dur != nil && *dur > 0 {
			me.Duration = uint64(math.Round(*dur * float64(e.Timescale)))
		}
		out = append(out, me)
	}
	return out, nil
}

// VoD is export-vod's export of o: with the range's SCTE-35 events from
// the index (ForExport) unless o.Events keeps them in-band only, then
// d.VoD. The CLI and the origin's export jobs both export this way.
func VoD(ctx context.Context, d export.Deps, o export.Options) (export.Result, error) {
	if o.Events != export.EventsInband {
		var err error
		if o.SCTE35, err = ForExport(ctx, d.DB, o.Channel, o.From, o.To); err != nil {
			return export.Result{}, err
		}
	}
	return d.VoD(ctx, o)
}
