package cmaf

import (
	"fmt"
	"math"
	"slices"

	"github.com/Eyevinn/mp4ff/mp4"
)

// ParseSegment parses a media segment: optional styp, emsg, sidx and prft boxes,
// then one or more moof+mdat pairs (emsg and prft may also sit between pairs).
// If init is not nil, every tfhd must carry init.TrackID and init's trex sample
// defaults apply; otherwise all fragments must share one track_ID.
func ParseSegment(data []byte, init *InitInfo) (info *SegmentInfo, err error) {
	return ParseSegmentWithSum(data, init, "")
}

// ParseSegmentWithSum is ParseSegment for a caller that computed data's
// SHA-256 while it read the bytes (sum, lower-case hex): info.SHA256 is
// sum, and data is not hashed a second time. An empty sum: data is hashed
// here.
func ParseSegmentWithSum(data []byte, init *InitInfo, sum string) (info *SegmentInfo, err error) {
	defer noPanic("media segment", &err)
	return parseSegment(data, len(data), init, sum)
}

// ParseSegmentHead parses the head of a media segment of total bytes whose
// last box is an mdat, for a caller that streams that mdat's payload
// rather than holding it: head is every byte of the segment up to and
// including the mdat's header. It checks everything ParseSegment checks
// that needs no sample bytes: the mdat must be the last box, its size must
// be total less its offset, and each trun's data must lie inside its
// payload. info.SHA256 is empty (the caller hashes the bytes as they pass)
// and info.Size is total.
func ParseSegmentHead(head []byte, total int64, init *InitInfo) (info *SegmentInfo, err error) {
	defer noPanic("media segment", &err)
	if total < int64(len(head)) || total > math.MaxInt {
		return nil, fmt.Errorf("segment head of %d bytes, segment of %d bytes", len(head), total)
	}
	return parseSegment(head, int(total), init, "")
}

// fragment is one decoded moof and the mdat that follows it.
type fragment struct {
	n    int // 1-based fragment number within the segment
	moof *mp4.MoofBox
	at   rawBox // the moof
	mdat rawBox
}

// segmentState accumulates what ParseSegment reports while walking fragments.
type segmentState struct {
	init    *InitInfo
	info    SegmentInfo
	nextDTS uint64 // decode time expected at the start of the next fragment
	minPTS  uint64
}

// parseSegment parses data, the first bytes of a media segment of total
// bytes: all of it (total = len(data)), or its head (see
// ParseSegmentHead), whose payload is then not hashed.
func parseSegment(data []byte, total int, init *InitInfo, sum string) (*SegmentInfo, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotMediaSegment)
	}
	st := &segmentState{init: init, minPTS: math.MaxUint64}
	if init != nil {
		st.info.TrackID = init.TrackID
	}
	var pending *fragment // moof waiting for its mdat
	off := 0
	for off < len(data) {
		b, err := headBox(data, off, total)
		if err != nil {
			return nil, err
		}
		if pending != nil && b.typ != "mdat" {
			return nil, fmt.Errorf("moof at offset %d followed by %s, want mdat", pending.at.start, b.typ)
		}
		switch b.typ {
		case "moof":
			box, err := decodeBox(data, b)
			if err != nil {
				return nil, err
			}
			pending = &fragment{n: st.info.Fragments + 1, moof: box.(*mp4.MoofBox), at: b}
		case "mdat":
			if pending == nil {
				return nil, fmt.Errorf("mdat at offset %d without a preceding moof", b.start)
			}
			pending.mdat = b
			if err := st.addFragment(pending, total); err != nil {
				return nil, err
			}
			pending = nil
		case "emsg":
			box, err := decodeBox(data, b)
			if err != nil {
				return nil, err
			}
			st.addEmsg(box.(*mp4.EmsgBox))
		case "styp":
			box, err := decodeBox(data, b)
			if err != nil {
				return nil, err
			}
			st.addBrands(box.(*mp4.StypBox))
		case "sidx", "ssix", "prft":
			if _, err := decodeBox(data, b); err != nil {
				return nil, err
			}
		case "free", "skip", "uuid":
			// ignorable
		case "ftyp", "moov":
			return nil, fmt.Errorf("%w: %s box at offset %d (an init segment?)", ErrNotMediaSegment, b.typ, b.start)
		default:
			return nil, fmt.Errorf("unexpected top-level %q box at offset %d in media segment", b.typ, b.start)
		}
		off = b.end
	}
	if pending != nil {
		return nil, fmt.Errorf("%w: moof at offset %d has no mdat", ErrTruncated, pending.at.start)
	}
	if off != total {
		return nil, fmt.Errorf("segment head of %d bytes does not end with the header of an mdat reaching the segment's end (%d bytes)", len(data), total)
	}
	if st.info.Fragments == 0 {
		return nil, fmt.Errorf("%w: no moof", ErrNotMediaSegment)
	}
	slices.Sort(st.info.EmsgSchemes)
	st.info.EPT = st.minPTS
	if sum == "" && total == len(data) {
		sum = sha256Hex(data)
	}
	st.info.SHA256 = sum
	st.info.Size = total
	return &st.info, nil
}

// headBox is the box at off of data, the first bytes of a segment of
// total bytes: a whole box (nextBox) or, when data is a segment's head,
// the mdat whose header ends data and whose payload must reach total.
func headBox(data []byte, off, total int) (rawBox, error) {
	if total > len(data) && len(data)-off >= BoxHeaderLen {
		h, complete := ParseBoxHeader(data[off:])
		if h.Type == "mdat" && complete && off+h.HdrLen == len(data) {
			size := h.Size
			if size == 0 {
				size = uint64(total - off)
			}
			if size != uint64(total-off) {
				return rawBox{}, fmt.Errorf("mdat at offset %d declares %d bytes, the segment has %d bytes from there", off, size, total-off)
			}
			return rawBox{typ: "mdat", start: off, hdrLen: h.HdrLen, end: total}, nil
		}
	}
	return nextBox(data, off)
}

// addEmsg notes an emsg box: its scheme and the event it carries.
func (st *segmentState) addEmsg(e *mp4.EmsgBox) {
	if !slices.Contains(st.info.EmsgSchemes, e.SchemeIDURI) {
		st.info.EmsgSchemes = append(st.info.EmsgSchemes, e.SchemeIDURI)
	}
	st.info.Events = append(st.info.Events, Emsg{Version: e.Version, SchemeIDURI: e.SchemeIDURI, Value: e.Value, ID: e.ID,
		Timescale: e.TimeScale, PresentationTime: e.PresentationTime, PresentationTimeDelta: e.PresentationTimeDelta,
		EventDuration: e.EventDuration, Message: slices.Clone(e.MessageData)})
}

// Segment brands of the DASH-IF ingest specification.
const (
	BrandFiller = "slat" // the segment is an encoder's filler
	BrandLast   = "lmsg" // the last segment of the track
)

// addBrands notes the styp brands that say what the segment is.
func (st *segmentState) addBrands(styp *mp4.StypBox) {
	brands := append([]string{styp.MajorBrand()}, styp.CompatibleBrands()...)
	st.info.Filler = st.info.Filler || slices.Contains(brands, BrandFiller)
	st.info.LastSegment = st.info.LastSegment || slices.Contains(brands, BrandLast)
}

// addFragment checks one moof+mdat pair and adds its samples to the state.
func (st *segmentState) addFragment(f *fragment, dataLen int) error {
	traf, err := st.checkTraf(f)
	if err != nil {
		return err
	}
	dts := traf.Tfdt.BaseMediaDecodeTime()
	if f.n == 1 {
		st.info.BaseMediaDecodeTime = dts
	} else if dts != st.nextDTS {
		return fmt.Errorf("fragment %d tfdt %d, want %d: fragments not contiguous in decode time", f.n, dts, st.nextDTS)
	}
	base := uint64(f.at.start) // default-base-is-moof, or the implicit base of a single-traf moof
	if traf.Tfhd.HasBaseDataOffset() {
		base = traf.Tfhd.BaseDataOffset
	}
	if base > uint64(dataLen) {
		return fmt.Errorf("fragment %d: base_data_offset %d outside segment of %d bytes", f.n, base, dataLen)
	}
	w := trunWalk{f: f, defs: st.sampleDefaults(traf.Tfhd), pos: int64(base), dts: dts,
		payloadStart: int64(f.mdat.start + f.mdat.hdrLen), payloadEnd: int64(f.mdat.end)}
	for i, trun := range traf.Truns {
		if trun.HasDataOffset() {
			w.pos = int64(base) + int64(trun.DataOffset)
		}
		if err := st.addTrun(&w, i, trun); err != nil {
			return err
		}
	}
	if w.samples == 0 {
		return fmt.Errorf("fragment %d has no samples", f.n)
	}
	st.info.Duration += w.dts - traf.Tfdt.BaseMediaDecodeTime()
	st.nextDTS = w.dts
	st.info.Fragments++
	return nil
}

// checkTraf returns the fragment's one traf after checking that it has a
// tfhd of the segment's track, a tfdt and a trun.
func (st *segmentState) checkTraf(f *fragment) (*mp4.TrafBox, error) {
	if len(f.moof.Trafs) != 1 {
		return nil, fmt.Errorf("fragment %d: moof has %d trafs, want 1", f.n, len(f.moof.Trafs))
	}
	traf := f.moof.Trafs[0]
	tfhd := traf.Tfhd
	if tfhd == nil {
		return nil, fmt.Errorf("no tfhd in fragment %d", f.n)
	}
	if st.info.TrackID == 0 {
		st.info.TrackID = tfhd.TrackID
	}
	if tfhd.TrackID != st.info.TrackID {
		return nil, fmt.Errorf("tfhd track_ID %d, want %d", tfhd.TrackID, st.info.TrackID)
	}
	if traf.Tfdt == nil {
		return nil, fmt.Errorf("no tfdt in fragment %d", f.n)
	}
	if len(traf.Truns) == 0 {
		return nil, fmt.Errorf("no trun in fragment %d", f.n)
	}
	return traf, nil
}

// sampleDefaults are the sample duration, size and flags a trun falls back
// on: the tfhd's, else the init's trex.
type sampleDefaults struct{ dur, size, flags uint32 }

func (st *segmentState) sampleDefaults(tfhd *mp4.TfhdBox) sampleDefaults {
	var d sampleDefaults
	if st.init != nil {
		d = sampleDefaults{st.init.DefaultSampleDuration, st.init.DefaultSampleSize, st.init.DefaultSampleFlags}
	}
	if tfhd.HasDefaultSampleDuration() {
		d.dur = tfhd.DefaultSampleDuration
	}
	if tfhd.HasDefaultSampleSize() {
		d.size = tfhd.DefaultSampleSize
	}
	if tfhd.HasDefaultSampleFlags() {
		d.flags = tfhd.DefaultSampleFlags
	}
	return d
}

// trunWalk is where the walk over a fragment's truns stands.
type trunWalk struct {
	f                        *fragment
	defs                     sampleDefaults
	pos                      int64  // where the next trun's data starts
	dts                      uint64 // decode time of the next sample
	samples                  int    // samples of the fragment so far
	payloadStart, payloadEnd int64  // the mdat's payload
}

// addTrun adds the samples of trun i (0-based) and checks that its data
// lies inside the mdat's payload.
func (st *segmentState) addTrun(w *trunWalk, i int, trun *mp4.TrunBox) error {
	var dataSize int64
	for j, s := range trun.Samples {
		dur, size := w.defs.dur, w.defs.size
		if trun.HasSampleDuration() {
			dur = s.Dur
		}
		if trun.HasSampleSize() {
			size = s.Size
		}
		cto := int64(s.CompositionTimeOffset)
		if trun.Version == 0 { // unsigned in version 0; mp4ff always reads int32
			cto = int64(uint32(s.CompositionTimeOffset))
		}
		if err := st.addSample(w.dts, dur, cto); err != nil {
			return fmt.Errorf("fragment %d: %w", w.f.n, err)
		}
		if st.init != nil && st.init.ContentType == "text" {
			st.info.TextSamples = append(st.info.TextSamples, TextSample{DTS: w.dts, Dur: dur, CTO: cto, Offset: w.pos + dataSize, Size: int64(size)})
		}
		if st.info.SampleCount == 0 {
			flags := w.defs.flags
			if ff, ok := trun.FirstSampleFlags(); ok && j == 0 {
				flags = ff
			} else if trun.HasSampleFlags() {
				flags = s.Flags
			}
			st.info.StartsWithSync = !mp4.DecodeSampleFlags(flags).SampleIsNonSync
			st.info.SampleDuration = dur
		}
		st.info.SampleCount++
		w.samples++
		w.dts += uint64(dur)
		dataSize += int64(size)
	}
	if len(trun.Samples) > 0 && (w.pos < w.payloadStart || w.pos+dataSize > w.payloadEnd) {
		return fmt.Errorf("trun data offset outside mdat: fragment %d trun %d data [%d,%d), mdat payload [%d,%d)",
			w.f.n, i+1, w.pos, w.pos+dataSize, w.payloadStart, w.payloadEnd)
	}
	w.pos += dataSize
	return nil
}

// addSample checks decode and presentation times of one sample for overflow and
// tracks the earliest presentation time.
func (st *segmentState) addSample(dts uint64, dur uint32, cto int64) error {
	if dts > math.MaxUint64-uint64(dur) {
		return fmt.Errorf("decode time overflows 64 bits")
	}
	var pts uint64
	switch {
	case cto >= 0 && dts > math.MaxUint64-uint64(cto):
		return fmt.Errorf("presentation time overflows 64 bits")
	case cto >= 0:
		pts = dts + uint64(cto)
	case uint64(-cto) > dts:
		return fmt.Errorf("negative presentation time: decode time %d, composition offset %d", dts, cto)
	default:
		pts = dts - uint64(-cto)
	}
	st.minPTS = min(st.minPTS, pts)
	return nil
}
