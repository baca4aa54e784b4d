package cmaf

import (
	"errors"
	"testing"
)

// TestEmsgTime: an event's start is exact: v1 as the box says; v0 as EPT +
// delta in the emsg's timescale where EPT converts exactly, else in the
// track's where the delta does, else an error.
func TestEmsgTime(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		e       Emsg
		ept     uint64
		trackTS uint32
		pt      uint64
		ts      uint32
		err     bool
	}{
		{"v1", Emsg{Version: 1, Timescale: 90000, PresentationTime: 123}, 999, 48000, 123, 90000, false},
		{"v0 same timescale", Emsg{Timescale: 90000, PresentationTimeDelta: 10}, 180000, 90000, 180010, 90000, false},
		{"v0 EPT converts", Emsg{Timescale: 1000, PresentationTimeDelta: 500}, 180000, 90000, 2500, 1000, false},
		{"v0 delta converts", Emsg{Timescale: 1000, PresentationTimeDelta: 500}, 180001, 90000, 180001 + 45000, 90000, false},
		{"v0 neither", Emsg{Timescale: 7, PresentationTimeDelta: 1}, 10, 3, 0, 0, true},
		{"timescale 0", Emsg{Version: 1}, 0, 90000, 0, 0, true},
		{"v0 no track timescale", Emsg{Timescale: 1000}, 0, 0, 0, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pt, ts, err := c.e.Time(c.ept, c.trackTS)
			if c.err {
				if !errors.Is(err, ErrEventTime) {
					t.Errorf("Time = %d/%d, %v; want ErrEventTime", pt, ts, err)
				}
				return
			}
			if err != nil || pt != c.pt || ts != c.ts {
				t.Errorf("Time = %d/%d, %v; want %d/%d", pt, ts, err, c.pt, c.ts)
			}
		})
	}
}
