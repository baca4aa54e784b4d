package events_test

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/Comcast/scte35-go/pkg/scte35"

	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/manifest"
)

func ptr[T any](v T) *T { return &v }

// timeSignal is a time_signal with a provider placement opportunity start
// segmentation descriptor, encoded by scte35-go.
func timeSignal(t *testing.T) []byte {
	t.Helper()
	sis := scte35.SpliceInfoSection{
		SpliceCommand: &scte35.TimeSignal{SpliceTime: scte35.SpliceTime{PTSTime: ptr(uint64(900000))}},
		SpliceDescriptors: scte35.SpliceDescriptors{&scte35.SegmentationDescriptor{SegmentationEventID: 3,
			SegmentationTypeID: scte35.SegmentationTypeProviderPOStart, SegmentationDuration: ptr(uint64(2700000)),
			DeliveryRestrictions: &scte35.DeliveryRestrictions{NoRegionalBlackoutFlag: true, ArchiveAllowedFlag: true, DeviceRestrictions: 3}}},
		Tier: 4095, SAPType: 3,
	}
	b, err := sis.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeSCTE35: splice_insert and time_signal are decoded with their
// fields; a truncated or corrupt message is an error, not a panic.
func TestDecodeSCTE35(t *testing.T) {
	t.Parallel()
	// The splice_insert example of SCTE 35 (14.2).
	insert, err := base64.StdEncoding.DecodeString("/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo=")
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), insert...)
	corrupt[20] ^= 0xff // the CRC no longer matches
	// A splice_insert quoted on the web whose CRC_32 is wrong.
	badCRC, err := base64.StdEncoding.DecodeString("/DAlAAAAAAAAAP/wFAUAAAABf+/+LRQrAP4BI9MIAAEBAQAAXKdYGw==")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		msg  []byte
		want *events.Splice
	}{
		{"splice_insert", insert, &events.Splice{Command: "splice_insert", SpliceEventID: ptr(uint32(0x4800008f)), OutOfNetwork: ptr(true),
			PTS: ptr(uint64(0x7369c02e)), BreakDurationSeconds: ptr(0x0052ccf5 / 90000.0), AutoReturn: ptr(true)}},
		{"time_signal", timeSignal(t), &events.Splice{Command: "time_signal", PTS: ptr(uint64(900000)), BreakDurationSeconds: ptr(30.0),
			SegmentationTypeIDs: []uint32{scte35.SegmentationTypeProviderPOStart}}},
		{"truncated", insert[:10], nil},
		{"corrupt", corrupt, nil},
		{"wrong CRC", badCRC, nil},
		{"empty", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			got, err := events.DecodeSCTE35(c.msg)
			if c.want == nil {
				if err == nil {
					t.Errorf("DecodeSCTE35 = %+v; want an error", got)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, c.want) {
				t.Errorf("DecodeSCTE35 = %+v, %v; want %+v", got, err, c.want)
			}
		})
	}
}

// TestList: events in the range, in time order, SCTE-35 decoded, an
// undecodable one listed with its error, other schemes with their message.
func TestList(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ch, err := db.EnsureChannel(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.UpsertTrack(ctx, index.Track{ChannelID: ch.ID, Rep: "video", Timescale: 90000, SegDur: 180000})
	if err != nil {
		t.Fatal(err)
	}
	const t0 = 1776000000 // seconds since the epoch
	at := func(s float64) uint64 { return uint64((t0 + s) * 90000) }
	rows := []index.Event{
		{TrackID: tr.ID, Scheme: events.SCTE35Scheme, ID: 1, K: 1, Version: 1, Timescale: 90000, PresentationTime: at(10), Duration: 900000, Message: timeSignal(t)},
		{TrackID: tr.ID, Scheme: events.SCTE35Scheme, ID: 2, K: 2, Version: 1, Timescale: 90000, PresentationTime: at(20), Duration: index.UnknownEventDuration, Message: []byte{0xfc, 1, 2}},
		{TrackID: tr.ID, Scheme: "urn:x", Value: "v", ID: 3, K: 3, Version: 0, Timescale: 90000, PresentationTime: at(30.5), Duration: 45000, Message: []byte("hi")},
	}
	if err := db.AddEvents(ctx, rows); err != nil {
		t.Fatal(err)
	}
	unix := func(s float64) time.Time { return time.Unix(t0, 0).Add(time.Duration(s * float64(time.Second))).UTC() }
	cases := []struct {
		name     string
		from, to time.Time
		ids      []uint32
	}{
		{"all", time.Time{}, time.Time{}, []uint32{1, 2, 3}},
		{"from is inclusive, to exclusive", unix(20), unix(30.5), []uint32{2}},
		{"sub-millisecond bounds", unix(30.5).Add(-time.Microsecond), unix(30.5).Add(time.Microsecond), []uint32{3}},
	}
	for _, c := range cases {
		got, err := events.List(ctx, db, "news", c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		var ids []uint32
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if !reflect.DeepEqual(ids, c.ids) {
			t.Errorf("%s: ids %v, want %v", c.name, ids, c.ids)
		}
	}
	got, err := events.List(ctx, db, "news", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if e := got[0]; e.SCTE35 == nil || e.SCTE35.Command != "time_signal" || !e.Time.Equal(unix(10)) || *e.DurationSeconds != 10 || e.Rep != "video" {
		t.Errorf("time_signal event: %+v", e)
	}
	if e := got[1]; e.SCTE35 != nil || e.SCTE35Error == "" || e.DurationSeconds != nil {
		t.Errorf("undecodable event: %+v; want its error and no duration", e)
	}
	if e := got[2]; e.SCTE35 != nil || e.SCTE35Error != "" || e.MessageBase64 != "aGk=" || !e.Time.Equal(unix(30.5)) || *e.DurationSeconds != 0.5 {
		t.Errorf("other event: %+v", e)
	}
}

// TestSpliceCue: what each message does to a break (EXT-X-DATERANGE
// SCTE35-OUT, -IN or -CMD).
func TestSpliceCue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		s    events.Splice
		want manifest.Cue
	}{
		{"insert out", events.Splice{Command: "splice_insert", OutOfNetwork: ptr(true)}, manifest.CueOut},
		{"insert in", events.Splice{Command: "splice_insert", OutOfNetwork: ptr(false)}, manifest.CueIn},
		{"insert cancel", events.Splice{Command: "splice_insert", Cancel: true}, manifest.CueCmd},
		{"placement opportunity start", events.Splice{Command: "time_signal", SegmentationTypeIDs: []uint32{0x34}}, manifest.CueOut},
		{"placement opportunity end", events.Splice{Command: "time_signal", SegmentationTypeIDs: []uint32{0x35}}, manifest.CueIn},
		{"break start", events.Splice{Command: "time_signal", SegmentationTypeIDs: []uint32{0x22}}, manifest.CueOut},
		{"break end", events.Splice{Command: "time_signal", SegmentationTypeIDs: []uint32{0x23}}, manifest.CueIn},
		{"program start", events.Splice{Command: "time_signal", SegmentationTypeIDs: []uint32{0x10}}, manifest.CueCmd},
		{"time_signal alone", events.Splice{Command: "time_signal"}, manifest.CueCmd},
		{"splice_null", events.Splice{Command: "splice_null"}, manifest.CueCmd},
	}
	for _, c := range cases {
		if got := c.s.Cue(); got != c.want {
			t.Errorf("%s: Cue() = %d, want %d", c.name, got, c.want)
		}
	}
}
