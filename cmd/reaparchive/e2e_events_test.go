package main

// End-to-end test of timed metadata: livesim2's scte35_2 inserts SCTE-35
// splice_insert emsg boxes; record, events and export-vod must keep them.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// livesimSplices are the splice times (Unix seconds) that livesim2 v1.9.0's
// scte35_2 announces in the video segments K first..last (D = 2 s): two
// splices a minute, at :10 and :40, each announced 7 s ahead by an emsg in
// the segment whose (start, end] holds the announcement time
// (pkg/scte35.CreateEmsgAhead).
func livesimSplices(first, last int64) []int64 {
	var out []int64
	for k := first; k <= last; k++ {
		start, end := k*2, k*2+2
		minute := start - start%60
		for _, sit := range []int64{minute + 10, minute + 40, minute + 70} {
			if ann := sit - 7; start < ann && ann <= end {
				out = append(out, sit)
			}
		}
	}
	return out
}

// TestE2ELivesim2SCTE35 records livesim2's scte35_2 channel from two
// instances; `events --json` lists every splice livesim2 inserted in the
// recorded range, once, with its decoded fields (splice_insert, event id =
// the splice time in seconds, out of network, 10 s break, auto-return),
// and export-vod's MPD signals the scheme in an InbandEventStream on the
// video AdaptationSet (livesim2 puts emsg in video only).
func TestE2ELivesim2SCTE35(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	la, lb := testenv.StartLivesim2(t), testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch = "ads"
	// 36 s: the recorded range spans more than 30 s, so it holds at least
	// one of the announcements (every 30 s).
	ar.record(t, ctx, ch, 36*time.Second, "a="+mpdURL(la, "scte35_2/"), "b="+mpdURL(lb, "scte35_2/"))
	st := ar.status(t, ctx, ch)
	video := st.track(t, e2eVideo)
	if len(video.Gaps) != 0 {
		t.Fatalf("video gaps %v: the expected splices assume every segment", video.Gaps)
	}
	want := livesimSplices(video.First, video.Last)
	if len(want) == 0 {
		t.Fatalf("video K %d..%d holds no announcement: the recording is too short for the test", video.First, video.Last)
	}

	var got struct {
		Events []struct {
			Rep              string   `json:"rep"`
			SchemeIDURI      string   `json:"scheme_id_uri"`
			ID               uint32   `json:"id"`
			Time             string   `json:"time"`
			PresentationTime uint64   `json:"presentation_time"`
			Timescale        uint32   `json:"timescale"`
			DurationSeconds  *float64 `json:"duration_seconds"`
			SCTE35           *struct {
				Command              string   `json:"command"`
				SpliceEventID        *uint32  `json:"splice_event_id"`
				OutOfNetwork         *bool    `json:"out_of_network"`
				PTS                  *uint64  `json:"pts"`
				BreakDurationSeconds *float64 `json:"break_duration_seconds"`
				AutoReturn           *bool    `json:"auto_return"`
			} `json:"scte35"`
			SCTE35Error string `json:"scte35_error"`
		} `json:"events"`
	}
	r := mustCLI(t, ctx, ar.args("events", "--channel", ch, "--json")...)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("events --json: %v\n%s", err, r.stdout)
	}
	t.Logf("events --json:\n%s", r.stdout)
	var ids []int64
	for _, e := range got.Events {
		ids = append(ids, int64(e.ID))
		sit := int64(e.ID)
		s := e.SCTE35
		switch {
		case e.Rep != e2eVideo || e.SchemeIDURI != "urn:scte:scte35:2013:bin" || e.SCTE35Error != "":
			t.Errorf("event %d: rep %s scheme %s error %q; want SCTE-35 in %s", e.ID, e.Rep, e.SchemeIDURI, e.SCTE35Error, e2eVideo)
		case e.Time != time.Unix(sit, 0).UTC().Format(time.RFC3339) || e.Timescale == 0 || e.PresentationTime != uint64(sit)*uint64(e.Timescale):
			t.Errorf("event %d: time %s (%d/%d); want the splice time %d s", e.ID, e.Time, e.PresentationTime, e.Timescale, sit)
		case e.DurationSeconds == nil || *e.DurationSeconds != 10:
			t.Errorf("event %d: duration %v; want 10 s", e.ID, e.DurationSeconds)
		case s == nil || s.Command != "splice_insert" || s.SpliceEventID == nil || int64(*s.SpliceEventID) != sit ||
			s.OutOfNetwork == nil || !*s.OutOfNetwork || s.PTS == nil || *s.PTS != uint64(sit*90000)%(1<<33) ||
			s.BreakDurationSeconds == nil || *s.BreakDurationSeconds != 10 || s.AutoReturn == nil || !*s.AutoReturn:
			t.Errorf("event %d: scte35 %+v; want splice_insert id %d out, pts %d, break 10 s, auto-return", e.ID, s, sit, uint64(sit*90000)%(1<<33))
		}
	}
	if !slices.Equal(ids, want) {
		t.Errorf("events ids %v; livesim2 announced %v in video K %d..%d (each once, though both sources sent it)", ids, want, video.First, video.Last)
	}

	out := filepath.Join(ar.store, "vod", "ads.mpd")
	end := time.Unix((video.Last+1)*2, 0).UTC().Format(time.RFC3339)
	mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", video.FirstTime, "--to", end, "--out", "file://"+filepath.ToSlash(out))...)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(data))
	if err != nil {
		t.Fatal(err)
	}
	streams := map[string][]string{}
	for _, p := range m.Periods {
		for _, as := range p.AdaptationSets {
			for _, e := range as.InbandEventStreams {
				streams[string(as.ContentType)] = append(streams[string(as.ContentType)], string(e.SchemeIdUri))
			}
		}
	}
	if w := map[string][]string{"video": {"urn:scte:scte35:2013:bin"}}; !reflect.DeepEqual(streams, w) {
		t.Errorf("exported MPD InbandEventStreams %v; want %v\n%s", streams, w, data)
	}
}
