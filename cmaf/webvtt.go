package cmaf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
)

// mpegTSWrap is 2^33, where the 90 kHz MPEG-2 timestamps of an
// X-TIMESTAMP-MAP wrap.
const mpegTSWrap = 1 << 33

// vttCue is one cue of a WebVTT text file, its times in ticks of the
// track's timescale relative to the segment's start.
type vttCue struct {
	id, settings, payload string
	start, end            uint64
}

// WebVTT converts a media segment of an fMP4 WebVTT track (sample entry
// wvtt, ISO/IEC 14496-30) to a WebVTT text file, the segment format of an
// HLS WebVTT subtitle rendition (RFC 8216bis 3.1.4). init is the track's
// CMAF header (timescale and trex defaults). Each sample covers
// [decode time, + duration) and holds the cues active then (vttc: iden is
// the cue identifier, sttg its settings, payl its text) or none (vtte);
// vtta (comments) is left out. A cue that continues over contiguous
// samples with the same identifier, settings and text is one cue.
//
// The file starts with "WEBVTT" and an X-TIMESTAMP-MAP header that maps
// LOCAL 00:00:00.000 to the segment's start (its tfdt) in 90 kHz
// (MPEGTS, modulo 2^33); cue times are relative to that start.
func WebVTT(data []byte, init *InitInfo) (out []byte, err error) {
	defer noPanic("WebVTT segment", &err)
	if init == nil || init.Timescale == 0 {
		return nil, errors.New("WebVTT segment: no init timescale")
	}
	if init.SampleEntry != "wvtt" {
		return nil, fmt.Errorf("WebVTT segment: the track's sample entry is %q, want wvtt", init.SampleEntry)
	}
	info, err := ParseSegment(data, init)
	if err != nil {
		return nil, err
	}
	samples, err := segmentSamples(data, init)
	if err != nil {
		return nil, err
	}
	var l cueList
	for i, s := range samples {
		if err := l.add(s, s.DecodeTime-info.BaseMediaDecodeTime); err != nil {
			return nil, fmt.Errorf("sample %d (decode time %d): %w", i+1, s.DecodeTime, err)
		}
	}
	return writeVTT(l.cues, info.BaseMediaDecodeTime, init.Timescale), nil
}

// segmentSamples decodes the samples of a segment ParseSegment accepted.
func segmentSamples(data []byte, init *InitInfo) ([]mp4.FullSample, error) {
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	trex := &mp4.TrexBox{TrackID: init.TrackID, DefaultSampleDescriptionIndex: 1,
		DefaultSampleDuration: init.DefaultSampleDuration, DefaultSampleSize: init.DefaultSampleSize, DefaultSampleFlags: init.DefaultSampleFlags}
	var out []mp4.FullSample
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			fss, err := frag.GetFullSamples(trex)
			if err != nil {
				return nil, err
			}
			out = append(out, fss...)
		}
	}
	return out, nil
}

// cueList collects a segment's cues, merging a cue that continues over
// contiguous samples.
type cueList struct {
	cues []vttCue
	// open are the cues the previous sample held, by identifier, settings
	// and text (indices into cues), all ending at openEnd.
	open    map[vttKey][]int
	openEnd uint64
}

type vttKey struct{ id, settings, payload string }

// add adds the cues of sample s, which starts at start (relative to the
// segment): a cue equal to one of the previous sample's extends it when s
// starts where that one ends.
func (l *cueList) add(s mp4.FullSample, start uint64) error {
	if err := checkSampleBoxes(s.Data); err != nil {
		return err
	}
	if start != l.openEnd {
		l.open = nil // not contiguous: nothing continues
	}
	next := map[vttKey][]int{}
	sr := bits.NewFixedSliceReader(s.Data)
	for sr.GetPos() < len(s.Data) {
		box, err := mp4.DecodeBoxSR(0, sr)
		if err != nil {
			return err
		}
		vttc, ok := box.(*mp4.VttcBox)
		if !ok {
			continue // vtte (no cue), vtta (a comment), or unknown: skipped
		}
		c, err := cueOf(vttc)
		if err != nil {
			return err
		}
		c.start, c.end = start, start+uint64(s.Dur)
		k := vttKey{c.id, c.settings, c.payload}
		if prev := l.open[k]; len(prev) > 0 {
			l.open[k] = prev[1:]
			l.cues[prev[0]].end = c.end
			next[k] = append(next[k], prev[0])
			continue
		}
		next[k] = append(next[k], len(l.cues))
		l.cues = append(l.cues, c)
	}
	l.open, l.openEnd = next, start+uint64(s.Dur)
	return nil
}

// checkSampleBoxes runs the structure checks of CheckStructure over the
// boxes of a sample's data. They are no top-level boxes of a file, which
// CheckStructure wants first: an empty free box goes before them (so the
// offsets its errors name count 8 bytes more).
func checkSampleBoxes(data []byte) error {
	return CheckStructure(append([]byte{0, 0, 0, 8, 'f', 'r', 'e', 'e'}, data...))
}

// cueOf is the cue a vttc box describes, checked so that it cannot break
// the text file's block structure.
func cueOf(b *mp4.VttcBox) (vttCue, error) {
	if b.Payl == nil {
		return vttCue{}, errors.New("vttc without payl")
	}
	var c vttCue
	c.payload = strings.ReplaceAll(strings.ReplaceAll(b.Payl.CueText, "\r\n", "\n"), "\r", "\n")
	c.payload = strings.TrimRight(c.payload, "\n")
	if strings.Contains(c.payload, "\n\n") {
		return vttCue{}, fmt.Errorf("cue text %q holds an empty line, which ends a cue in WebVTT", b.Payl.CueText)
	}
	// "-->" in cue text would start a new cue; as an entity it reads the same.
	c.payload = strings.ReplaceAll(c.payload, "-->", "--&gt;")
	if b.Iden != nil {
		c.id = b.Iden.CueID
		if strings.ContainsAny(c.id, "\r\n") || strings.Contains(c.id, "-->") {
			return vttCue{}, fmt.Errorf("cue identifier %q holds a line break or -->", c.id)
		}
	}
	if b.Sttg != nil {
		c.settings = b.Sttg.Settings
		if strings.ContainsAny(c.settings, "\r\n") {
			return vttCue{}, fmt.Errorf("cue settings %q hold a line break", c.settings)
		}
	}
	return c, nil
}

// writeVTT writes the WebVTT text file of cues, whose times are relative to
// the segment start segStart (ticks of timescale).
func writeVTT(cues []vttCue, segStart uint64, timescale uint32) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:%d,LOCAL:00:00:00.000\n", mpegTS(segStart, timescale))
	for _, c := range cues {
		b.WriteString("\n")
		if c.id != "" {
			b.WriteString(c.id + "\n")
		}
		b.WriteString(vttTime(c.start, timescale) + " --> " + vttTime(c.end, timescale))
		if c.settings != "" {
			b.WriteString(" " + c.settings)
		}
		b.WriteString("\n" + c.payload + "\n")
	}
	return []byte(b.String())
}

// mpegTS is ticks of timescale in 90 kHz, modulo 2^33 (without overflow).
func mpegTS(ticks uint64, timescale uint32) uint64 {
	perSec := uint64(timescale)
	sec, rem := ticks/perSec, ticks%perSec
	return ((sec%mpegTSWrap)*90000 + rem*90000/perSec) % mpegTSWrap
}

// vttTime is a WebVTT timestamp (hh:mm:ss.ttt) of ticks of timescale,
// rounded to the millisecond.
func vttTime(ticks uint64, timescale uint32) string {
	perSec := uint64(timescale)
	ms := ticks/perSec*1000 + (ticks%perSec*1000+perSec/2)/perSec
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
