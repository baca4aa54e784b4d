// Package cmaf does ISOBMFF inspection of CMAF segments, and only that:
// it reads box headers (ParseBoxHeader, with the one list of top-level
// boxes, TopLevelRole), checks box structure before mp4ff decodes it, and
// says what track a CMAF header describes and when a media segment starts,
// how long it lasts and whether it is a valid segment of that track (for
// text tracks: whether its cues keep the rules, CheckText; for HLS, what an
// fMP4 WebVTT segment says as WebVTT text). It stores and fetches nothing.
package cmaf

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// InitInfo describes a CMAF header (init segment) of a single track.
type InitInfo struct {
	TrackID     uint32
	Handler     string // hdlr handler type: vide, soun, text, subt, meta, ...
	ContentType string // "video", "audio", "text" or "metadata"
	Timescale   uint32 // mdhd timescale
	Codecs      string // RFC 6381 codecs string, e.g. avc1.64001e, mp4a.40.2
	SampleEntry string // sample entry four-cc: avc1, hvc1, mp4a, wvtt, stpp, ...
	Lang        string // mdhd / elng language ("und" when not set)
	Width       int    // video
	Height      int    // video
	SampleRate  int    // audio
	Channels    int    // audio
	Bitrate     int    // from btrt if signalled, else 0
	// ConfigHash is the hex sha256 of the track's codec configuration (the stsd
	// box bytes): two inits with equal ConfigHash are interchangeable. It
	// covers an encrypted sample entry's sinf (scheme, tenc default_KID) but
	// not the moov's pssh boxes: compare Protection.Key() for those.
	ConfigHash string
	SHA256     string // hex sha256 of the whole init segment
	// Protection is the track's Common Encryption signalling (sinf/tenc
	// and the moov's pssh boxes); nil when the track is not encrypted.
	Protection *Protection

	// Sample defaults from the track's trex box, used by ParseSegment when a
	// fragment's tfhd and trun do not carry the value.
	DefaultSampleDuration uint32
	DefaultSampleSize     uint32
	DefaultSampleFlags    uint32
}

// SegmentInfo describes one media segment (one or more moof+mdat pairs).
type SegmentInfo struct {
	TrackID             uint32
	BaseMediaDecodeTime uint64 // tfdt of the first fragment
	EPT                 uint64 // earliest presentation time: min over samples of DTS+CTO (the first presented sample)
	Duration            uint64 // sum of sample durations of all fragments, ticks
	SampleCount         int
	Fragments           int      // moof count
	StartsWithSync      bool     // first sample is a sync sample
	EmsgSchemes         []string // distinct emsg scheme_id_uri values, sorted
	Events              []Emsg   // the emsg boxes, in segment order
	// SampleDuration is the duration of the first sample (video: 1/frame rate).
	SampleDuration uint32
	SHA256         string // hex sha256 of the segment bytes
	Size           int
	// Filler: the styp carries the brand slat (major or compatible): an
	// encoder's filler, not content (DASH-IF ingest).
	Filler bool
	// LastSegment: the styp carries the brand lmsg: the track's last
	// segment, a clean end of stream.
	LastSegment bool
	// TextSamples are the samples of a text track's segment (the init's
	// ContentType is "text"), in decode order, for CheckText; nil for
	// other tracks.
	TextSamples []TextSample
}

// TextSample is one sample of a text track's segment: its timing in the
// track timescale and where its bytes are in the segment.
type TextSample struct {
	DTS    uint64
	Dur    uint32
	CTO    int64 // composition offset: presented at DTS+CTO
	Offset int64 // of the sample's first byte in the segment
	Size   int64
}

// Protection is what an encrypted CMAF header says about its encryption.
type Protection struct {
	Scheme     string // schm scheme type: "cenc", "cbcs", "cens" or "cbc1"
	DefaultKID string // tenc default_KID as a lower-case UUID (8-4-4-4-12)
	Pssh       []Pssh // the moov's pssh boxes, in order
}

// Pssh is one Protection System Specific Header box.
type Pssh struct {
	SystemID string // lower-case UUID
	Box      []byte // the whole box as stored, header included
}

// Key identifies the protection for comparisons: two inits with equal Keys
// decrypt with the same key and licence signalling.
func (p *Protection) Key() string {
	if p == nil {
		return ""
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s", p.Scheme, p.DefaultKID)
	for _, x := range p.Pssh {
		fmt.Fprintf(h, "|%s|%x", x.SystemID, x.Box)
	}
	return hex.EncodeToString(h.Sum(nil))
}
