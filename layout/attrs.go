package layout

import (
	"errors"
	"fmt"
	"strconv"
)

// Object metadata keys written with every media segment. They let an index be
// rebuilt from object attributes without reading object bodies (LAYOUT.md,
// "Object attributes"). SegmentAttrs writes and parses them.
const (
	MetaEPT       = "reap-ept"       // earliest presentation time, track timescale ticks
	MetaDuration  = "reap-dur"       // segment duration, ticks
	MetaTimescale = "reap-timescale" // track timescale
	MetaSegDur    = "reap-segdur"    // nominal segment duration D*T, ticks
	MetaSHA256    = "reap-sha256"    // hex sha256 of the object body
	MetaInit      = "reap-init"      // hash id of the init segment the segment decodes with
	MetaSource    = "reap-source"    // name of the source that delivered the stored copy
	MetaEvents    = "reap-events"    // number of emsg boxes in the segment ("0": none)
	MetaFiller    = "reap-filler"    // "1": the segment is an encoder's filler (styp brand slat)
	MetaLast      = "reap-lmsg"      // "1": the segment carries lmsg, the track's last
)

// EventsNotRecorded is SegmentAttrs.Events of an object without reap-events
// (written before it existed, or by a writer that does not count emsg boxes).
const EventsNotRecorded = -1

// SegmentAttrs are the reap-* attributes of a media object: the one home of
// how they are written (Map) and read (ParseSegmentAttrs).
type SegmentAttrs struct {
	EPT       uint64 // reap-ept
	Duration  uint64 // reap-dur
	Timescale uint32 // reap-timescale
	SegDur    uint64 // reap-segdur, D*T
	SHA256    string // reap-sha256
	Init      string // reap-init: InitID of the init the segment decodes with
	Source    string // reap-source
	// Events is reap-events, the number of emsg boxes; EventsNotRecorded
	// writes none. The zero value writes "0".
	Events int
	Filler bool // reap-filler: 1
	Last   bool // reap-lmsg: 1
}

// Map is a's object attributes. reap-filler and reap-lmsg are written only
// when set, reap-events only when recorded.
func (a SegmentAttrs) Map() map[string]string {
	m := map[string]string{
		MetaEPT:       strconv.FormatUint(a.EPT, 10),
		MetaDuration:  strconv.FormatUint(a.Duration, 10),
		MetaTimescale: strconv.FormatUint(uint64(a.Timescale), 10),
		MetaSegDur:    strconv.FormatUint(a.SegDur, 10),
		MetaSHA256:    a.SHA256,
		MetaInit:      a.Init,
		MetaSource:    a.Source,
	}
	if a.Events != EventsNotRecorded {
		m[MetaEvents] = strconv.Itoa(a.Events)
	}
	if a.Filler {
		m[MetaFiller] = "1"
	}
	if a.Last {
		m[MetaLast] = "1"
	}
	return m
}

// ErrNoTiming is a media object whose attributes do not give its EPT,
// duration and SHA-256 (written by other tools, or damaged): its bytes must
// be read to index it.
var ErrNoTiming = errors.New("no valid reap-ept, reap-dur and reap-sha256")

// ParseSegmentAttrs reads the reap-* attributes of a media object. Every
// attribute that is present and valid is set; one that is absent or invalid
// is left zero (Events: EventsNotRecorded). The error, wrapping ErrNoTiming,
// says that EPT, Duration or SHA256 is not known from the attributes; the
// others are then still set as far as they are.
func ParseSegmentAttrs(m map[string]string) (SegmentAttrs, error) {
	a := SegmentAttrs{SHA256: m[MetaSHA256], Init: m[MetaInit], Source: m[MetaSource],
		Events: EventsNotRecorded, Filler: m[MetaFiller] == "1", Last: m[MetaLast] == "1"}
	ept, e1 := strconv.ParseUint(m[MetaEPT], 10, 64)
	dur, e2 := strconv.ParseUint(m[MetaDuration], 10, 64)
	if e1 == nil {
		a.EPT = ept
	}
	if e2 == nil {
		a.Duration = dur
	}
	if v, err := strconv.ParseUint(m[MetaSegDur], 10, 64); err == nil {
		a.SegDur = v
	}
	if v, err := strconv.ParseUint(m[MetaTimescale], 10, 32); err == nil {
		a.Timescale = uint32(v)
	}
	if v, err := strconv.Atoi(m[MetaEvents]); err == nil {
		a.Events = v
	}
	if err := errors.Join(e1, e2); err != nil || a.SHA256 == "" {
		return a, fmt.Errorf("%w (%s %q, %s %q, %s %q)", ErrNoTiming, MetaEPT, m[MetaEPT], MetaDuration, m[MetaDuration], MetaSHA256, a.SHA256)
	}
	return a, nil
}

// SourceAttrs are the attributes of an object other than a media segment
// (an init segment, an I-MPD, a splice record): reap-source only.
func SourceAttrs(source string) map[string]string {
	return map[string]string{MetaSource: source}
}
