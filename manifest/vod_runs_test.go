package manifest

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// TestBuildVoDRuns: entries that stand for runs of segments (Repeat) give
// the MPDs and HLS playlists of the same segments listed one by one, for
// every golden input, static and dynamic.
func TestBuildVoDRuns(t *testing.T) {
	t.Parallel()
	cases := append(vodCases(), hlsCases()...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			runs, n := asRuns(c.in)
			if n == 0 {
				t.Fatalf("%s has no run of two segments to compare", c.name)
			}
			for _, dynamic := range []bool{false, true} {
				one, many := c.in, runs
				if dynamic {
					d := Dynamic{PublishTime: time.Unix(1_900_000_000, 0), TimeShiftBufferDepth: time.Hour}
					one.Dynamic, many.Dynamic = &d, &d
				}
				want, werr := BuildVoD(one)
				got, gerr := BuildVoD(many)
				if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
					t.Fatalf("dynamic %v: with runs (%v)\n%s\none by one (%v)\n%s", dynamic, gerr, got, werr, want)
				}
			}
			want, werr := BuildHLS(c.in, hlsName)
			got, gerr := BuildHLS(runs, hlsName)
			if (werr == nil) != (gerr == nil) || len(got) != len(want) {
				t.Fatalf("HLS: %d playlists (%v) with runs, %d (%v) one by one", len(got), gerr, len(want), werr)
			}
			for i := range got {
				if !bytes.Equal(got[i].Body, want[i].Body) {
					t.Errorf("HLS %s with runs\n%s\none by one\n%s", got[i].Rep, got[i].Body, want[i].Body)
				}
			}
		})
	}
}

// asRuns is in with each run of segments (consecutive Ks, each starting
// where the one before ends, of one duration) as one entry, and how many
// entries stand for more than one segment.
func asRuns(in VoDInput) (VoDInput, int) {
	n := 0
	in.Periods = slices.Clone(in.Periods)
	for pi := range in.Periods {
		p := &in.Periods[pi]
		p.Tracks = slices.Clone(p.Tracks)
		for ti := range p.Tracks {
			var out []VoDSegment
			for _, s := range p.Tracks[ti].Segments {
				if m := len(out); m > 0 && !s.Gap && !out[m-1].Gap && s.K == out[m-1].LastK()+1 &&
					s.EPT == out[m-1].End() && s.Duration == out[m-1].Duration {
					if out[m-1].Repeat++; out[m-1].Repeat == 1 {
						n++
					}
					continue
				}
				out = append(out, s)
			}
			p.Tracks[ti].Segments = out
		}
	}
	return in, n
}
