package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"sort"
	"time"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/avc"
	"github.com/Eyevinn/mp4ff/mp4"
)

// track is one asset track, looped on the epoch timeline.
type track struct {
	rep         string // Representation id and URL path element
	ext         string // CMAF extension, served as an alias of .m4s / .mp4
	contentType string // "video" or "audio"
	mimeType    string

	timescale uint32
	trackID   uint32
	init      []byte // the served init segment

	samples []mp4.Sample // asset samples in decode order
	data    [][]byte     // sample payloads, parallel to samples
	starts  []uint64     // asset-relative decode time of each sample
	loop    uint64       // asset duration in ticks: the loop period
	bytes   uint64       // sum of sample sizes

	segTicks  uint64 // D in ticks
	maxSegDur uint64 // longest segment in ticks

	codecs    string
	bandwidth uint32
	lang      string

	// video
	width, height int
	frameRate     string
	sar           string

	// audio
	sampleRate int
	channels   int
}

// loadTrack decodes the single-track fragmented MP4 asset of rep (VideoRep or
// AudioRep) and derives everything the simulator serves from it.
func loadTrack(rep string, asset []byte, d time.Duration) (*track, error) {
	t := &track{rep: rep, contentType: rep, ext: "cmfa", mimeType: "audio/mp4"}
	handler := "soun"
	if rep == VideoRep {
		t.ext, t.mimeType, handler = "cmfv", "video/mp4", "vide"
	}
	name := rep
	f, err := mp4.DecodeFile(bytes.NewReader(asset))
	if err != nil {
		return nil, fmt.Errorf("%s asset: decode: %w", name, err)
	}
	if f.Init == nil || f.Init.Moov == nil {
		return nil, fmt.Errorf("%s asset: not a fragmented MP4 file (no init segment)", name)
	}
	moov := f.Init.Moov
	if len(moov.Traks) != 1 {
		return nil, fmt.Errorf("%s asset: want exactly one track, found %d", name, len(moov.Traks))
	}
	trak := moov.Trak
	if trak.Tkhd == nil || trak.Mdia == nil || trak.Mdia.Hdlr == nil || trak.Mdia.Mdhd == nil ||
		trak.Mdia.Minf == nil || trak.Mdia.Minf.Stbl == nil || trak.Mdia.Minf.Stbl.Stsd == nil {
		return nil, fmt.Errorf("%s asset: incomplete trak box", name)
	}
	if got := trak.Mdia.Hdlr.HandlerType; got != handler {
		return nil, fmt.Errorf("%s asset: handler type %q, want %q", name, got, handler)
	}
	if moov.Mvex == nil || moov.Mvex.Trex == nil {
		return nil, fmt.Errorf("%s asset: no mvex/trex box: not a fragmented MP4 file", name)
	}
	t.timescale = trak.Mdia.Mdhd.Timescale
	t.trackID = trak.Tkhd.TrackID
	t.lang = trak.Mdia.Mdhd.GetLanguage()
	if t.timescale == 0 {
		return nil, fmt.Errorf("%s asset: mdhd timescale is 0", name)
	}
	var rem uint64
	if t.segTicks, rem = mulDiv(uint64(d), uint64(t.timescale), 1e9); rem != 0 {
		return nil, fmt.Errorf("segment duration %v is not a whole number of %s ticks (timescale %d)",
			d, name, t.timescale)
	}
	if t.segTicks > math.MaxUint32 {
		return nil, fmt.Errorf("segment duration %v is too long for %s (timescale %d)", d, name, t.timescale)
	}

	trex := moov.Mvex.Trex
	for _, seg := range f.Segments {
		for _, frag := range seg.Fragments {
			fss, err := frag.GetFullSamples(trex)
			if err != nil {
				return nil, fmt.Errorf("%s asset: fragment samples: %w", name, err)
			}
			for _, fs := range fss {
				if fs.Dur == 0 {
					return nil, fmt.Errorf("%s asset: sample %d has duration 0", name, len(t.samples))
				}
				t.starts = append(t.starts, t.loop)
				t.samples = append(t.samples, fs.Sample)
				t.data = append(t.data, fs.Data)
				t.loop += uint64(fs.Dur)
				t.bytes += uint64(fs.Size)
			}
		}
	}
	if len(t.samples) == 0 {
		return nil, fmt.Errorf("%s asset: no media samples", name)
	}
	if handler == "vide" {
		err = t.describeVideo(trak.Mdia.Minf.Stbl.Stsd)
	} else {
		err = t.describeAudio(trak.Mdia.Minf.Stbl.Stsd)
	}
	if err != nil {
		return nil, err
	}
	t.computeBandwidth()
	if t.init, err = cleanInit(f.Init); err != nil {
		return nil, fmt.Errorf("%s asset: init segment: %w", name, err)
	}
	return t, nil
}

// cleanInit returns the encoded init segment with no edit list, no mehd and
// zero durations; trex defaults are kept.
func cleanInit(init *mp4.InitSegment) ([]byte, error) {
	moov := init.Moov
	if moov.Mvhd != nil {
		moov.Mvhd.Duration = 0
	}
	trak := moov.Trak
	if trak.Tkhd != nil {
		trak.Tkhd.Duration = 0
	}
	trak.Mdia.Mdhd.Duration = 0
	trak.Edts = nil
	trak.Children = without(trak.Children, "edts")
	moov.Mvex.Mehd = nil
	moov.Mvex.Children = without(moov.Mvex.Children, "mehd")
	var buf bytes.Buffer
	if err := init.Encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func without(boxes []mp4.Box, boxType string) []mp4.Box {
	out := boxes[:0:0]
	for _, b := range boxes {
		if b.Type() != boxType {
			out = append(out, b)
		}
	}
	return out
}

// describeVideo fills in the video Representation attributes and checks that
// every segment boundary falls on a sync sample that is presented first.
func (t *track) describeVideo(stsd *mp4.StsdBox) error {
	vse := stsd.AvcX
	if vse == nil || vse.AvcC == nil || len(vse.AvcC.SPSnalus) == 0 {
		return errors.New("video asset: only AVC (avc1/avc3 with avcC and an SPS) is supported")
	}
	sps, err := avc.ParseSPSNALUnit(vse.AvcC.SPSnalus[0], false)
	if err != nil {
		return fmt.Errorf("video asset: SPS: %w", err)
	}
	t.codecs = avc.CodecString(vse.Type(), sps)
	t.width, t.height = int(vse.Width), int(vse.Height)
	if vse.Pasp != nil && vse.Pasp.HSpacing != 0 && vse.Pasp.VSpacing != 0 {
		t.sar = fmt.Sprintf("%d:%d", vse.Pasp.HSpacing, vse.Pasp.VSpacing)
	}
	// Frame rate = samples per second over the whole loop.
	num, den := uint64(len(t.samples))*uint64(t.timescale), t.loop
	g := gcd(num, den)
	num, den = num/g, den/g
	if den == 1 {
		t.frameRate = fmt.Sprintf("%d", num)
	} else {
		t.frameRate = fmt.Sprintf("%d/%d", num, den)
	}

	// Segment K starts at asset time K*D mod loop; these times are exactly
	// the multiples of gcd(D, loop) below loop. Each must be the start of a
	// sync sample that is also the first one presented in its segment.
	step := gcd(t.segTicks, t.loop)
	for off := uint64(0); off < t.loop; off += step {
		j := sort.Search(len(t.starts), func(i int) bool { return t.starts[i] >= off })
		if j == len(t.starts) || t.starts[j] != off || !t.samples[j].IsSync() {
			return fmt.Errorf("segment duration %v does not fit the video asset: a segment would start at "+
				"asset time %v, which is not the start of a sync sample (video segments must be exactly D "+
				"long and start with a sync sample; the asset's fragments are %v long)",
				ticksString(t.segTicks, t.timescale), ticksString(off, t.timescale),
				ticksString(t.fragmentDuration(), t.timescale))
		}
		ept := int64(math.MaxInt64)
		t.walk(off, off+t.segTicks, func(j int, dts uint64) {
			ept = min(ept, int64(dts)+int64(t.samples[j].CompositionTimeOffset))
		})
		if ept != int64(off) {
			return fmt.Errorf("video asset: the segment starting at asset time %v has earliest presentation "+
				"time %+d ticks from its start (the first sample must have PTS == DTS and be presented first)",
				ticksString(off, t.timescale), ept-int64(off))
		}
	}
	t.maxSegDur = t.segTicks
	return nil
}

// fragmentDuration is the distance between the first two sync samples (or
// the loop length): the asset's GOP, for error messages.
func (t *track) fragmentDuration() uint64 {
	for j := 1; j < len(t.samples); j++ {
		if t.samples[j].IsSync() {
			return t.starts[j]
		}
	}
	return t.loop
}

// describeAudio fills in the audio Representation attributes. Audio uses
// constrained variation (segment K holds the frames whose decode time lies in
// [K*D, (K+1)*D)); all frames must have the same duration, so that segments
// differ by at most one frame.
func (t *track) describeAudio(stsd *mp4.StsdBox) error {
	ase := stsd.Mp4a
	if ase == nil || ase.Esds == nil || ase.Esds.DecConfigDescriptor == nil ||
		ase.Esds.DecConfigDescriptor.DecSpecificInfo == nil {
		return errors.New("audio asset: only AAC (mp4a with esds and an AudioSpecificConfig) is supported")
	}
	dcd := ase.Esds.DecConfigDescriptor
	asc, err := aac.DecodeAudioSpecificConfig(bytes.NewReader(dcd.DecSpecificInfo.DecConfig))
	if err != nil {
		return fmt.Errorf("audio asset: AudioSpecificConfig: %w", err)
	}
	t.codecs = fmt.Sprintf("mp4a.%02x.%d", dcd.ObjectType, asc.ObjectType)
	t.sampleRate = int(ase.SampleRate)
	if t.sampleRate == 0 {
		t.sampleRate = asc.SamplingFrequency
	}
	t.channels = int(asc.ChannelConfiguration)
	if t.channels == 0 {
		t.channels = int(ase.ChannelCount)
	}
	frame := uint64(t.samples[0].Dur)
	for j, s := range t.samples {
		if uint64(s.Dur) != frame {
			return fmt.Errorf("audio asset: sample %d lasts %d ticks, sample 0 %d: audio frames must all have the same duration",
				j, s.Dur, frame)
		}
	}
	if t.segTicks < frame {
		return fmt.Errorf("segment duration %v is shorter than one audio frame (%d ticks at %d)",
			ticksString(t.segTicks, t.timescale), frame, t.timescale)
	}
	t.maxSegDur = (t.segTicks + frame - 1) / frame * frame
	return nil
}

// walk calls fn for every sample of the looped track whose decode time lies
// in [from, to), in decode order, with its index into t.samples and its
// decode time on the looped timeline.
func (t *track) walk(from, to uint64, fn func(j int, dts uint64)) {
	base := from / t.loop * t.loop
	off := from - base
	j := sort.Search(len(t.starts), func(i int) bool { return t.starts[i] >= off })
	if j == len(t.starts) {
		j, base = 0, base+t.loop
	}
	for dts := base + t.starts[j]; dts < to; {
		fn(j, dts)
		dts += uint64(t.samples[j].Dur)
		if j++; j == len(t.samples) {
			j = 0
		}
	}
}

// computeBandwidth sets t.bandwidth to the peak bit rate over any window of
// one segment duration (sample payload only), rounded up to whole kbit/s.
func (t *track) computeBandwidth() {
	loops := t.segTicks / t.loop
	rest := t.segTicks % t.loop
	var peak uint64
	for i := range t.samples {
		sum := loops * t.bytes
		t.walk(t.starts[i], t.starts[i]+rest, func(j int, _ uint64) { sum += uint64(t.samples[j].Size) })
		peak = max(peak, sum)
	}
	bps := (peak*8*uint64(t.timescale) + t.segTicks - 1) / t.segTicks
	t.bandwidth = uint32(min((bps+999)/1000*1000, math.MaxUint32))
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// mulDiv returns a*b/c and its remainder; the quotient must fit 64 bits.
func mulDiv(a, b, c uint64) (quo, rem uint64) {
	hi, lo := bits.Mul64(a, b)
	return bits.Div64(hi, lo, c)
}

func ticksString(ticks uint64, timescale uint32) string {
	ns, _ := mulDiv(ticks, 1e9, uint64(timescale))
	return time.Duration(ns).String()
}
