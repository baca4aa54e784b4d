package index

import (
	"strings"

	"github.com/reaparchive/reaparchive/manifest"
)

// TrackMeta is what a manifest (a live MPD, an I-MPD) says about a track;
// zero fields are unknown.
type TrackMeta struct {
	Rep         string
	ContentType string
	MimeType    string
	Codecs      string
	Lang        string
	Roles       string
	Label       string
	Width       int
	Height      int
	FrameRate   string
	SampleRate  int
	Channels    int
	Bandwidth   int
}

// TrackMetaOf is what the live MPD's track lt says of it.
func TrackMetaOf(lt *manifest.LiveTrack) TrackMeta {
	return TrackMeta{Rep: lt.Rep, ContentType: lt.ContentType, MimeType: lt.MimeType, Codecs: lt.Codecs,
		Lang: lt.Lang, Roles: strings.Join(lt.Roles, ","), Label: lt.Label, Width: lt.Width, Height: lt.Height,
		FrameRate: lt.FrameRate, SampleRate: lt.SampleRate, Channels: lt.Channels, Bandwidth: lt.Bandwidth}
}

// Apply is track t with what m says of it, the one rule for the recorder
// and reindex: m's description of the track (MIME type, roles, label, frame
// rate; language and bandwidth where m has them) replaces t's; codec
// parameters, which the init segment is the truth for, fill only what t
// does not know yet.
func (m TrackMeta) Apply(t Track) Track {
	t.MimeType, t.Roles, t.Label, t.FrameRate = m.MimeType, m.Roles, m.Label, m.FrameRate
	if m.Lang != "" {
		t.Lang = m.Lang
	}
	if m.Bandwidth > 0 {
		t.Bandwidth = m.Bandwidth
	}
	if t.ContentType == "" {
		t.ContentType = m.ContentType
	}
	if t.Codecs == "" {
		t.Codecs = m.Codecs
	}
	if t.Width == 0 {
		t.Width, t.Height = m.Width, m.Height
	}
	if t.SampleRate == 0 {
		t.SampleRate = m.SampleRate
	}
	if t.Channels == 0 {
		t.Channels = m.Channels
	}
	return t
}
