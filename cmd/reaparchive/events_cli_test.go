package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Comcast/scte35-go/pkg/scte35"
	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/manifest"
	"github.com/reaparchive/reaparchive/simulate"
)

// eventsK0 is the first K of eventArchive (2026 at D = 2 s).
const eventsK0 = int64(888_000_000)

// spliceInsertEmsg is an emsg v1 announcing a 10 s splice_insert (out of
// network) at K's start + 4 s, as livesim2's scte35 does.
func spliceInsertEmsg(tb testing.TB, k int64, id uint32) *mp4.EmsgBox {
	tb.Helper()
	at := uint64(k)*2*90000 + 4*90000
	pts := at % (1 << 33)
	sis := scte35.SpliceInfoSection{Tier: 4095, SAPType: 3, SpliceCommand: &scte35.SpliceInsert{SpliceEventID: id,
		OutOfNetworkIndicator: true, Program: &scte35.SpliceInsertProgram{SpliceTime: scte35.SpliceTime{PTSTime: &pts}},
		BreakDuration: &scte35.BreakDuration{AutoReturn: true, Duration: 900000}}}
	msg, err := sis.Encode()
	if err != nil {
		tb.Fatal(err)
	}
	return &mp4.EmsgBox{Version: 1, TimeScale: 90000, PresentationTime: at, EventDuration: 900000, ID: id,
		SchemeIDURI: "urn:scte:scte35:2013:bin", MessageData: msg}
}

// eventArchive is an archive of channel "c" (video and audio of the
// simulator, K eventsK0..eventsK0+4) whose video segments eventsK0+1 and
// +2 carry an SCTE-35 emsg (the same event twice) and eventsK0+3 an
// undecodable one; it returns the range of its segments.
func eventArchive(t *testing.T) (ar *e2eArchive, from, to string) {
	t.Helper()
	ctx := context.Background()
	ar = newE2EArchive(t)
	if err := os.MkdirAll(ar.store, 0o755); err != nil {
		t.Fatal(err)
	}
	r := archivetest.Open(t, ar.storeURL(), ar.index, "c", 2*time.Second)
	defer r.Close()
	sim := testenv.NewSim(t, simulate.Options{})
	ch := r.Channel
	mpd, err := sim.MPD()
	if err != nil {
		t.Fatal(err)
	}
	live, err := manifest.ParseLive(mpd, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range live.Tracks {
		if err := ch.DescribeTrack(ctx, archive.TrackMeta{Rep: lt.Rep, ContentType: lt.ContentType, MimeType: lt.MimeType, Codecs: lt.Codecs,
			Width: lt.Width, Height: lt.Height, FrameRate: lt.FrameRate, SampleRate: lt.SampleRate, Channels: lt.Channels, Bandwidth: lt.Bandwidth}); err != nil {
			t.Fatal(err)
		}
	}
	bad := &mp4.EmsgBox{Version: 1, TimeScale: 90000, PresentationTime: uint64(eventsK0+4) * 2 * 90000, EventDuration: 0xFFFFFFFF, ID: 99,
		SchemeIDURI: "urn:scte:scte35:2013:bin", MessageData: []byte{0xfc, 0x30, 0x00}}
	emsgs := map[int64][]*mp4.EmsgBox{
		eventsK0 + 1: {spliceInsertEmsg(t, eventsK0+1, 7)},
		eventsK0 + 2: {spliceInsertEmsg(t, eventsK0+1, 7)},
		eventsK0 + 3: {bad},
	}
	for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
		init, err := sim.Init(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
		for k := eventsK0; k <= eventsK0+4; k++ {
			data, err := sim.Segment(rep, k)
			if err != nil {
				t.Fatal(err)
			}
			if rep == simulate.VideoRep && emsgs[k] != nil {
				data = testenv.WithEmsg(t, data, emsgs[k]...)
			}
			if _, err := ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: rep, Data: data, ExpectK: k}); err != nil {
				t.Fatal(err)
			}
		}
	}
	kt := func(k int64) string { return time.Unix(k*2, 0).UTC().Format(time.RFC3339) }
	return ar, kt(eventsK0), kt(eventsK0 + 5)
}

// TestEventsCLI: events --json lists each event once with the documented
// snake_case fields and SCTE-35 decoded, an undecodable message with its
// error; the table names them; --from/--to select by start; a missing
// --channel is a usage error and an unknown one a failure.
func TestEventsCLI(t *testing.T) {
	t.Parallel()
	ar, from, to := eventArchive(t)
	ctx := t.Context()
	var got struct {
		Events []map[string]any `json:"events"`
	}
	r := mustCLI(t, ctx, ar.args("events", "--channel", "c", "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if len(got.Events) != 2 {
		t.Fatalf("%d events, want 2 (one SCTE-35 event sent twice, one undecodable):\n%s", len(got.Events), r.stdout)
	}
	first, second := got.Events[0], got.Events[1]
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range first {
			if !yield(k) {
				return
			}
		}
	})
	wantKeys := []string{"channel", "duration_seconds", "emsg_version", "id", "k", "message_base64", "presentation_time", "rep",
		"scheme_id_uri", "scte35", "time", "timescale", "value"}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("event keys %v, want %v", keys, wantKeys)
	}
	wantSplice := map[string]any{"command": "splice_insert", "splice_event_id": 7.0, "out_of_network": true,
		"pts": float64((uint64(eventsK0+1)*2*90000 + 4*90000) % (1 << 33)), "break_duration_seconds": 10.0, "auto_return": true}
	if !reflect.DeepEqual(first["scte35"], wantSplice) || first["k"] != float64(eventsK0+1) || first["rep"] != simulate.VideoRep ||
		first["time"] != time.Unix((eventsK0+1)*2+4, 0).UTC().Format(time.RFC3339) || first["duration_seconds"] != 10.0 {
		t.Errorf("splice event %v", first)
	}
	if second["scte35"] != nil || !strings.Contains(second["scte35_error"].(string), "scte35") || second["duration_seconds"] != nil {
		t.Errorf("undecodable event %v; want scte35_error and a null duration", second)
	}
	text := mustCLI(t, ctx, ar.args("events", "--channel", "c")...).stdout
	for _, w := range []string{"2 events", "splice_insert id 7 out break 10s", "undecodable: scte35"} {
		if !strings.Contains(text, w) {
			t.Errorf("events output lacks %q:\n%s", w, text)
		}
	}
	// Only the event starting in the range.
	r = mustCLI(t, ctx, ar.args("events", "--channel", "c", "--json", "--from", from, "--to", time.Unix((eventsK0+4)*2, 0).UTC().Format(time.RFC3339))...)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got.Events) != 1 || got.Events[0]["id"] != 7.0 {
		t.Errorf("events in [%s, K+4): %v %s", from, err, r.stdout)
	}
	r = mustCLI(t, ctx, ar.args("events", "--channel", "c", "--json", "--from", from, "--to", to)...)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || len(got.Events) != 2 {
		t.Errorf("events in [%s, %s): %v %s", from, to, err, r.stdout)
	}
	// reindex into an empty index reads the 3 objects with an emsg box and
	// rebuilds the same events.
	rebuilt := filepath.Join(ar.dir, "rebuilt.db")
	r = mustCLI(t, ctx, "reindex", "--store", ar.storeURL(), "--index", rebuilt)
	if w := "3 read for lack of attributes or for their events or cues, 0 splices applied, 3 emsg events, 0 text issues"; !strings.Contains(r.stdout, w) {
		t.Errorf("reindex output lacks %q:\n%s", w, r.stdout)
	}
	before := mustCLI(t, ctx, ar.args("events", "--channel", "c", "--json")...).stdout
	if after := mustCLI(t, ctx, "events", "--store", ar.storeURL(), "--index", rebuilt, "--channel", "c", "--json").stdout; after != before {
		t.Errorf("events of the rebuilt index:\n%s\nwant\n%s", after, before)
	}
	if r := runCLI(ctx, ar.args("events")...); r.code != exitUsage || !strings.Contains(r.stderr, "--channel") {
		t.Errorf("events without --channel: %s", r)
	}
	if r := runCLI(ctx, ar.args("events", "--channel", "nope")...); r.code != exitFailure || !strings.Contains(r.stderr, `"nope"`) {
		t.Errorf("events --channel nope: %s", r)
	}
}

// TestExportInbandEvents: export-vod signals an InbandEventStream for each
// event scheme that the exported range's segments carry, on the
// AdaptationSet of the tracks that carry it (video here, not audio), and
// none for a range whose segments carry no event.
func TestExportInbandEvents(t *testing.T) {
	t.Parallel()
	ar, from, to := eventArchive(t)
	kt := func(k int64) string { return time.Unix(k*2, 0).UTC().Format(time.RFC3339) }
	cases := []struct {
		name, from, to string
		video          []string // schemeIdUri of the video AdaptationSet's InbandEventStreams
	}{
		{"with events", from, to, []string{"urn:scte:scte35:2013:bin"}},
		{"without", kt(eventsK0 + 4), to, nil},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(ar.store, "vod", fmt.Sprintf("e%d.mpd", i))
			mustCLI(t, t.Context(), ar.args("export-vod", "--channel", "c", "--from", c.from, "--to", c.to, "--out", "file://"+filepath.ToSlash(path))...)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.ReadFromString(string(data))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, as := range m.Periods[0].AdaptationSets {
				for _, e := range as.InbandEventStreams {
					got[string(as.ContentType)] = append(got[string(as.ContentType)], string(e.SchemeIdUri))
				}
			}
			if !reflect.DeepEqual(got["video"], c.video) || got["audio"] != nil {
				t.Errorf("InbandEventStreams %v; want video %v, audio none\n%s", got, c.video, data)
			}
		})
	}
}

// TestEventDetail: the DETAIL column of `events`.
func TestEventDetail(t *testing.T) {
	t.Parallel()
	id, out, in, dur := uint32(5), true, false, 30.0
	cases := []struct {
		e    events.Event
		want string
	}{
		{events.Event{SCTE35: &events.Splice{Command: "splice_insert", SpliceEventID: &id, OutOfNetwork: &out, BreakDurationSeconds: &dur}}, "splice_insert id 5 out break 30s"},
		{events.Event{SCTE35: &events.Splice{Command: "splice_insert", SpliceEventID: &id, OutOfNetwork: &in, Cancel: true}}, "splice_insert id 5 in cancel"},
		{events.Event{SCTE35: &events.Splice{Command: "time_signal", SegmentationTypeIDs: []uint32{0x34, 0x35}}}, "time_signal segmentation type 0x34 segmentation type 0x35"},
		{events.Event{SCTE35Error: "scte35: bad CRC"}, "undecodable: scte35: bad CRC"},
		{events.Event{MessageBase64: "aGk="}, "message of 2 bytes"},
	}
	for _, c := range cases {
		if got := eventDetail(c.e); got != c.want {
			t.Errorf("eventDetail(%+v) = %q, want %q", c.e, got, c.want)
		}
	}
}
