package manifest

import (
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// TestBuildVoDDynamicGrid: a dynamic MPD describes each run of K on the
// K*D grid, one S per track (S@t = first K * SegDur, S@d = SegDur, S@r),
// however much the REaP audio durations vary; a static one keeps the
// archived EPTs and durations.
func TestBuildVoDDynamicGrid(t *testing.T) {
	t.Parallel()
	const first, last = k0, k0 + 299 // 10 minutes of 2 s segments
	cases := []struct {
		name      string
		dynamic   *Dynamic
		wantAudio []*mpd.S // nil: more than one S
	}{
		{"dynamic: the K grid", &Dynamic{PublishTime: time.Unix(int64(last)*2, 0), TimeShiftBufferDepth: time.Hour},
			[]*mpd.S{{T: mpd.Ptr(uint64(first) * 96000), D: 96000, R: last - first}}},
		{"static: the archived EPTs", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			in := VoDInput{Dynamic: c.dynamic, Periods: []VoDPeriod{{Tracks: []VoDTrack{
				videoTrack("V300", 300000, videoSegs(first, last)), audioTrack("A48", audioSegs(first, last)),
			}}}}
			out, err := BuildVoD(in)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.MPDFromBytes(out)
			if err != nil {
				t.Fatal(err)
			}
			for _, as := range m.Periods[0].AdaptationSets {
				st := as.SegmentTemplate
				if st == nil || st.SegmentTimeline == nil {
					t.Fatalf("%s: no SegmentTemplate with a SegmentTimeline", as.ContentType)
				}
				got := st.SegmentTimeline.S
				if as.ContentType == "video" {
					if len(got) != 1 || got[0].R != last-first {
						t.Errorf("video: %d S, want one of %d segments", len(got), last-first+1)
					}
					continue
				}
				if c.wantAudio == nil {
					if len(got) < 2 {
						t.Errorf("audio: %d S, want the archived durations", len(got))
					}
					continue
				}
				if !sameTimeline(got, c.wantAudio) {
					t.Errorf("audio: %d S (first t %v d %d r %d), want t %d d 96000 r %d", len(got), deref(got[0].T), got[0].D, got[0].R, *c.wantAudio[0].T, c.wantAudio[0].R)
				}
			}
		})
	}
}
