package index

import (
	"reflect"
	"testing"
)

// TestEvents: events round-trip with every field (v0 and v1, an unknown
// duration, an empty message); a repeat of (track, scheme, value, id) is
// stored once and keeps the smallest K; range queries are by start time
// and EventSchemes by the carrying segment's K.
func TestEvents(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const epoch2026 = 1767225600 // 2026-01-01T00:00:00Z
	scte := Event{TrackID: f.track.ID, Scheme: "urn:scte:scte35:2013:bin", ID: 7, K: 100, Version: 1, Timescale: 90000,
		PresentationTime: epoch2026 * 90000, Duration: 900000, Message: []byte{0xfc, 0x30, 0x11}}
	id3 := Event{TrackID: f.track.ID, Scheme: "https://aomedia.org/emsg/ID3", Value: "1", ID: 7, K: 101, Version: 0, Timescale: 1000,
		PresentationTime: epoch2026*1000 + 2500, Duration: UnknownEventDuration, Message: []byte{}}
	if err := f.db.AddEvents(f.ctx, []Event{scte, id3}); err != nil {
		t.Fatal(err)
	}
	// The same events again, carried by other segments: one row each, the
	// smallest K kept, the first message kept.
	later, earlier := scte, id3
	later.K, later.Message = 102, []byte{1}
	earlier.K = 99
	if err := f.db.AddEvents(f.ctx, []Event{later, earlier}); err != nil {
		t.Fatal(err)
	}
	scte.Rep, id3.Rep, id3.K = "v1", "v1", 99
	cases := []struct {
		name     string
		from, to int64
		want     []Event
	}{
		{"all", 0, 1 << 62, []Event{scte, id3}},
		{"from the second", epoch2026*1000 + 1, 1 << 62, []Event{id3}},
		{"to before the second", 0, epoch2026*1000 + 2500, []Event{scte}},
		{"none", 0, epoch2026 * 1000, []Event{}},
	}
	for _, c := range cases {
		got, err := f.db.Events(f.ctx, f.ch.ID, c.from, c.to)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Events = %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	schemes := []struct {
		from, to int64
		want     []SchemeValue
	}{
		{0, 1000, []SchemeValue{{"https://aomedia.org/emsg/ID3", "1"}, {"urn:scte:scte35:2013:bin", ""}}},
		{100, 1000, []SchemeValue{{"urn:scte:scte35:2013:bin", ""}}},
		{101, 1000, nil},
	}
	for _, c := range schemes {
		got, err := f.db.EventSchemes(f.ctx, f.track.ID, c.from, c.to)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("EventSchemes %d..%d = %+v, %v; want %+v", c.from, c.to, got, err, c.want)
		}
	}
	counts := []struct {
		from, to int64
		want     map[int64]int
	}{
		{0, 1000, map[int64]int{99: 1, 100: 1}},
		{100, 1000, map[int64]int{100: 1}},
		{101, 1000, map[int64]int{}},
	}
	for _, c := range counts {
		got, err := f.db.EventCounts(f.ctx, f.track.ID, c.from, c.to)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("EventCounts %d..%d = %v, %v; want %v", c.from, c.to, got, err, c.want)
		}
	}
	if err := f.db.AddEvents(f.ctx, []Event{{TrackID: f.track.ID, Scheme: "x", Timescale: 0}}); err == nil {
		t.Error("AddEvents with timescale 0: no error")
	}
}
