// Package manifest is the MPD and HLS model, and pure: it turns a live MPD
// (a REaP I-MPD or a livesim2-style MPD) into per-Representation segment
// addressing by epoch index K, and renders static VoD MPDs and HLS
// playlists from a plan of Periods and tracks it is given. It does no I/O:
// no store, no index, no network (a context only bounds the time spent
// parsing a hostile MPD). MPD parsing and writing uses
// github.com/Eyevinn/dash-mpd.
package manifest

// AddressMode is how a live Representation addresses its media segments.
type AddressMode int

// Address modes.
const (
	ByNumber AddressMode = iota // SegmentTemplate@media with $Number$ (and @duration or a timeline)
	ByTime                      // SegmentTemplate@media with $Time$ and a SegmentTimeline
)

// TimelineEntry is one segment listed in a SegmentTimeline, times in the
// track timescale on the epoch timeline (i.e. MPD time minus PTO plus
// period start, expressed in ticks since 1970-01-01).
type TimelineEntry struct {
	T uint64
	D uint64
	K int64 // epoch index round(T / SegDur)
	// Number is the segment's $Number$: SegmentTemplate@startNumber plus
	// its position in the timeline, or as set by S@n.
	Number int64
}

// LiveTrack is one Representation of a live MPD, resolved for recording.
type LiveTrack struct {
	Rep         string
	ContentType string // video, audio, text, metadata (from AdaptationSet@contentType / mimeType)
	MimeType    string
	Codecs      string
	Lang        string
	Roles       []string
	Label       string // the first Label of the Representation, else of its AdaptationSet
	Bandwidth   int
	Width       int
	Height      int
	FrameRate   string
	SampleRate  int
	Channels    int // from AudioChannelConfiguration if present
	Timescale   uint32
	SegDur      uint64 // nominal segment duration in ticks (D*T)
	InitURL     string // absolute
	Mode        AddressMode
	// MediaTemplate is the absolute media URL template ($RepresentationID$ and
	// $Bandwidth$ already substituted; $Number$ or $Time$ left, with any %0Nd
	// format width).
	MediaTemplate string
	// NumberOffset maps K to $Number$: Number = K + NumberOffset (ByNumber).
	NumberOffset int64
	// Timeline is the SegmentTimeline, if any, on the epoch timeline.
	Timeline []TimelineEntry
	// OpenEnded is set when the last S has @r=-1 and no end is known (no
	// following S, no Period@duration): that entry is listed once and
	// EntryFor extrapolates it.
	OpenEnded bool
	// TimeOffset maps the epoch timeline to MPD media time (S@t, $Time$):
	// media time = epoch ticks + TimeOffset, i.e. PTO − (AST + Period@start)*T.
	TimeOffset int64
	// AvailabilityTimeOffset in seconds (0 if absent).
	AvailabilityTimeOffset float64
	// Periods is, for an MPD with several Periods, the track's addressing
	// in each Period that has its Representation id, oldest first; the
	// fields above are those of the last. Empty for a one-Period MPD.
	Periods []PeriodTrack
}

// PeriodTrack is a track's addressing within one source Period.
type PeriodTrack struct {
	ID string // Period@id
	// FirstK and EndK bound the epoch indexes the Period holds: FirstK <=
	// K < EndK (math.MinInt64 / math.MaxInt64 when open).
	FirstK, EndK int64
	Track        LiveTrack // the track as this Period alone describes it (no Periods)
}

// Live is a parsed live MPD.
type Live struct {
	Type                  string // "dynamic" or "static"
	AvailabilityStartUnix float64
	MinimumUpdatePeriod   float64 // seconds
	TimeShiftBufferDepth  float64 // seconds
	SegDurSeconds         float64 // nominal segment duration D of the channel, seconds
	Tracks                []LiveTrack
	Raw                   []byte
}
