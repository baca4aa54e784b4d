package manifest

import (
	"reflect"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// TestBuildVoDInbandEvents: each AdaptationSet has one InbandEventStream
// per event stream any of its tracks carries (sorted, once), and none when
// its tracks carry none.
func TestBuildVoDInbandEvents(t *testing.T) {
	t.Parallel()
	scte := InbandEvent{SchemeIDURI: "urn:scte:scte35:2013:bin"}
	id3 := InbandEvent{SchemeIDURI: "https://aomedia.org/emsg/ID3", Value: "1"}
	lo := videoTrack("V300", 300000, videoSegs(k0, k0+3))
	lo.InbandEvents = []InbandEvent{scte}
	hi := videoTrack("V600", 600000, videoSegs(k0, k0+3))
	hi.InbandEvents = []InbandEvent{scte, id3}
	audio := audioTrack("A48", audioSegs(k0, k0+3))
	out, err := BuildVoD(VoDInput{Title: "t", Periods: []VoDPeriod{{Tracks: []VoDTrack{lo, hi, audio}}}})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(out))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]InbandEvent{"video": {id3, scte}, "audio": nil}
	for _, as := range m.Periods[0].AdaptationSets {
		var got []InbandEvent
		for _, e := range as.InbandEventStreams {
			got = append(got, InbandEvent{SchemeIDURI: string(e.SchemeIdUri), Value: e.Value})
		}
		if w := want[string(as.ContentType)]; !reflect.DeepEqual(got, w) {
			t.Errorf("%s AdaptationSet: InbandEventStreams %v, want %v\n%s", as.ContentType, got, w, out)
		}
	}
}
