package manifest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"github.com/Eyevinn/dash-mpd/xml"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/hls-m3u8/m3u8"
)

// SCTE35EventScheme is the EventStream@schemeIdUri of SCTE-35 messages in
// an MPD (SCTE 214-1): each Event holds a Signal with the base64 of the
// binary splice_info_section.
const SCTE35EventScheme = "urn:scte:scte35:2014:xml+bin"

// scte35SignalNS is the namespace of the Signal element (SCTE 35 2016
// schema, which SCTE 214-1 refers to).
const scte35SignalNS = "http://www.scte.org/schemas/35/2016"

// Cue is what an SCTE-35 message does to an ad break.
type Cue int

// Cues.
const (
	CueCmd Cue = iota // anything else (EXT-X-DATERANGE SCTE35-CMD)
	CueOut            // starts a break (SCTE35-OUT)
	CueIn             // ends one, the return (SCTE35-IN)
)

// SCTE35Event is an SCTE-35 message that the presentation signals in its
// manifests: an MPD EventStream Event and an HLS EXT-X-DATERANGE.
type SCTE35Event struct {
	ID        uint32 // the emsg id: Event@id, and the DATERANGE ID "scte35-<id>"
	Timescale uint32
	Time      uint64 // start, Timescale ticks since 1970-01-01 (epoch timeline)
	// Duration is a CueOut's break duration in Timescale ticks; 0 when
	// unknown.
	Duration uint64
	Cue      Cue
	Message  []byte // the binary splice_info_section
}

// scte35Span is where an event lies in a presentation: which Period, and
// whether its break ends within the presentation.
type scte35Span struct {
	ev     *SCTE35Event
	period int
	open   bool // the break is still open at the presentation's end
}

// placeSCTE35 assigns each event to the Period it starts in: the last one
// that starts at or before it, or, for an event between the end of a
// Period's segments and the next Period (a gap cut out of the
// presentation), the next one. starts and ends are where each Period's
// segments start and end, in seconds on the epoch timeline. Events before
// the first Period or at or after the last one's end are left out; a
// CueOut whose break ends after that is open.
func placeSCTE35(evs []SCTE35Event, starts, ends []*big.Rat) ([]scte35Span, error) {
	end := ends[len(ends)-1]
	var out []scte35Span
	for i := range evs {
		e := &evs[i]
		if e.Timescale == 0 {
			return nil, fmt.Errorf("SCTE-35 event %d: timescale 0", e.ID)
		}
		t := ticksRat(e.Time, e.Timescale)
		if t.Cmp(starts[0]) < 0 || t.Cmp(end) >= 0 {
			continue
		}
		p := 0
		for p+1 < len(starts) && (starts[p+1].Cmp(t) <= 0 || ends[p].Cmp(t) <= 0) {
			p++
		}
		s := scte35Span{ev: e, period: p}
		if e.Cue == CueOut && (e.Duration == 0 || ticksRat(e.Time+e.Duration, e.Timescale).Cmp(end) > 0) {
			s.open = e.Duration > 0 // no duration at all: nothing to say
		}
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b scte35Span) int {
		return ticksRat(a.ev.Time, a.ev.Timescale).Cmp(ticksRat(b.ev.Time, b.ev.Timescale))
	})
	return out, nil
}

// ticksRat is ticks/timescale seconds.
func ticksRat(ticks uint64, timescale uint32) *big.Rat {
	return new(big.Rat).SetFrac(new(big.Int).SetUint64(ticks), big.NewInt(int64(timescale)))
}

// scte35EventStream is the EventStream of the Period starting at start
// (seconds on the epoch timeline) for spans (all in that Period), or nil
// when there are none. Its timescale is the first event's; its
// presentationTimeOffset is the Period start in that timescale, so each
// Event@presentationTime is the event's epoch time. An open break's Event
// has no @duration (unknown, as DASH reads a missing one): players end it
// at the end of the presentation. An event in a gap cut out before the
// Period is at its start.
func scte35EventStream(spans []scte35Span, start *big.Rat) *mpd.EventStreamType {
	if len(spans) == 0 {
		return nil
	}
	timescale := spans[0].ev.Timescale
	pt := new(big.Rat).Mul(start, new(big.Rat).SetInt64(int64(timescale)))
	pto := new(big.Int).Quo(pt.Num(), pt.Denom())
	es := &mpd.EventStreamType{SchemeIdUri: SCTE35EventScheme, Timescale: mpd.Ptr(timescale), PresentationTimeOffset: pto.Uint64()}
	for _, s := range spans {
		e := s.ev
		at, dur := rescale(e.Time, e.Timescale, timescale), rescale(e.Duration, e.Timescale, timescale)
		at = max(at, pto.Uint64()) // in a gap cut out before the Period: at its start
		ev := &mpd.EventType{PresentationTime: at, Id: mpd.Ptr(uint64(e.ID))}
		if !s.open {
			ev.Duration = dur
		}
		sig := mpd.NewSignal()
		sig.XMLName = xml.Name{Space: scte35SignalNS, Local: "Signal"}
		sig.Binary = &mpd.BinaryType{XMLName: xml.Name{Space: scte35SignalNS, Local: "Binary"}, Value: base64.StdEncoding.EncodeToString(e.Message)}
		ev.Signal = sig
		es.Events = append(es.Events, ev)
	}
	return es
}

// rescale converts ticks from one timescale to another, rounding down.
func rescale(ticks uint64, from, to uint32) uint64 {
	if from == to {
		return ticks
	}
	v := new(big.Int).Mul(new(big.Int).SetUint64(ticks), big.NewInt(int64(to)))
	return v.Quo(v, big.NewInt(int64(from))).Uint64()
}

// dateRange is the EXT-X-DATERANGE of an event: START-DATE its epoch time
// (UTC, millisecond precision), DURATION its break duration, or
// PLANNED-DURATION alone when the break is still open at the end of the
// presentation, and the message as 0x hex in SCTE35-OUT, -IN or -CMD.
func dateRange(s scte35Span) *m3u8.DateRange {
	e := s.ev
	dr := &m3u8.DateRange{ID: "scte35-" + strconv.FormatUint(uint64(e.ID), 10),
		StartDate: epochTime(e.Time, e.Timescale).Truncate(time.Millisecond)}
	if e.Duration > 0 && e.Cue == CueOut {
		d := float64(e.Duration) / float64(e.Timescale)
		if s.open {
			dr.PlannedDuration = &d
		} else {
			dr.Duration = &d
		}
	}
	msg := "0x" + hex.EncodeToString(e.Message)
	switch e.Cue {
	case CueOut:
		dr.SCTE35Out = msg
	case CueIn:
		dr.SCTE35In = msg
	default:
		dr.SCTE35Cmd = msg
	}
	return dr
}

// addSCTE35EventStreams adds to each Period of m (whose segments start at
// starts and end at ends, on the epoch timeline) the EventStream of the
// events placeSCTE35 puts in it.
func addSCTE35EventStreams(m *mpd.MPD, evs []SCTE35Event, starts, ends []*big.Rat) error {
	spans, err := placeSCTE35(evs, starts, ends)
	if err != nil {
		return err
	}
	for pi, p := range m.Periods {
		var in []scte35Span
		for _, s := range spans {
			if s.period == pi {
				in = append(in, s)
			}
		}
		if es := scte35EventStream(in, starts[pi]); es != nil {
			p.EventStreams = append(p.EventStreams, es)
		}
	}
	return nil
}
