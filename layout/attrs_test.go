package layout

import (
	"errors"
	"maps"
	"testing"
)

func TestSegmentAttrsRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		attrs SegmentAttrs
		want  map[string]string
	}{
		{"recorded segment", SegmentAttrs{EPT: 1_700_000_000 * 48000, Duration: 92160, Timescale: 48000, SegDur: 92160,
			SHA256: "ab12", Init: "0123456789abcdef", Source: "enc1", Events: 2},
			map[string]string{MetaEPT: "81600000000000", MetaDuration: "92160", MetaTimescale: "48000", MetaSegDur: "92160",
				MetaSHA256: "ab12", MetaInit: "0123456789abcdef", MetaSource: "enc1", MetaEvents: "2"}},
		{"filler, last, no events", SegmentAttrs{EPT: 900000, Duration: 180000, Timescale: 90000, SegDur: 180000,
			SHA256: "cd34", Init: "fedcba9876543210", Source: "enc2", Filler: true, Last: true},
			map[string]string{MetaEPT: "900000", MetaDuration: "180000", MetaTimescale: "90000", MetaSegDur: "180000",
				MetaSHA256: "cd34", MetaInit: "fedcba9876543210", MetaSource: "enc2", MetaEvents: "0",
				MetaFiller: "1", MetaLast: "1"}},
		{"events not recorded (splice)", SegmentAttrs{EPT: 7, Duration: 8, Timescale: 9, SegDur: 8,
			SHA256: "ef56", Init: "1111111111111111", Source: "splice.b", Events: EventsNotRecorded},
			map[string]string{MetaEPT: "7", MetaDuration: "8", MetaTimescale: "9", MetaSegDur: "8",
				MetaSHA256: "ef56", MetaInit: "1111111111111111", MetaSource: "splice.b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.attrs.Map()
			if !maps.Equal(m, tc.want) {
				t.Fatalf("Map() = %v, want %v", m, tc.want)
			}
			got, err := ParseSegmentAttrs(m)
			if err != nil || got != tc.attrs {
				t.Fatalf("ParseSegmentAttrs(Map()) = %+v, %v; want %+v", got, err, tc.attrs)
			}
		})
	}
}

func TestParseSegmentAttrsIncomplete(t *testing.T) {
	tests := []struct {
		name string
		meta map[string]string
		want SegmentAttrs
	}{
		{"none (copied by another tool)", nil, SegmentAttrs{Events: EventsNotRecorded}},
		{"no sha256", map[string]string{MetaEPT: "1", MetaDuration: "2", MetaSource: "a"},
			SegmentAttrs{EPT: 1, Duration: 2, Source: "a", Events: EventsNotRecorded}},
		{"bad EPT, rest kept", map[string]string{MetaEPT: "x", MetaDuration: "2", MetaSHA256: "ab", MetaSegDur: "5",
			MetaTimescale: "99999999999", MetaEvents: "3", MetaFiller: "1"},
			SegmentAttrs{Duration: 2, SHA256: "ab", SegDur: 5, Events: 3, Filler: true}},
	}
	for _, tc := range tests {
		got, err := ParseSegmentAttrs(tc.meta)
		if !errors.Is(err, ErrNoTiming) {
			t.Errorf("%s: error %v, want ErrNoTiming", tc.name, err)
		}
		if got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestSourceAttrs(t *testing.T) {
	if m := SourceAttrs("enc1"); !maps.Equal(m, map[string]string{MetaSource: "enc1"}) {
		t.Errorf("SourceAttrs = %v", m)
	}
}
