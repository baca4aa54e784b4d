package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/reaparchive/reaparchive/manifest"
)

// TestExportEventsModes: export-vod --events inband gives the video
// AdaptationSet its InbandEventStream and no EventStream or
// EXT-X-DATERANGE; eventstream gives the SCTE-35 events as an EventStream
// (the break still open at the range end without @duration, the
// undecodable message too) and EXT-X-DATERANGE (PLANNED-DURATION,
// SCTE35-OUT in hex; SCTE35-CMD) but no InbandEventStream; both (the
// default) gives all; an event before the range is left out; an unknown
// mode is a usage error.
func TestExportEventsModes(t *testing.T) {
	t.Parallel()
	ar, from, to := eventArchive(t)
	kt := func(k int64) string { return time.Unix(k*2, 0).UTC().Format(time.RFC3339) }
	insert := spliceInsertEmsg(t, eventsK0+1, 7).MessageData
	out7 := `#EXT-X-DATERANGE:ID="scte35-7",START-DATE="` + kt(eventsK0+3) + `",PLANNED-DURATION=10.000000,SCTE35-OUT=0x` + hex.EncodeToString(insert)
	cmd99 := `#EXT-X-DATERANGE:ID="scte35-99",START-DATE="` + kt(eventsK0+4) + `",SCTE35-CMD=0xfc3000`
	cases := []struct {
		name, mode, from string
		inband           bool
		events           []uint64 // Event@id of the EventStream
		dateRanges       []string
	}{
		{"inband", "inband", from, true, nil, nil},
		{"eventstream", "eventstream", from, false, []uint64{7, 99}, []string{out7, cmd99}},
		{"both", "both", from, true, []uint64{7, 99}, []string{out7, cmd99}},
		{"default", "", from, true, []uint64{7, 99}, []string{out7, cmd99}},
		{"event before the range", "both", kt(eventsK0 + 4), false, // K0+4 carries no emsg
			[]uint64{99}, []string{cmd99}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(ar.store, "vod", fmt.Sprintf("ev%d.mpd", i))
			args := ar.args("export-vod", "--channel", "c", "--from", c.from, "--to", to, "--format", "dash,hls", "--out", "file://"+filepath.ToSlash(path))
			if c.mode != "" {
				args = append(args, "--events", c.mode)
			}
			mustCLI(t, t.Context(), args...)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.ReadFromString(string(data))
			if err != nil {
				t.Fatal(err)
			}
			var inband bool
			var ids []uint64
			for _, p := range m.Periods {
				for _, as := range p.AdaptationSets {
					inband = inband || (as.ContentType == "video" && len(as.InbandEventStreams) > 0)
				}
				for _, es := range p.EventStreams {
					if es.SchemeIdUri != manifest.SCTE35EventScheme {
						t.Errorf("EventStream scheme %q", es.SchemeIdUri)
					}
					for _, e := range es.Events {
						ids = append(ids, *e.Id)
						if *e.Id == 7 && (e.Duration != 0 || e.Signal == nil || e.Signal.Binary == nil || e.Signal.Binary.Value != base64.StdEncoding.EncodeToString(insert)) {
							t.Errorf("Event 7 (break open at the range end): want no duration and the message in Signal/Binary\n%s", data)
						}
					}
				}
			}
			if inband != c.inband || !reflect.DeepEqual(ids, c.events) {
				t.Errorf("InbandEventStream %v, Events %v; want %v, %v\n%s", inband, ids, c.inband, c.events, data)
			}
			pl, err := os.ReadFile(strings.TrimSuffix(path, ".mpd") + "-video.m3u8")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(string(pl), "\n") {
				if strings.HasPrefix(l, "#EXT-X-DATERANGE") {
					got = append(got, l)
				}
			}
			if !reflect.DeepEqual(got, c.dateRanges) {
				t.Errorf("EXT-X-DATERANGE %q, want %q\n%s", got, c.dateRanges, pl)
			}
		})
	}
	t.Run("unknown mode", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(ar.store, "vod", "bad.mpd")
		r := runCLI(t.Context(), ar.args("export-vod", "--channel", "c", "--from", from, "--to", to, "--events", "emsg", "--out", "file://"+filepath.ToSlash(path))...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--events") {
			t.Errorf("--events emsg: %s; want a usage error naming --events", r)
		}
		if _, err := os.Stat(path); err == nil {
			t.Error("an MPD was written")
		}
	})
}
