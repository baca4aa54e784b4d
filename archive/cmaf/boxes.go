package cmaf

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
)

// Error classes. Errors returned by ParseInit and ParseSegment wrap one of these
// where it applies, so callers can tell a partial transfer (ErrTruncated) from
// input that is not what it claims to be.
var (
	ErrNotMP4          = errors.New("not an MP4 file")
	ErrTruncated       = errors.New("truncated")
	ErrNotMediaSegment = errors.New("not a media segment")
	ErrNotInit         = errors.New("not a CMAF header")
)

// rawBox is a top-level box located in the input, before decoding.
type rawBox struct {
	typ    string
	start  int // offset of the box header
	hdrLen int
	end    int // offset just past the box
}

func (b rawBox) size() int { return b.end - b.start }

// nextBox reads the box header at off and checks that the whole box is present.
// A size of 0 (box extends to the end of the data) is accepted.
func nextBox(data []byte, off int) (rawBox, error) {
	rest := len(data) - off
	if rest < 8 {
		if off == 0 {
			return rawBox{}, fmt.Errorf("%w: %d bytes, too short for a box header", ErrNotMP4, rest)
		}
		return rawBox{}, fmt.Errorf("trailing garbage: %d bytes after the last box at offset %d", rest, off)
	}
	size := uint64(binary.BigEndian.Uint32(data[off:]))
	typ := string(data[off+4 : off+8])
	hdrLen := 8
	if off == 0 && !topLevel[typ] {
		// Any printable text reads as a box type; a body that does not
		// open with a top-level ISOBMFF box is not a file at all (an HTML
		// error page served with 200, say).
		return rawBox{}, fmt.Errorf("%w: starts with %q, not a top-level ISOBMFF box", ErrNotMP4, preview(data))
	}
	if !validFourCC(typ) {
		if off == 0 {
			return rawBox{}, fmt.Errorf("%w: invalid box type %q at offset 0", ErrNotMP4, typ)
		}
		return rawBox{}, fmt.Errorf("trailing garbage: invalid box type %q at offset %d", typ, off)
	}
	switch size {
	case 0:
		size = uint64(rest)
	case 1:
		if rest < 16 {
			return rawBox{}, fmt.Errorf("%w: %s box header at offset %d cut in its 64-bit size", ErrTruncated, typ, off)
		}
		size = binary.BigEndian.Uint64(data[off+8:])
		hdrLen = 16
	}
	if size < uint64(hdrLen) {
		if off == 0 {
			return rawBox{}, fmt.Errorf("%w: %s box size %d smaller than its header", ErrNotMP4, typ, size)
		}
		return rawBox{}, fmt.Errorf("invalid %s box at offset %d: size %d smaller than its header", typ, off, size)
	}
	if size > uint64(rest) {
		return rawBox{}, fmt.Errorf("%w: %s declares %d bytes, %d present", ErrTruncated, typ, size, rest)
	}
	return rawBox{typ: typ, start: off, hdrLen: hdrLen, end: off + int(size)}, nil
}

// topLevel lists the box types an init or media segment may open with
// (ISO/IEC 14496-12 and 23000-19 file-level boxes).
var topLevel = map[string]bool{
	"ftyp": true, "styp": true, "moov": true, "moof": true, "mdat": true,
	"emsg": true, "sidx": true, "ssix": true, "prft": true, "free": true,
	"skip": true, "uuid": true, "meta": true, "pdin": true,
}

// preview returns the first bytes of data for an error message.
func preview(data []byte) string {
	if len(data) > 16 {
		data = data[:16]
	}
	return string(data)
}

// validFourCC accepts printable ASCII and the © used by some iTunes-style boxes.
func validFourCC(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 || c > 0x7e) && c != 0xa9 {
			return false
		}
	}
	return true
}

// decodeBox decodes one top-level box with mp4ff and checks that exactly the
// declared bytes were consumed.
func decodeBox(data []byte, b rawBox) (mp4.Box, error) {
	sr := bits.NewFixedSliceReader(data[b.start:b.end])
	box, err := mp4.DecodeBoxSR(uint64(b.start), sr)
	if err != nil {
		return nil, fmt.Errorf("bad %s box at offset %d: %w", b.typ, b.start, err)
	}
	if err := sr.AccError(); err != nil {
		return nil, fmt.Errorf("bad %s box at offset %d: %w", b.typ, b.start, err)
	}
	if sr.GetPos() != b.size() {
		return nil, fmt.Errorf("bad %s box at offset %d: decoded %d of its %d bytes", b.typ, b.start, sr.GetPos(), b.size())
	}
	return box, nil
}

// noPanic turns a panic inside mp4ff (hostile input) into an error.
func noPanic(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("malformed %s: decoder panic: %v", what, r)
	}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
