package ingest

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/cmaf"
)

// Errors of reading a body box by box.
var (
	// errNotCMAF: the bytes are not a CMAF header or media segment (400).
	errNotCMAF = errors.New("not CMAF")
	// errTooLarge: a box or segment over the size limit (413).
	errTooLarge = errors.New("too large")
	// errTruncated: the body ended inside a box (the upload broke off).
	errTruncated = errors.New("body ended inside a box")
)

// boxHeader is a top-level box header read from a stream.
type boxHeader struct {
	typ    string
	size   int64 // whole box, header included
	raw    [cmaf.LargeBoxHeaderLen]byte
	hdrLen int
}

// readBoxHeader reads the next box header from r. At a clean end before any
// byte of a header it returns io.EOF. Box sizes above limit give errTooLarge;
// size 0 (to the end of the stream), sizes smaller than the header and types
// that are not top-level CMAF boxes give errNotCMAF.
func readBoxHeader(r io.Reader, limit int64) (boxHeader, error) {
	var h boxHeader
	n, err := io.ReadFull(r, h.raw[:cmaf.BoxHeaderLen])
	switch {
	case err == io.EOF:
		return h, io.EOF
	case errors.Is(err, io.ErrUnexpectedEOF):
		return h, fmt.Errorf("%w: %d bytes of a box header", errTruncated, n)
	case err != nil:
		return h, err
	}
	hdr, complete := cmaf.ParseBoxHeader(h.raw[:cmaf.BoxHeaderLen])
	h.typ, h.hdrLen = hdr.Type, hdr.HdrLen
	if cmaf.TopLevelRole(h.typ) == cmaf.NotTopLevel {
		return h, fmt.Errorf("%w: box type %q is not a top-level box of a CMAF header or segment", errNotCMAF, printable(h.raw[4:8]))
	}
	if hdr.Size == 0 {
		return h, fmt.Errorf("%w: %s box of size 0 (to the end of the stream)", errNotCMAF, h.typ)
	}
	if !complete {
		if _, err := io.ReadFull(r, h.raw[cmaf.BoxHeaderLen:cmaf.LargeBoxHeaderLen]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return h, fmt.Errorf("%w: %s box header cut in its 64-bit size", errTruncated, h.typ)
			}
			return h, err
		}
		hdr, _ = cmaf.ParseBoxHeader(h.raw[:cmaf.LargeBoxHeaderLen])
		h.hdrLen = hdr.HdrLen
	}
	size := hdr.Size
	if size < uint64(h.hdrLen) {
		return h, fmt.Errorf("%w: %s box size %d is smaller than its header", errNotCMAF, h.typ, size)
	}
	if size > uint64(limit) {
		return h, fmt.Errorf("%w: %s box of %d bytes is over the %d byte limit", errTooLarge, h.typ, size, limit)
	}
	h.size = int64(size)
	return h, nil
}

// readBoxBody appends the whole box (header and payload) to dst.
func readBoxBody(r io.Reader, h boxHeader, dst []byte) ([]byte, error) {
	start := len(dst)
	dst = slices.Grow(dst, int(h.size))
	dst = append(dst, h.raw[:h.hdrLen]...)
	dst = dst[:start+int(h.size)]
	n, err := io.ReadFull(r, dst[start+h.hdrLen:])
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return dst[:start], fmt.Errorf("%w: %s box has %d of %d bytes", errTruncated, h.typ, h.hdrLen+n, h.size)
		}
		return dst[:start], err
	}
	return dst, nil
}

func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out[i] = c
	}
	return string(out)
}

// chunk is what the splitter needs to know of one moof (a CMAF chunk or
// fragment).
type chunk struct {
	dts      uint64 // tfdt
	pts      uint64 // presentation time of the first sample
	dur      uint64 // sum of sample durations
	firstDur uint32 // duration of the first sample
	sync     bool   // the first sample is a sync sample
}

// parseMoof decodes a moof box with the track defaults of init.
func parseMoof(data []byte, init *cmaf.InitInfo) (c chunk, err error) {
	box, err := cmaf.DecodeBox(data)
	if err != nil {
		return c, fmt.Errorf("%w: bad moof: %w", errNotCMAF, err)
	}
	moof, ok := box.(*mp4.MoofBox)
	if !ok {
		return c, fmt.Errorf("%w: not a moof", errNotCMAF)
	}
	if len(moof.Trafs) != 1 {
		return c, fmt.Errorf("%w: moof has %d trafs, want 1", errNotCMAF, len(moof.Trafs))
	}
	traf := moof.Trafs[0]
	if traf.Tfhd == nil || traf.Tfdt == nil || len(traf.Truns) == 0 {
		return c, fmt.Errorf("%w: moof without tfhd, tfdt or trun", errNotCMAF)
	}
	if traf.Tfhd.TrackID != init.TrackID {
		return c, fmt.Errorf("%w: moof for track_ID %d, the init is for track_ID %d", errNotCMAF, traf.Tfhd.TrackID, init.TrackID)
	}
	defDur, defFlags := init.DefaultSampleDuration, init.DefaultSampleFlags
	if traf.Tfhd.HasDefaultSampleDuration() {
		defDur = traf.Tfhd.DefaultSampleDuration
	}
	if traf.Tfhd.HasDefaultSampleFlags() {
		defFlags = traf.Tfhd.DefaultSampleFlags
	}
	c.dts = traf.Tfdt.BaseMediaDecodeTime()
	first := true
	for _, trun := range traf.Truns {
		for j, s := range trun.Samples {
			dur := defDur
			if trun.HasSampleDuration() {
				dur = s.Dur
			}
			if first {
				first = false
				c.firstDur = dur
				cto := int64(s.CompositionTimeOffset)
				if trun.Version == 0 {
					cto = int64(uint32(s.CompositionTimeOffset))
				}
				if !trun.HasSampleCompositionTimeOffset() {
					cto = 0
				}
				if cto < 0 && uint64(-cto) > c.dts {
					return c, fmt.Errorf("%w: negative presentation time", errNotCMAF)
				}
				c.pts = uint64(int64(c.dts) + cto)
				flags := defFlags
				if ff, ok := trun.FirstSampleFlags(); ok && j == 0 {
					flags = ff
				} else if trun.HasSampleFlags() {
					flags = s.Flags
				}
				c.sync = !mp4.DecodeSampleFlags(flags).SampleIsNonSync
			}
			c.dur += uint64(dur)
		}
	}
	if first {
		return c, fmt.Errorf("%w: moof without samples", errNotCMAF)
	}
	return c, nil
}

// stypHasBrand reports whether a styp box lists brand (lmsg: the last
// segment of a stream).
func stypHasBrand(data []byte, brand string) bool {
	// styp: header(8) major(4) minor(4) compatible(4*n)
	if len(data) < 16 {
		return false
	}
	if string(data[8:12]) == brand {
		return true
	}
	for off := 16; off+4 <= len(data); off += 4 {
		if string(data[off:off+4]) == brand {
			return true
		}
	}
	return false
}
