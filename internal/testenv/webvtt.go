package testenv

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

// VTTCue is a cue of a WebVTTSegment sample: its identifier (iden) and
// settings (sttg), left out when empty, and its text (payl).
type VTTCue struct {
	ID, Settings, Text string
}

// VTTSample is a sample of a WebVTTSegment: Dur ticks holding Cues (a vttc
// box each), or no cue (a vtte box) when Cues is empty. Raw, when set, is
// the sample's data instead.
type VTTSample struct {
	Dur  uint32
	Cues []VTTCue
	Raw  []byte
}

// WebVTTInit returns the CMAF header of an fMP4 WebVTT text track (sample
// entry wvtt, ISO/IEC 14496-30).
func WebVTTInit(trackID, timescale uint32, lang string) ([]byte, error) {
	init := mp4.CreateEmptyInit()
	trak := init.AddEmptyTrack(timescale, "wvtt", lang)
	trak.Tkhd.TrackID = trackID
	init.Moov.Mvex.Trex.TrackID = trackID
	if err := trak.SetWvttDescriptor("WEBVTT"); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := init.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WebVTTSegment returns a media segment of a WebVTTInit track: a styp and
// one fragment (sequence number seq) whose samples start at decode time dt.
func WebVTTSegment(trackID, seq uint32, dt uint64, samples []VTTSample) ([]byte, error) {
	frag, err := mp4.CreateFragment(seq, trackID)
	if err != nil {
		return nil, err
	}
	for _, s := range samples {
		data := s.Raw
		if data == nil {
			if data, err = vttSampleData(s.Cues); err != nil {
				return nil, err
			}
		}
		frag.AddFullSample(mp4.FullSample{Sample: mp4.Sample{Flags: mp4.SyncSampleFlags, Dur: s.Dur, Size: uint32(len(data))},
			DecodeTime: dt, Data: data})
		dt += uint64(s.Dur)
	}
	var buf bytes.Buffer
	if err := mp4.NewStyp("msdh", 0, []string{"msdh", "msix"}).Encode(&buf); err != nil {
		return nil, err
	}
	if err := frag.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// vttSampleData is the data of a sample holding cues: a vttc box per cue,
// or a vtte box.
func vttSampleData(cues []VTTCue) ([]byte, error) {
	var buf bytes.Buffer
	if len(cues) == 0 {
		err := (&mp4.VtteBox{}).Encode(&buf)
		return buf.Bytes(), err
	}
	for _, c := range cues {
		vttc := &mp4.VttcBox{}
		if c.ID != "" {
			vttc.AddChild(&mp4.IdenBox{CueID: c.ID})
		}
		if c.Settings != "" {
			vttc.AddChild(&mp4.SttgBox{Settings: c.Settings})
		}
		vttc.AddChild(&mp4.PaylBox{CueText: c.Text})
		if err := vttc.Encode(&buf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// KWebVTTSegment is segment K of a WebVTTInit track of timescale 1000 and
// 2-s segments (track trackID): a cue "segment <K>" (identifier "k<K>")
// for its first second, then none; with bad set, its second sample is a
// vttc without payl.
func KWebVTTSegment(tb testing.TB, trackID uint32, k int64, bad bool) []byte {
	tb.Helper()
	second := VTTSample{Dur: 1000}
	if bad {
		second.Raw = []byte{0, 0, 0, 8, 'v', 't', 't', 'c'}
	}
	n := strconv.FormatInt(k, 10)
	b, err := WebVTTSegment(trackID, uint32(k), uint64(k)*2000, []VTTSample{
		{Dur: 1000, Cues: []VTTCue{{ID: "k" + n, Text: "segment " + n}}}, second,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
