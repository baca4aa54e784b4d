package index

import (
	"math"
	"testing"
	"time"
)

// audio is a 48 kHz track with D = 1.92 s; video a 90 kHz track with D = 2 s.
var (
	audio = Track{Timescale: 48000, SegDur: 92160}
	video = Track{Timescale: 90000, SegDur: 180000}
)

func TestEpochIndex(t *testing.T) {
	tests := []struct {
		name  string
		track Track
		ept   uint64
		want  int64
	}{
		{"on the grid", video, 180000 * 7, 7},
		{"just under half a segment late", video, 180000*7 + 89999, 7},
		{"half a segment late rounds up", video, 180000*7 + 90000, 8},
		{"a little early", audio, 92160*10 - 1024, 10},
		{"zero", audio, 0, 0},
		{"D·T unknown", Track{}, 12345, 0},
	}
	for _, tc := range tests {
		if got := tc.track.EpochIndex(tc.ept); got != tc.want {
			t.Errorf("%s: EpochIndex(%d) = %d, want %d", tc.name, tc.ept, got, tc.want)
		}
	}
}

func TestEPTAndKFits(t *testing.T) {
	tests := []struct {
		track Track
		k     int64
		ept   int64
		fits  bool
	}{
		{video, 0, 0, true},
		{video, 7, 1260000, true},
		{audio, 10, 921600, true},
		{audio, -1, -92160, false},
		{video, math.MaxInt64/180000 - 1, (math.MaxInt64/180000 - 1) * 180000, true},
		{video, math.MaxInt64 / 180000, 0, false}, // (K+1)·D·T overflows
	}
	for _, tc := range tests {
		if got := tc.track.KFits(tc.k); got != tc.fits {
			t.Errorf("KFits(%d) at D·T %d = %v, want %v", tc.k, tc.track.SegDur, got, tc.fits)
		}
		if tc.fits || tc.k < 0 {
			if got := tc.track.EPT(tc.k); got != tc.ept {
				t.Errorf("EPT(%d) at D·T %d = %d, want %d", tc.k, tc.track.SegDur, got, tc.ept)
			}
		}
	}
}

func TestKTimeAndKAt(t *testing.T) {
	tests := []struct {
		track Track
		k     int64
		want  string
	}{
		{video, 0, "1970-01-01T00:00:00Z"},
		{video, 5, "1970-01-01T00:00:10Z"},
		{audio, 3, "1970-01-01T00:00:05.76Z"},
		{audio, 923_000_000, "2026-02-27T02:40:00Z"},
		{Track{SegDur: 92160}, 3, "1970-01-01T00:00:00Z"}, // timescale unknown
	}
	for _, tc := range tests {
		got := tc.track.KTime(tc.k)
		if s := got.Format(time.RFC3339Nano); s != tc.want {
			t.Errorf("KTime(%d) at %d/%d = %s, want %s", tc.k, tc.track.SegDur, tc.track.Timescale, s, tc.want)
		}
		if tc.track.Timescale == 0 {
			continue
		}
		if k, exact := tc.track.KAt(got); k != tc.k || !exact {
			t.Errorf("KAt(KTime(%d)) = %d, %v; want %d, true", tc.k, k, exact, tc.k)
		}
		if k, exact := tc.track.KAt(got.Add(time.Millisecond)); k != tc.k || exact {
			t.Errorf("KAt(KTime(%d)+1ms) = %d, %v; want %d, false", tc.k, k, exact, tc.k)
		}
		if k, _ := tc.track.KAt(got.Add(-time.Millisecond)); k != tc.k-1 {
			t.Errorf("KAt(KTime(%d)-1ms) = %d; want %d", tc.k, k, tc.k-1)
		}
	}
	if d := audio.SegmentDuration(); d != 1920*time.Millisecond {
		t.Errorf("SegmentDuration = %v, want 1.92s", d)
	}
	if d := (Track{SegDur: 92160}).SegmentDuration(); d != 0 {
		t.Errorf("SegmentDuration without timescale = %v, want 0", d)
	}
}

func TestOnGrid(t *testing.T) {
	tests := []struct {
		name   string
		track  Track
		ept    uint64
		tol    uint64
		offset int64
		want   bool
	}{
		{"exact", video, 180000 * 4, 0, 0, true},
		{"late within tolerance", audio, 92160*4 + 1024, 1024, 1024, true},
		{"late past tolerance", audio, 92160*4 + 1025, 1024, 1025, false},
		{"early within tolerance", audio, 92160*4 - 1024, 1024, -1024, true},
		{"early past tolerance", audio, 92160*4 - 1025, 1024, -1025, false},
		{"half a segment, recorder's tolerance", video, 180000*4 + 89999, 90000, 89999, true},
	}
	for _, tc := range tests {
		if got := tc.track.OnGrid(tc.ept, tc.tol); got != tc.want {
			t.Errorf("%s: OnGrid(%d, %d) = %v, want %v", tc.name, tc.ept, tc.tol, got, tc.want)
		}
		if got := tc.track.GridOffset(tc.ept, 4); got != tc.offset {
			t.Errorf("%s: GridOffset(%d, 4) = %d, want %d", tc.name, tc.ept, got, tc.offset)
		}
	}
}
