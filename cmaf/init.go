package cmaf

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/aac"
	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
)

// ParseInit parses a CMAF header (ftyp+moov with exactly one trak and an mvex).
func ParseInit(data []byte) (info *InitInfo, err error) {
	defer noPanic("init segment", &err)
	return parseInit(data)
}

// Codecs returns the RFC 6381 codecs string of the sample entry of the CMAF
// header in data (avc1.4D401E, hvc1.1.6.L93.B0, mp4a.40.2, ec-3, opus, wvtt, ...).
func Codecs(data []byte) (string, error) {
	info, err := ParseInit(data)
	if err != nil {
		return "", err
	}
	return info.Codecs, nil
}

func parseInit(data []byte) (*InitInfo, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: empty input", ErrNotMP4)
	}
	var ftyp *mp4.FtypBox
	var moov *mp4.MoovBox
	var media *rawBox // first box that belongs in a media segment
	for off := 0; off < len(data); {
		b, err := nextBox(data, off)
		if err != nil {
			return nil, err
		}
		switch TopLevelRole(b.typ) {
		case HeaderBox:
			if (b.typ == "ftyp" && ftyp != nil) || (b.typ == "moov" && moov != nil) {
				return nil, fmt.Errorf("%w: second %s box at offset %d", ErrNotInit, b.typ, b.start)
			}
			box, err := decodeBox(data, b)
			if err != nil {
				return nil, err
			}
			switch box := box.(type) {
			case *mp4.FtypBox:
				ftyp = box
			case *mp4.MoovBox:
				moov = box
			}
		case IgnorableBox:
		case MediaBox:
			if media == nil {
				media = &b
			}
		default:
			return nil, fmt.Errorf("%w: unexpected top-level %q box at offset %d", ErrNotInit, b.typ, b.start)
		}
		off = b.end
	}
	if moov == nil {
		if media != nil {
			return nil, fmt.Errorf("no moov box (found %s at offset %d: a media segment?): %w", media.typ, media.start, ErrNotInit)
		}
		return nil, fmt.Errorf("no moov box: %w", ErrNotInit)
	}
	if ftyp == nil {
		return nil, fmt.Errorf("no ftyp box: %w", ErrNotInit)
	}
	if len(moov.Traks) != 1 {
		return nil, fmt.Errorf("init has %d tracks, want 1", len(moov.Traks))
	}
	if moov.Mvex == nil {
		return nil, fmt.Errorf("no mvex: not a fragmented MP4 init")
	}
	if media != nil {
		return nil, fmt.Errorf("%w: %s box at offset %d (init must not hold media)", ErrNotInit, media.typ, media.start)
	}
	info, err := describeTrak(moov.Traks[0], moov.Mvex)
	if err != nil {
		return nil, err
	}
	if info.Protection, err = protection(moov); err != nil {
		return nil, err
	}
	info.SHA256 = sha256Hex(data)
	return info, nil
}

// protection reads the Common Encryption signalling of the init's one
// track: scheme and default_KID from the sample entry's sinf, and the
// moov's pssh boxes. It is nil for a track in the clear.
func protection(moov *mp4.MoovBox) (*Protection, error) {
	var sinf *mp4.SinfBox
	switch e := moov.Traks[0].Mdia.Minf.Stbl.Stsd.Children[0].(type) {
	case *mp4.VisualSampleEntryBox:
		sinf = e.Sinf
	case *mp4.AudioSampleEntryBox:
		sinf = e.Sinf
	}
	if sinf == nil {
		return nil, nil // in the clear (a pssh without sinf protects nothing)
	}
	switch {
	case sinf.Schm == nil:
		return nil, errors.New("sinf has no schm box")
	case sinf.Schi == nil || sinf.Schi.Tenc == nil:
		return nil, errors.New("sinf has no schi/tenc box")
	case len(sinf.Schi.Tenc.DefaultKID) != 16:
		return nil, fmt.Errorf("tenc default_KID has %d bytes, want 16", len(sinf.Schi.Tenc.DefaultKID))
	}
	p := &Protection{Scheme: sinf.Schm.SchemeType, DefaultKID: uuidString(sinf.Schi.Tenc.DefaultKID)}
	for i, b := range moov.Psshs {
		if len(b.SystemID) != 16 {
			return nil, fmt.Errorf("pssh %d: SystemID has %d bytes, want 16", i, len(b.SystemID))
		}
		sw := bits.NewFixedSliceWriter(int(b.Size()))
		if err := b.EncodeSW(sw); err != nil {
			return nil, fmt.Errorf("encode pssh %d: %w", i, err)
		}
		p.Pssh = append(p.Pssh, Pssh{SystemID: uuidString(b.SystemID), Box: sw.Bytes()})
	}
	return p, nil
}

// uuidString formats 16 bytes as a lower-case UUID (8-4-4-4-12).
func uuidString(u []byte) string {
	h := hex.EncodeToString(u)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func describeTrak(trak *mp4.TrakBox, mvex *mp4.MvexBox) (*InitInfo, error) {
	if trak.Tkhd == nil {
		return nil, fmt.Errorf("no tkhd in trak")
	}
	info := &InitInfo{TrackID: trak.Tkhd.TrackID}
	if info.TrackID == 0 {
		return nil, fmt.Errorf("tkhd track_ID is 0")
	}
	trex, ok := mvex.GetTrex(info.TrackID)
	if !ok || trex == nil {
		return nil, fmt.Errorf("no trex for track_ID %d in mvex", info.TrackID)
	}
	info.DefaultSampleDuration = trex.DefaultSampleDuration
	info.DefaultSampleSize = trex.DefaultSampleSize
	info.DefaultSampleFlags = trex.DefaultSampleFlags

	mdia := trak.Mdia
	switch {
	case mdia == nil:
		return nil, fmt.Errorf("no mdia in trak")
	case mdia.Mdhd == nil:
		return nil, fmt.Errorf("no mdhd in trak")
	case mdia.Hdlr == nil:
		return nil, fmt.Errorf("no hdlr in trak")
	case mdia.Minf == nil || mdia.Minf.Stbl == nil || mdia.Minf.Stbl.Stsd == nil:
		return nil, fmt.Errorf("no stsd in trak")
	}
	info.Timescale = mdia.Mdhd.Timescale
	if info.Timescale == 0 {
		return nil, fmt.Errorf("mdhd timescale is 0")
	}
	info.Handler = mdia.Hdlr.HandlerType
	switch info.Handler {
	case "vide", "auxv":
		info.ContentType = "video"
	case "soun":
		info.ContentType = "audio"
	case "text", "subt", "sbtl":
		info.ContentType = "text"
	case "meta":
		info.ContentType = "metadata"
	default:
		return nil, fmt.Errorf("unsupported handler type %q", info.Handler)
	}
	info.Lang = language(mdia)

	stsd := mdia.Minf.Stbl.Stsd
	if len(stsd.Children) == 0 {
		return nil, fmt.Errorf("stsd has no sample entry")
	}
	cfg, err := configBytes(stsd)
	if err != nil {
		return nil, err
	}
	info.ConfigHash = sha256Hex(cfg)

	entry := stsd.Children[0]
	info.SampleEntry = entry.Type()
	if err := describeEntry(info, entry); err != nil {
		return nil, err
	}
	return info, nil
}

// language prefers elng (a full BCP 47 tag) over the packed mdhd code.
func language(mdia *mp4.MdiaBox) string {
	if mdia.Elng != nil && mdia.Elng.Language != "" {
		return mdia.Elng.Language
	}
	l := mdia.Mdhd.Language
	var s [3]byte
	for i := range s {
		c := (l >> (5 * (2 - i))) & 0x1f
		if c < 1 || c > 26 {
			return "und"
		}
		s[i] = byte(c) + 0x60
	}
	return string(s[:])
}

// describeEntry fills codec, geometry, audio and bitrate fields from a sample entry.
func describeEntry(info *InitInfo, entry mp4.Box) error {
	codecs, err := codecString(entry)
	if err != nil {
		return fmt.Errorf("codecs of %s sample entry: %w", entry.Type(), err)
	}
	info.Codecs = codecs
	switch e := entry.(type) {
	case *mp4.VisualSampleEntryBox:
		info.Width, info.Height = int(e.Width), int(e.Height)
		if e.Btrt != nil {
			info.Bitrate = int(e.Btrt.AvgBitrate)
		} else if e.Esds != nil && e.Esds.DecConfigDescriptor != nil {
			info.Bitrate = int(e.Esds.DecConfigDescriptor.AvgBitrate)
		}
	case *mp4.AudioSampleEntryBox:
		info.SampleRate, info.Channels = int(e.SampleRate), int(e.ChannelCount)
		switch {
		case e.Esds != nil:
			if dcd := e.Esds.DecConfigDescriptor; dcd != nil && dcd.ObjectType == 0x40 && dcd.DecSpecificInfo != nil {
				if asc, err := aac.DecodeAudioSpecificConfig(bytes.NewReader(dcd.DecSpecificInfo.DecConfig)); err == nil && asc != nil {
					if asc.SamplingFrequency > 0 {
						info.SampleRate = asc.SamplingFrequency
					}
					if asc.SBRPresentFlag && asc.ExtensionFrequency > 0 {
						info.SampleRate = asc.ExtensionFrequency
					}
					switch c := int(asc.ChannelConfiguration); {
					case asc.PSPresentFlag:
						info.Channels = 2
					case c >= 1 && c <= 6:
						info.Channels = c
					case c == 7:
						info.Channels = 8
					}
				}
			}
		case e.Dac3 != nil:
			if n, _ := e.Dac3.ChannelInfo(); n > 0 {
				info.Channels = n
			}
		case e.Dec3 != nil:
			if n, _ := e.Dec3.ChannelInfo(); n > 0 {
				info.Channels = n
			}
		case e.Dops != nil:
			info.Channels = int(e.Dops.OutputChannelCount)
		}
		if e.Btrt != nil {
			info.Bitrate = int(e.Btrt.AvgBitrate)
		} else if e.Esds != nil && e.Esds.DecConfigDescriptor != nil {
			info.Bitrate = int(e.Esds.DecConfigDescriptor.AvgBitrate)
		}
	case *mp4.WvttBox:
		if e.Btrt != nil {
			info.Bitrate = int(e.Btrt.AvgBitrate)
		}
	case *mp4.StppBox:
		if e.Btrt != nil {
			info.Bitrate = int(e.Btrt.AvgBitrate)
		}
	}
	return nil
}

// configBytes is the stsd box as encoded without any btrt (bit rate) box in
// its sample entries: the codec configuration a decoder depends on. Encoders
// and packagers add or rewrite btrt (livesim2's CMAF ingester does) without
// changing how the samples decode.
func configBytes(stsd *mp4.StsdBox) ([]byte, error) {
	withoutBtrt := func(children []mp4.Box) []mp4.Box {
		out := make([]mp4.Box, 0, len(children))
		for _, c := range children {
			if c.Type() != "btrt" {
				out = append(out, c)
			}
		}
		return out
	}
	for _, e := range stsd.Children {
		switch e := e.(type) {
		case *mp4.VisualSampleEntryBox:
			orig := e.Children
			e.Children = withoutBtrt(orig)
			defer func() { e.Children = orig }()
		case *mp4.AudioSampleEntryBox:
			orig := e.Children
			e.Children = withoutBtrt(orig)
			defer func() { e.Children = orig }()
		}
	}
	sw := bits.NewFixedSliceWriter(int(stsd.Size()))
	if err := stsd.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode stsd: %w", err)
	}
	return sw.Bytes(), nil
}
