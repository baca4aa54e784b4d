// Package index keeps the archive's SQLite index (modernc.org/sqlite, WAL):
// channels, sources, tracks, init versions, segments and per-source
// deliveries. Storage is the truth; the index is a fast, rebuildable view.
package index

import "time"

// ChannelRow is the index row of a recorded channel.
type ChannelRow struct {
	ID              int64
	Name            string
	PreferredSource string
}

// SourceRow is the index row of an encoder or origin feeding a channel.
type SourceRow struct {
	ID        int64
	ChannelID int64
	Name      string
	URL       string // MPD URL for pull sources, "" for push
}

// Track is one Representation of a channel.
type Track struct {
	ID          int64
	ChannelID   int64
	Rep         string // Representation@id
	ContentType string // video, audio, text, metadata
	MimeType    string
	Codecs      string
	Lang        string
	Roles       string // comma-separated DASH Role values
	Label       string // the source's DASH Label
	Width       int
	Height      int
	FrameRate   string // as in MPD @frameRate, e.g. "25" or "30000/1001"
	SampleRate  int
	Channels    int
	Bandwidth   int
	Timescale   uint32
	SegDur      uint64 // nominal segment duration D*T in ticks
	Ext         string // media object extension, no dot
}

// Init is one version of a track's init segment.
type Init struct {
	ID         int64
	TrackID    int64
	Hash       string // full hex sha256
	ConfigHash string
	Key        string
	Size       int64
	FirstK     int64 // first K seen with this init
}

// Segment is the stored copy of segment K of a track.
type Segment struct {
	TrackID    int64
	K          int64
	EPT        uint64
	Duration   uint64
	Size       int64
	SHA256     string
	Key        string
	InitID     int64
	SourceID   int64 // first (stored) source; 0 if unknown (e.g. rebuilt from storage)
	ReceivedAt time.Time
	Filler     bool // an encoder's filler (styp brand slat), not content
	Last       bool // carries lmsg: the track's clean end
}

// Outcome is what happened to one delivery of (track, K) from one source.
type Outcome string

// Delivery outcomes.
const (
	Stored    Outcome = "stored"    // this delivery's bytes are the stored copy
	Duplicate Outcome = "duplicate" // same EPT and duration as the stored copy
	Conflict  Outcome = "conflict"  // EPT or duration differs from the stored copy
	Missing   Outcome = "missing"   // the source never delivered it within the retry window
	Rejected  Outcome = "rejected"  // bytes were not a valid segment of the track
)

// Delivery records one source's delivery (or non-delivery) of segment K.
type Delivery struct {
	TrackID     int64
	K           int64
	SourceID    int64
	Outcome     Outcome
	EPT         uint64
	Duration    uint64
	Size        int64
	SHA256      string
	Identical   bool // bit-identical to the stored copy
	TimingEqual bool // same EPT and duration as the stored copy
	ReceivedAt  time.Time
	Detail      string // reason for rejected / missing, timings for conflicts
	Filler      bool   // the delivered segment was an encoder's filler (slat)
}

// Range is an inclusive range of epoch indexes.
type Range struct {
	From int64 `json:"from"`
	To   int64 `json:"to"`
}

// SourceStats are per-source delivery counts of one track.
type SourceStats struct {
	Source     string
	Stored     int64
	Duplicates int64
	Identical  int64 // duplicates that were bit-identical
	Conflicts  int64
	Missing    int64
	Rejected   int64
	Fillers    int64 // deliveries that were encoder fillers (slat)
}

// TrackStats summarise a track's segments.
type TrackStats struct {
	Track      Track
	First      int64 // -1 when no segment
	Last       int64
	Segments   int64
	Gaps       []Range
	Duplicates int64
	Conflicts  int64
	Sources    []SourceStats
	Fillers    int64  // stored K whose copy is an encoder's filler (slat)
	Ended      *int64 // the last K that carries lmsg (the track's clean end), nil if none
}
