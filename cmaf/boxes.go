package cmaf

import (
	"bytes"
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
	// ErrBoxStructure: boxes nested deeper than CMAF needs, a child box
	// that does not fit its parent, or a child type its parent may not hold.
	ErrBoxStructure = errors.New("bad box structure")
)

// Box header lengths: a size field of 1 says a 64-bit size follows the
// type, making the header LargeBoxHeaderLen long.
const (
	BoxHeaderLen      = 8
	LargeBoxHeaderLen = 16
)

// BoxHeader is what a box header says: the box type, the whole box's size
// (header included; 0 means the box runs to the end of the data) and the
// header's length.
type BoxHeader struct {
	Type   string
	Size   uint64
	HdrLen int
}

// ParseBoxHeader reads the box header at the start of b, which holds at
// least BoxHeaderLen bytes. It is the one reader of box headers: the
// segment parsers here and the ingest stream splitter use it. complete is
// false when the size field is 1 and b is shorter than LargeBoxHeaderLen:
// h.Size is then 1, and a caller that accepts 64-bit sizes calls again
// with LargeBoxHeaderLen bytes.
func ParseBoxHeader(b []byte) (h BoxHeader, complete bool) {
	h = BoxHeader{Type: string(b[4:8]), Size: uint64(binary.BigEndian.Uint32(b)), HdrLen: BoxHeaderLen}
	if h.Size != 1 {
		return h, true
	}
	if len(b) < LargeBoxHeaderLen {
		return h, false
	}
	h.Size = binary.BigEndian.Uint64(b[8:LargeBoxHeaderLen])
	h.HdrLen = LargeBoxHeaderLen
	return h, true
}

// BoxRole is what a top-level box is for in a CMAF stream.
type BoxRole uint8

// Roles of top-level boxes.
const (
	NotTopLevel  BoxRole = iota // not a file-level box of a CMAF header or segment
	HeaderBox                   // ftyp, moov: the CMAF header
	MediaBox                    // styp, moof, mdat, emsg, prft, sidx, ssix, mfra: a media segment
	IgnorableBox                // free, skip, uuid, meta, udta, pdin
)

// topLevel is the one list of top-level boxes (ISO/IEC 14496-12 and
// 23000-19 file-level boxes) a CMAF header, media segment or ingest stream
// may hold; mfra ends a long-running stream.
var topLevel = map[string]BoxRole{
	"ftyp": HeaderBox, "moov": HeaderBox,
	"styp": MediaBox, "moof": MediaBox, "mdat": MediaBox, "emsg": MediaBox, "prft": MediaBox,
	"sidx": MediaBox, "ssix": MediaBox, "mfra": MediaBox,
	"free": IgnorableBox, "skip": IgnorableBox, "uuid": IgnorableBox, "meta": IgnorableBox,
	"udta": IgnorableBox, "pdin": IgnorableBox,
}

// TopLevelRole returns the role of a top-level box type, NotTopLevel for a
// type that may not stand at the top level.
func TopLevelRole(typ string) BoxRole { return topLevel[typ] }

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
	if rest < BoxHeaderLen {
		if off == 0 {
			return rawBox{}, fmt.Errorf("%w: %d bytes, too short for a box header", ErrNotMP4, rest)
		}
		return rawBox{}, fmt.Errorf("trailing garbage: %d bytes after the last box at offset %d", rest, off)
	}
	h, complete := ParseBoxHeader(data[off:])
	typ, size := h.Type, h.Size
	if off == 0 && TopLevelRole(typ) == NotTopLevel {
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
	if !complete {
		return rawBox{}, fmt.Errorf("%w: %s box header at offset %d cut in its 64-bit size", ErrTruncated, typ, off)
	}
	if size == 0 {
		size = uint64(rest)
	}
	if size < uint64(h.HdrLen) {
		if off == 0 {
			return rawBox{}, fmt.Errorf("%w: %s box size %d smaller than its header", ErrNotMP4, typ, size)
		}
		return rawBox{}, fmt.Errorf("invalid %s box at offset %d: size %d smaller than its header", typ, off, size)
	}
	if size > uint64(rest) {
		return rawBox{}, fmt.Errorf("%w: %s declares %d bytes, %d present", ErrTruncated, typ, size, rest)
	}
	return rawBox{typ: typ, start: off, hdrLen: h.HdrLen, end: off + int(size)}, nil
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
// declared bytes were consumed. It is the only way bytes reach mp4ff's box
// decoder: checkTree runs first, so mp4ff never recurses deeper than
// maxBoxDepth and never sees a child box that overruns its parent.
func decodeBox(data []byte, b rawBox) (mp4.Box, error) {
	if err := checkTree(data, b); err != nil {
		return nil, err
	}
	sr := bits.NewFixedSliceReader(data[b.start:b.end])
	box, err := mp4.DecodeBoxSR(uint64(b.start), sr)
	if err != nil {
		return nil, fmt.Errorf("bad %s box at offset %d: %w", b.typ, b.start, boundedError{err})
	}
	if err := sr.AccError(); err != nil {
		return nil, fmt.Errorf("bad %s box at offset %d: %w", b.typ, b.start, boundedError{err})
	}
	if sr.GetPos() != b.size() {
		return nil, fmt.Errorf("bad %s box at offset %d: decoded %d of its %d bytes", b.typ, b.start, sr.GetPos(), b.size())
	}
	return box, nil
}

// DecodeBox decodes data, which must be exactly one top-level box, with
// mp4ff after the same structure checks as ParseInit and ParseSegment.
func DecodeBox(data []byte) (box mp4.Box, err error) {
	defer noPanic("box", &err)
	b, err := nextBox(data, 0)
	if err != nil {
		return nil, err
	}
	if b.end != len(data) {
		return nil, fmt.Errorf("%s box of %d bytes followed by %d more bytes", b.typ, b.size(), len(data)-b.end)
	}
	return decodeBox(data, b)
}

// maxBoxDepth bounds box nesting, the top-level box being depth 1. The
// deepest box of a CMAF header is moov/trak/mdia/minf/stbl/stsd/encv/sinf/
// schi/tenc (10); a CMAF fragment needs moof/traf/trun (3).
const maxBoxDepth = 12

// checkTree walks the boxes inside the top-level box b that mp4ff decodes as
// containers, with bounded depth and work, before mp4ff sees them: every
// child lies within its parent, no container nests deeper than maxBoxDepth,
// and moof and traf hold only the child types ISO/IEC 14496-12 and 23000-19
// allow there. mp4ff recurses into every container it meets, nested
// anywhere (a moof inside a traf is decoded as a moof), without a depth
// limit and wrapping each level's error in the next.
func checkTree(data []byte, b rawBox) error {
	return checkBox(data, b, 1)
}

// checkBox checks the children of b, at depth depth, recursively.
func checkBox(data []byte, b rawBox, depth int) error {
	first, tolerateTail, err := childStart(data, b)
	if err != nil || first < 0 {
		return err
	}
	if depth >= maxBoxDepth && first < b.end {
		return fmt.Errorf("%w: %s box at offset %d holds boxes nested more than %d deep", ErrBoxStructure, b.typ, b.start, maxBoxDepth)
	}
	allowed := allowedChildren[b.typ]
	for off := first; off < b.end; {
		rest := b.end - off
		if rest < 8 && tolerateTail {
			return nil // mp4ff keeps up to 7 trailing bytes of a visual sample entry
		}
		c, err := childBox(data, b, off)
		if err != nil {
			return err
		}
		if allowed != nil && !allowed[c.typ] {
			return fmt.Errorf("%w: %q box at offset %d inside %s at offset %d: not a box a %s may hold", ErrBoxStructure, c.typ, c.start, b.typ, b.start, b.typ)
		}
		if err := checkBox(data, c, depth+1); err != nil {
			return err
		}
		off = c.end
	}
	return nil
}

// childBox reads the header of the child box at off inside parent.
func childBox(data []byte, parent rawBox, off int) (rawBox, error) {
	rest := parent.end - off
	if rest < BoxHeaderLen {
		return rawBox{}, fmt.Errorf("%w: %d bytes at offset %d at the end of %s at offset %d, too short for a box", ErrBoxStructure, rest, off, parent.typ, parent.start)
	}
	// Only the 32-bit size: a size field of 1 is refused below.
	h, _ := ParseBoxHeader(data[off : off+BoxHeaderLen])
	typ, size := h.Type, h.Size
	switch {
	case size == 0 || size == 1:
		// mp4ff supports neither inside a container (64-bit sizes only for mdat).
		return rawBox{}, fmt.Errorf("%w: %q box at offset %d inside %s: size field %d not supported inside a box", ErrBoxStructure, typ, off, parent.typ, size)
	case size < 8:
		return rawBox{}, fmt.Errorf("%w: %q box at offset %d: size %d smaller than its header", ErrBoxStructure, typ, off, size)
	case size > uint64(rest):
		return rawBox{}, fmt.Errorf("%w: %q box at offset %d declares %d bytes, its parent %s at offset %d has %d left", ErrBoxStructure, typ, off, size, parent.typ, parent.start, rest)
	}
	return rawBox{typ: typ, start: off, hdrLen: 8, end: off + int(size)}, nil
}

// allowedChildren lists, for moof and traf, the child types they may hold
// (ISO/IEC 14496-12 8.8 and 8.11.1, 23001-7 pssh/senc, 23000-19 7.3.2; uuid
// for PIFF boxes); free and skip may be anywhere. Other containers are only
// walked.
var allowedChildren = map[string]map[string]bool{
	"moof": {"mfhd": true, "traf": true, "pssh": true, "meta": true, "free": true, "skip": true, "uuid": true},
	"traf": {"tfhd": true, "tfdt": true, "trun": true, "sbgp": true, "sgpd": true, "subs": true, "saiz": true,
		"saio": true, "senc": true, "sdtp": true, "meta": true, "uuid": true, "free": true, "skip": true},
}

// Box types mp4ff v0.55 decodes as containers, by where their first child
// starts (see its boxsr.go decoder table and each decoder's
// DecodeContainerChildrenSR / DecodeBoxSR loop).
var (
	// children right after the 8-byte header
	containers8 = typeSet("moov", "trak", "mdia", "minf", "stbl", "dinf", "edts", "mvex", "udta", "ilst",
		"ludt", "mfra", "moof", "traf", "sinf", "schi", "tref", "trgr", "vexu", "eyes", "cams", "proj", "vttc",
		"desc", "\xa9ART", "\xa9cpy", "\xa9nam", "\xa9too")
	// children after a 4-byte version/flags and a 4-byte field (entry
	// count, track_ID) or after the 8-byte SampleEntry fields
	containers16 = typeSet("stsd", "dref", "trep", "wvtt", "evte")
	// AudioSampleEntry: children after 28 bytes of fields
	audioEntries = typeSet("mp4a", "enca", "ac-3", "ec-3", "ac-4", "Opus", "fLaC", "iamf", "mha1", "mha2", "mhm1", "mhm2")
	// VisualSampleEntry: children after 78 bytes of fields
	visualEntries = typeSet("avc1", "avc3", "hvc1", "hev1", "av01", "avs3", "dvh1", "dvhe", "encv", "jpeg", "mjpg",
		"mp4v", "vp08", "vp09", "vvc1", "vvi1")
)

func typeSet(types ...string) map[string]bool {
	m := make(map[string]bool, len(types))
	for _, t := range types {
		m[t] = true
	}
	return m
}

// childStart returns the offset of the first child of b as mp4ff reads it,
// or -1 when mp4ff decodes b as a leaf. tolerateTail: mp4ff ignores fewer
// than 8 bytes after the last child.
func childStart(data []byte, b rawBox) (first int, tolerateTail bool, err error) {
	fields := 0
	switch {
	case containers8[b.typ]:
		fields = 0
	case containers16[b.typ]:
		fields = 8
	case audioEntries[b.typ]:
		fields = 28
	case visualEntries[b.typ]:
		fields, tolerateTail = 78, true
	case b.typ == "meta":
		// A QuickTime meta has no version/flags: its hdlr comes first.
		fields = 4
		if b.size() >= 16 && string(data[b.start+12:b.start+16]) == "hdlr" {
			fields = 0
		}
	case b.typ == "stpp":
		return stppChildStart(data, b)
	default:
		return -1, false, nil
	}
	first = b.start + b.hdrLen + fields
	if first > b.end {
		return 0, false, fmt.Errorf("%w: %s box at offset %d: %d bytes, too short for its fields", ErrBoxStructure, b.typ, b.start, b.size())
	}
	return first, tolerateTail, nil
}

// stppChildStart skips the XMLSubtitleSampleEntry's SampleEntry fields and
// its three zero-terminated strings (the last two optional), as mp4ff does.
func stppChildStart(data []byte, b rawBox) (int, bool, error) {
	off := b.start + b.hdrLen + 8
	if off > b.end {
		return 0, false, fmt.Errorf("%w: stpp box at offset %d: %d bytes, too short for its fields", ErrBoxStructure, b.start, b.size())
	}
	for i := 0; i < 3 && (i == 0 || off < b.end); i++ {
		n := bytes.IndexByte(data[off:b.end], 0)
		if n < 0 {
			return 0, false, fmt.Errorf("%w: stpp box at offset %d: string without its terminating zero", ErrBoxStructure, b.start)
		}
		off += n + 1
	}
	return off, false, nil
}

// maxErrorLen bounds the text of a decoder error kept in ours: mp4ff wraps
// an error at each level of nesting and lists all children of a container.
const maxErrorLen = 512

// boundedError shortens an mp4ff error's text; errors.Is and As still see
// the original.
type boundedError struct{ err error }

func (e boundedError) Error() string {
	msg := e.err.Error()
	if len(msg) > maxErrorLen {
		msg = msg[:maxErrorLen] + "… (truncated)"
	}
	return msg
}

func (e boundedError) Unwrap() error { return e.err }

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

// CheckStructure runs the structure checks of ParseInit and ParseSegment
// over every top-level box of data, for a caller that then hands a whole
// file to mp4ff (a slate track).
func CheckStructure(data []byte) error {
	for off := 0; off < len(data); {
		b, err := nextBox(data, off)
		if err != nil {
			return err
		}
		if err := checkTree(data, b); err != nil {
			return err
		}
		off = b.end
	}
	return nil
}
