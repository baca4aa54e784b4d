package origin_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/simulate"
)

// The timeline fixture: recorded k0..lastK but gapK, an encoder filler at
// fillerK, a splice over spliceFrom..spliceTo and an SCTE-35 splice_insert
// at markerAt.
const (
	fillerK              = k0 + 16
	spliceFrom, spliceTo = k0 + 2, k0 + 4
	spliceID             = "00000000000000aa"
)

var markerAt = kTime(k0 + 6).Add(500 * time.Millisecond)

// scte35Insert is the splice_insert example of SCTE 35 (14.2): out of
// network, a break of 0x0052ccf5/90000 s.
const scte35Insert = "/DAvAAAAAAAA///wFAVIAACPf+/+c2nALv4AUsz1AAAAAAAKAAhDVUVJAAABNWLbowo="

// timelineArchive is the timeline fixture, recorded through archive (the
// filler, splice and event rows written to the index as a recorder and
// `splice` write them).
func timelineArchive(tb testing.TB) *archivetest.Env {
	tb.Helper()
	ctx := context.Background()
	e, _ := archivetest.OpenOn(tb, testenv.Store("file"), channel, segD)
	e.Fill(tb, "a", testenv.NewSim(tb, simulate.Options{}), k0, lastK, gapK, fillerK)
	for _, rep := range archivetest.Reps {
		seg, _ := e.Segment(tb, rep, fillerK-1)
		tr := e.Track(tb, rep)
		seg.K, seg.EPT, seg.Filler = fillerK, uint64(tr.EPT(fillerK)), true
		if err := e.DB.Record(ctx, &seg); err != nil {
			tb.Fatal(err)
		}
	}
	video := e.Track(tb, simulate.VideoRep)
	sp := index.Splice{ID: spliceID, ChannelID: video.ChannelID, FromK: spliceFrom, ToK: spliceTo, Source: "file:///backup",
		SourceName: "backup", RecordKey: "ch1/splices/" + spliceID + ".json", CreatedAt: liveNow}
	if err := e.DB.ApplySplice(ctx, sp, nil, nil); err != nil {
		tb.Fatal(err)
	}
	msg, _ := base64.StdEncoding.DecodeString(scte35Insert)
	ev := index.Event{TrackID: video.ID, Scheme: events.SCTE35Scheme, ID: 7, K: k0 + 6, Timescale: 1000,
		PresentationTime: uint64(markerAt.UnixMilli()), Duration: index.UnknownEventDuration, Message: msg}
	if err := e.DB.AddEvents(ctx, []index.Event{ev}); err != nil {
		tb.Fatal(err)
	}
	return e
}

// Mirrors of the JSON endpoint's documents (README: serve, timeline page).
type (
	tlDoc struct {
		Channel string    `json:"channel"`
		From    float64   `json:"from"`
		To      float64   `json:"to"`
		Tracks  []tlTrack `json:"tracks"`
	}
	tlTrack struct {
		Rep             string     `json:"rep"`
		ContentType     string     `json:"content_type"`
		SegmentDuration float64    `json:"segment_duration"`
		Runs            []tlSpan   `json:"runs"`
		Gaps            []tlSpan   `json:"gaps"`
		Fillers         []tlSpan   `json:"fillers"`
		Splices         []tlSplice `json:"splices"`
		Markers         []tlMarker `json:"markers"`
	}
	tlSpan struct {
		FromK int64   `json:"from_k"`
		ToK   int64   `json:"to_k"`
		Start float64 `json:"start"`
		End   float64 `json:"end"`
	}
	tlSplice struct {
		tlSpan
		ID     string `json:"id"`
		Source string `json:"source"`
		Active bool   `json:"active"`
	}
	tlMarker struct {
		Time     float64  `json:"time"`
		ID       uint32   `json:"id"`
		Command  string   `json:"command"`
		Out      *bool    `json:"out_of_network"`
		Duration *float64 `json:"duration"`
	}
)

// span is K from..to as the endpoint reports it.
func span(from, to int64) tlSpan {
	return tlSpan{FromK: from, ToK: to, Start: float64(kTime(from).Unix()), End: float64(kTime(to + 1).Unix())}
}

// TestTimelineJSON: GET /api/<channel>/timeline reports each track's runs,
// the known gap where it is, the filler, the splice and the SCTE-35 marker,
// clipped to the range asked for; bad ranges are 400, an unknown channel
// 404.
func TestTimelineJSON(t *testing.T) {
	t.Parallel()
	e := timelineArchive(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	whole := tlTrack{Rep: simulate.VideoRep, ContentType: "video", SegmentDuration: 2,
		Runs:    []tlSpan{span(k0, gapK-1), span(gapK+1, lastK)},
		Gaps:    []tlSpan{span(gapK, gapK)},
		Fillers: []tlSpan{span(fillerK, fillerK)},
		Splices: []tlSplice{{tlSpan: span(spliceFrom, spliceTo), ID: spliceID, Source: "backup", Active: true}},
		Markers: []tlMarker{{Time: float64(markerAt.UnixMilli()) / 1000, ID: 7, Command: "splice_insert", Out: ptr(true), Duration: ptr(0x0052ccf5 / 90000.0)}}}
	inGap := tlTrack{Rep: simulate.VideoRep, ContentType: "video", SegmentDuration: 2,
		Runs: []tlSpan{span(gapK+1, gapK+2)}, Gaps: []tlSpan{span(gapK, gapK)}, Fillers: []tlSpan{}, Splices: []tlSplice{}, Markers: []tlMarker{}}
	for _, tc := range []struct {
		name, query string
		want        tlTrack // the video track
		from, to    time.Time
	}{
		{"default: the recording", "", whole, kTime(k0), kTime(lastK + 1)},
		{"whole range", fmt.Sprintf("?from=%d&to=%d", kTime(k0-100).Unix(), kTime(lastK+100).Unix()), whole, kTime(k0 - 100), kTime(lastK + 100)},
		{"starts in the gap", fmt.Sprintf("?from=%s&to=%d", kTime(gapK).Add(time.Second).Format(time.RFC3339), kTime(gapK+3).Unix()), inGap,
			kTime(gapK).Add(time.Second), kTime(gapK + 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var d tlDoc
			if err := json.Unmarshal(mustGet(t, s, "/api/ch1/timeline"+tc.query), &d); err != nil {
				t.Fatal(err)
			}
			if d.Channel != channel || d.From != float64(tc.from.Unix()) || d.To != float64(tc.to.Unix()) || len(d.Tracks) != 2 {
				t.Fatalf("timeline%s: channel %q from %v to %v, %d tracks; want %s %v %v 2", tc.query, d.Channel, d.From, d.To, len(d.Tracks), channel, tc.from.Unix(), tc.to.Unix())
			}
			if got := d.track(simulate.VideoRep); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("timeline%s video:\n got %+v\nwant %+v", tc.query, got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ target, body string }{
		{"/api/ch1/timeline?from=yesterday", `from: "yesterday" is neither`},
		{fmt.Sprintf("/api/ch1/timeline?from=%d&to=%d", kTime(k0).Unix(), kTime(k0).Unix()), "want to after from"},
		{"/api/ch1/timeline?from=0&to=99999999", "at most"},
		{"/api/nope/timeline", `no channel "nope"`},
	} {
		res, body := get(t, s, http.MethodGet, tc.target, nil)
		if res.StatusCode/100 != 4 || !strings.Contains(string(body), tc.body) {
			t.Errorf("GET %s: %d %s; want 4xx %q", tc.target, res.StatusCode, body, tc.body)
		}
	}
}

// track is the document's track rep (zero if absent).
func (d tlDoc) track(rep string) tlTrack {
	for _, tr := range d.Tracks {
		if tr.Rep == rep {
			return tr
		}
	}
	return tlTrack{}
}

func ptr[T any](v T) *T { return &v }
