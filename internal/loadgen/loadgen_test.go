package loadgen

import (
	"bytes"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestLoad checks the default load: 8 channels × 8 tracks, video padded to
// its ladder sizes, every segment a valid CMAF segment on the epoch grid
// whose video samples are still length-prefixed NAL units.
func TestLoad(t *testing.T) {
	v, a := testenv.Assets(t)
	l, err := New(Options{Video: v, Audio: a, Segments: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(l.Tracks); got != 64 {
		t.Fatalf("%d tracks, want 64", got)
	}
	if got := len(l.Channels()); got != 8 {
		t.Fatalf("%d channels, want 8", got)
	}
	if l.MediaSegments != 64*3 {
		t.Fatalf("%d media segments", l.MediaSegments)
	}
	d := uint64(l.SegmentDuration.Seconds())
	for _, tr := range l.Tracks[:8] { // the other channels share the bytes
		in, err := cmaf.ParseInit(tr.Init)
		if err != nil {
			t.Fatal(err)
		}
		if (in.ContentType == "video") != tr.Video {
			t.Fatalf("%s: content type %s", tr.Rep, in.ContentType)
		}
		for i, seg := range tr.Segments {
			k := l.K(i)
			if tr.Video && len(seg) != DefaultVideoSizes[tr.Rep[1]-'0'] {
				t.Errorf("%s K %d: %d bytes, want %d", tr.Rep, k, len(seg), DefaultVideoSizes[tr.Rep[1]-'0'])
			}
			if !tr.Video && (len(seg) < 20_000 || len(seg) > 60_000) {
				t.Errorf("%s K %d: %d bytes, not audio-like", tr.Rep, k, len(seg))
			}
			info, err := cmaf.ParseSegment(seg, in)
			if err != nil {
				t.Fatalf("%s K %d: %v", tr.Rep, k, err)
			}
			grid := uint64(k) * d * uint64(in.Timescale)
			if tr.Video && (info.EPT != grid || !info.StartsWithSync || info.Duration != d*uint64(in.Timescale)) {
				t.Errorf("%s K %d: EPT %d (want %d) sync %v duration %d", tr.Rep, k, info.EPT, grid, info.StartsWithSync, info.Duration)
			}
			if !tr.Video && (info.EPT < grid || info.EPT >= grid+1024) {
				t.Errorf("%s K %d: EPT %d not within a frame of %d", tr.Rep, k, info.EPT, grid)
			}
			f, err := mp4.DecodeFile(bytes.NewReader(seg))
			if err != nil {
				t.Fatal(err)
			}
			frag := f.Segments[0].Fragments[0]
			if frag.Moof.Mfhd.SequenceNumber != uint32(k) {
				t.Errorf("%s K %d: mfhd sequence number %d", tr.Rep, k, frag.Moof.Mfhd.SequenceNumber)
			}
			if !tr.Video {
				continue
			}
			it, _ := mp4.DecodeFile(bytes.NewReader(tr.Init))
			samples, err := frag.GetFullSamples(it.Init.Moov.Mvex.Trex)
			if err != nil {
				t.Fatal(err)
			}
			for j, s := range samples {
				if err := checkNALUs(s.Data); err != nil {
					t.Fatalf("%s K %d sample %d: %v", tr.Rep, k, j, err)
				}
				if last := s.Data[len(s.Data)-1]; last != 0x80 {
					t.Fatalf("%s K %d sample %d: no filler NAL unit at the end", tr.Rep, k, j)
				}
			}
		}
	}
}

func TestFillerNALU(t *testing.T) {
	b := fillerNALU(10)
	want := []byte{0, 0, 0, 6, 12, 0xFF, 0xFF, 0xFF, 0xFF, 0x80}
	if !bytes.Equal(b, want) {
		t.Fatalf("% x, want % x", b, want)
	}
	if err := checkNALUs(b); err != nil {
		t.Fatal(err)
	}
}
