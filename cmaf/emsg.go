package cmaf

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Emsg is one event message (emsg box, ISO/IEC 23009-1 5.10.3.3) of a
// media segment.
type Emsg struct {
	Version     byte // 0: time relative to the segment, 1: absolute
	SchemeIDURI string
	Value       string
	ID          uint32
	Timescale   uint32
	// PresentationTime is the event's start (version 1), in Timescale
	// ticks since the epoch of the media timeline.
	PresentationTime uint64
	// PresentationTimeDelta is the event's start (version 0), in
	// Timescale ticks after the segment's earliest presentation time.
	PresentationTimeDelta uint32
	EventDuration         uint32 // Timescale ticks; 0xFFFFFFFF: unknown
	Message               []byte
}

// ErrEventTime is returned by Emsg.Time for an event whose start is not an
// exact, representable time.
var ErrEventTime = errors.New("emsg time not representable")

// Time is the event's start on the track's media timeline, exact: a
// presentation time and the timescale it counts in. A version 1 event says
// it; a version 0 event's is the segment's earliest presentation time ept
// (in the track's timescale trackTS) plus its delta, in the emsg's
// timescale where ept converts exactly, else in the track's where the delta
// does.
func (e Emsg) Time(ept uint64, trackTS uint32) (pt uint64, timescale uint32, err error) {
	if e.Timescale == 0 {
		return 0, 0, fmt.Errorf("%w: emsg %q id %d has timescale 0", ErrEventTime, e.SchemeIDURI, e.ID)
	}
	if e.Version == 1 {
		return e.PresentationTime, e.Timescale, nil
	}
	if trackTS == 0 {
		return 0, 0, fmt.Errorf("%w: emsg %q id %d: version 0 and the track timescale is unknown", ErrEventTime, e.SchemeIDURI, e.ID)
	}
	if hi, lo := bits.Mul64(ept, uint64(e.Timescale)); hi < uint64(trackTS) {
		if q, r := bits.Div64(hi, lo, uint64(trackTS)); r == 0 && q <= math.MaxUint64-uint64(e.PresentationTimeDelta) {
			return q + uint64(e.PresentationTimeDelta), e.Timescale, nil
		}
	}
	d := uint64(e.PresentationTimeDelta) * uint64(trackTS)
	if d%uint64(e.Timescale) == 0 && ept <= math.MaxUint64-d/uint64(e.Timescale) {
		return ept + d/uint64(e.Timescale), trackTS, nil
	}
	return 0, 0, fmt.Errorf("%w: emsg %q id %d: EPT %d/%d + delta %d/%d has no exact value in either timescale",
		ErrEventTime, e.SchemeIDURI, e.ID, ept, trackTS, e.PresentationTimeDelta, e.Timescale)
}

// ResolvedEvents returns the segment's events with their start resolved
// by Emsg.Time on the track's timescale trackTS: in each, Timescale and
// PresentationTime are the exact start (PresentationTimeDelta is kept as
// the box had it). An event whose start is not exact is left out, and
// named in the error.
func (info *SegmentInfo) ResolvedEvents(trackTS uint32) ([]Emsg, error) {
	out := make([]Emsg, 0, len(info.Events))
	var errs []error
	for _, e := range info.Events {
		pt, timescale, err := e.Time(info.EPT, trackTS)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e.PresentationTime, e.Timescale = pt, timescale
		out = append(out, e)
	}
	return out, errors.Join(errs...)
}
