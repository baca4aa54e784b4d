// Package simulate is a REaP encoder stand-in: it loops a CMAF asset (one
// video and one audio track) on the epoch timeline, cuts it into segments of
// constant duration D numbered by their epoch index K, and serves an I-MPD
// (ISO/IEC 23009-9 clause 6.2) and those segments over HTTP, the way a real
// REaP encoder or origin publishes them for pull ingest.
//
// Video segment K is exactly [K*D, (K+1)*D) on the epoch timeline. Audio uses
// constrained variation: segment K holds the audio frames whose decode time
// lies in [K*D, (K+1)*D), so it starts within one frame of K*D and segment
// durations differ by up to a frame.
//
// Options inject the faults a recorder has to live with: segments that are
// never published (Drop), outages (Down), a skewed clock (ClockOffset),
// interchangeable but not bit-identical output (Variant) and conflicting
// timing (TimingSkew).
//
// URLs served (relative to where the Server is mounted):
//
//	/manifest.mpd           the I-MPD
//	/<rep>/init.mp4         init segment (also /<rep>/init.<ext>)
//	/<rep>/<K>.m4s          media segment K (also /<rep>/<K>.<ext>)
//
// where <rep> is "video" (ext cmfv) or "audio" (ext cmfa), or with
// Options.VideoTracks or AudioTracks above 1 also "video2", "audio2", …
package simulate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/mp4ff/mp4"
)

// Representation ids, URL templates and defaults of the simulated encoder.
const (
	VideoRep = "video"
	AudioRep = "audio"

	// MediaTemplate and InitTemplate are the SegmentTemplate strings of every
	// AdaptationSet of the I-MPD (REaP wants them identical across them).
	MediaTemplate = "$RepresentationID$/$Number$.m4s"
	InitTemplate  = "$RepresentationID$/init.mp4"
	// RestartMediaTemplate and RestartInitTemplate are those of the
	// Period after Options.RestartAt.
	RestartMediaTemplate = "$RepresentationID$/r$Number$.m4s"
	RestartInitTemplate  = "$RepresentationID$/init-r.mp4"

	DefaultSegmentDuration = 2 * time.Second
	DefaultTimeShiftBuffer = 5 * time.Minute

	maxSegmentDuration = time.Hour
	maxTracks          = 64
)

// Options configure a Server. Only Video and Audio are required.
type Options struct {
	// Video and Audio are the asset files: fragmented MP4 with a single
	// track each (AVC video; AAC audio with frames of constant duration).
	Video, Audio []byte
	// SegmentDuration is D, default 2s. Video segments must be exactly D
	// long and start with a sync sample: every segment boundary has to fall
	// on a sync sample of the looped asset (with the demo asset, whose
	// fragments are 2s GOPs: any multiple of 2s). New fails otherwise.
	SegmentDuration time.Duration
	// Drop, when it returns true, makes segment (rep, K) answer 404 forever.
	// nil drops nothing. See ParseDrop.
	Drop func(rep string, k int64) bool
	// ClockOffset is added to Now to give the simulator's clock: a positive
	// offset makes it publish segments early, a negative one late.
	ClockOffset time.Duration
	// Down lists intervals, relative to Start on the unshifted clock (Now),
	// during which every request gets 503.
	Down []Interval
	// Start is the reference for Down; default Now() when New is called.
	Start time.Time
	// TimeShiftBuffer, default 5m: segments that started longer ago answer
	// 404. Also the MPD's timeShiftBufferDepth. Must be at least D.
	TimeShiftBuffer time.Duration
	// Variant 0 serves the canonical bytes. Variant v > 0 serves different
	// bytes with identical timing (mfhd sequence number K+v and a 'free' box
	// after the styp): interchangeable with variant 0, not bit-identical.
	// Init segments are the same for every Variant.
	Variant int
	// TimingSkew is added to every tfdt (in each track's timescale), to
	// simulate an encoder whose segments conflict with the others. 0 normally.
	TimingSkew int64
	// Now is the clock, default time.Now.
	Now func() time.Time
	// RestartAt, when > 0, makes the MPD announce an encoder restart at
	// K RestartAt as a second Period, P1: its segments are numbered from 1
	// (RestartMediaTemplate) and its init has its own URL
	// (RestartInitTemplate). The bytes are the same as without restart,
	// except that RestartInit, if set, gives P1's init from a track's init.
	RestartAt   int64
	RestartInit func(rep string, init []byte) []byte
	// VideoTracks and AudioTracks are how many video and audio
	// Representations to serve, default 1 each; each in an AdaptationSet of
	// its own. The first of each kind is VideoRep or AudioRep, the others
	// TrackRep(VideoRep, i): copies serving byte-identical init and media
	// segments under their own ids (a load of many tracks, as a ladder
	// would give, without more assets).
	VideoTracks, AudioTracks int
}

// TrackRep is the Representation id of the i-th (from 0) track of kind
// (VideoRep or AudioRep): kind itself for i 0, then kind2, kind3, …
func TrackRep(kind string, i int) string {
	if i == 0 {
		return kind
	}
	return kind + strconv.Itoa(i+1)
}

// Interval is a span of time [From, To) relative to Options.Start.
type Interval struct{ From, To time.Duration }

// Server is a simulated REaP encoder. It is an http.Handler and safe for
// concurrent use.
type Server struct {
	opts   Options
	tracks []*track // video, audio: MPD order
	byRep  map[string]*track
}

// New checks the options and the asset and returns a Server.
func New(opts Options) (*Server, error) {
	if len(opts.Video) == 0 || len(opts.Audio) == 0 {
		return nil, errors.New("simulate: both a video and an audio asset are required")
	}
	if opts.SegmentDuration == 0 {
		opts.SegmentDuration = DefaultSegmentDuration
	}
	if opts.SegmentDuration < 0 || opts.SegmentDuration > maxSegmentDuration {
		return nil, fmt.Errorf("simulate: segment duration %v out of range (0, %v]", opts.SegmentDuration, maxSegmentDuration)
	}
	if opts.TimeShiftBuffer == 0 {
		opts.TimeShiftBuffer = DefaultTimeShiftBuffer
	}
	if opts.TimeShiftBuffer < opts.SegmentDuration {
		return nil, fmt.Errorf("simulate: time-shift buffer %v is shorter than the segment duration %v",
			opts.TimeShiftBuffer, opts.SegmentDuration)
	}
	if opts.VideoTracks < 0 || opts.AudioTracks < 0 || opts.VideoTracks > maxTracks || opts.AudioTracks > maxTracks {
		return nil, fmt.Errorf("simulate: %d video and %d audio tracks: want 0 (one) to %d of each", opts.VideoTracks, opts.AudioTracks, maxTracks)
	}
	if opts.Variant < 0 {
		return nil, fmt.Errorf("simulate: negative variant %d", opts.Variant)
	}
	for _, iv := range opts.Down {
		if iv.From < 0 || iv.To <= iv.From {
			return nil, fmt.Errorf("simulate: bad down interval %v-%v", iv.From, iv.To)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Start.IsZero() {
		opts.Start = opts.Now()
	}

	s := &Server{opts: opts, byRep: map[string]*track{}}
	for _, kind := range []struct {
		rep   string
		asset []byte
		n     int
	}{{VideoRep, opts.Video, opts.VideoTracks}, {AudioRep, opts.Audio, opts.AudioTracks}} {
		t, err := loadTrack(kind.rep, kind.asset, opts.SegmentDuration)
		if err != nil {
			return nil, fmt.Errorf("simulate: %w", err)
		}
		for i := range max(kind.n, 1) {
			c := *t
			c.rep = TrackRep(kind.rep, i)
			s.tracks = append(s.tracks, &c)
			s.byRep[c.rep] = &c
		}
	}
	return s, nil
}

// now is the simulator's clock.
func (s *Server) now() time.Time { return s.opts.Now().Add(s.opts.ClockOffset) }

func (s *Server) track(rep string) (*track, error) {
	t := s.byRep[rep]
	if t == nil {
		return nil, fmt.Errorf("simulate: unknown representation %q", rep)
	}
	return t, nil
}

// Init returns the init segment of rep ("video", "audio", or TrackRep).
func (s *Server) Init(rep string) ([]byte, error) {
	t, err := s.track(rep)
	if err != nil {
		return nil, err
	}
	return bytes.Clone(t.init), nil
}

// Segment returns exactly the bytes served for segment K of rep, whether or
// not it is available now, dropped or inside an outage.
func (s *Server) Segment(rep string, k int64) ([]byte, error) {
	t, err := s.track(rep)
	if err != nil {
		return nil, err
	}
	if k < 0 || uint64(k) > (1<<62)/t.segTicks {
		return nil, fmt.Errorf("simulate: segment number %d out of range", k)
	}
	start := uint64(k) * t.segTicks
	skew := s.opts.TimingSkew
	frag, err := mp4.CreateFragment(uint32(k)+uint32(s.opts.Variant), t.trackID)
	if err != nil {
		return nil, err
	}
	var bad error
	t.walk(start, start+t.segTicks, func(j int, dts uint64) {
		tfdt := int64(dts) + skew
		if tfdt < 0 && bad == nil {
			bad = fmt.Errorf("simulate: timing skew %d makes the decode time of %s segment %d negative", skew, rep, k)
		}
		frag.AddFullSample(mp4.FullSample{Sample: t.samples[j], DecodeTime: uint64(tfdt), Data: t.data[j]})
	})
	if bad != nil {
		return nil, bad
	}
	frag.Moof.Traf.Tfdt.Version = 1 // REaP: always a 64-bit tfdt
	frag.EncOptimize = mp4.OptimizeTrun

	var buf bytes.Buffer
	boxes := []interface{ Encode(w io.Writer) error }{mp4.NewStyp("msdh", 0, []string{"msdh", "msix"})}
	if s.opts.Variant > 0 {
		boxes = append(boxes, mp4.NewFreeBox([]byte(fmt.Sprintf("reaparchive simulate variant %d", s.opts.Variant))))
	}
	boxes = append(boxes, frag)
	for _, b := range boxes {
		if err := b.Encode(&buf); err != nil {
			return nil, fmt.Errorf("simulate: encode %s segment %d: %w", rep, k, err)
		}
	}
	return buf.Bytes(), nil
}

// period is one Period of the I-MPD with every track, starting at start,
// addressed by media and init with startNumber.
func (s *Server) period(id string, start time.Duration, media, init string, startNumber uint32) *mpd.Period {
	p := mpd.NewPeriod()
	p.Id = id
	p.Start = durPtr(start)
	for i, t := range s.tracks {
		as := mpd.NewAdaptationSetWithParams(t.contentType, t.mimeType, true, 1)
		as.Id = mpd.Ptr(uint32(i + 1))
		as.Roles = []*mpd.DescriptorType{mpd.NewRole("main")}
		st := &mpd.SegmentTemplateType{Media: media, Initialization: init}
		st.Timescale = mpd.Ptr(t.timescale)
		st.Duration = mpd.Ptr(uint32(t.segTicks))
		st.StartNumber = mpd.Ptr(startNumber)
		as.SegmentTemplate = st
		var rep *mpd.RepresentationType
		switch t.contentType {
		case "video":
			rep = mpd.NewVideoRepresentation(t.rep, t.codecs, "", t.frameRate, int(t.bandwidth), t.width, t.height)
			rep.Sar = mpd.RatioType(t.sar)
		case "audio":
			as.Lang = t.lang
			rep = mpd.NewAudioRepresentation(t.rep, t.codecs, "", int(t.bandwidth), t.sampleRate)
			rep.AudioChannelConfigurations = []*mpd.DescriptorType{mpd.NewDescriptor(
				"urn:mpeg:dash:23003:3:audio_channel_configuration:2011", strconv.Itoa(t.channels), "")}
		}
		as.Representations = append(as.Representations, rep)
		p.AdaptationSets = append(p.AdaptationSets, as)
	}
	return p
}

// MPD returns the I-MPD as of the simulator's clock (only publishTime
// depends on it).
func (s *Server) MPD() ([]byte, error) {
	d := s.opts.SegmentDuration
	m := mpd.NewMPD(mpd.DYNAMIC_TYPE)
	m.Profiles = mpd.ListOfProfilesType(mpd.PROFILE_LIVE).AddProfile("urn:mpeg:dash:profile:cmaf:2019")
	m.AvailabilityStartTime = mpd.ConvertToDateTimeS(0)
	m.PublishTime = mpd.ConvertToDateTimeMS(s.now().UnixMilli())
	m.MinimumUpdatePeriod = durPtr(10 * d)
	m.MinBufferTime = durPtr(d)
	m.TimeShiftBufferDepth = durPtr(s.opts.TimeShiftBuffer)
	var maxSeg time.Duration
	for _, t := range s.tracks {
		// Rounded up to the millisecond, the precision of the MPD duration.
		ms := (t.maxSegDur*1000 + uint64(t.timescale) - 1) / uint64(t.timescale)
		maxSeg = max(maxSeg, time.Duration(ms)*time.Millisecond)
	}
	m.MaxSegmentDuration = durPtr(maxSeg)

	m.Periods = append(m.Periods, s.period("P0", 0, MediaTemplate, InitTemplate, 0))
	if s.opts.RestartAt > 0 {
		m.Periods = append(m.Periods, s.period("P1", time.Duration(s.opts.RestartAt)*d, RestartMediaTemplate, RestartInitTemplate, 1))
	}

	var buf bytes.Buffer
	if _, err := m.Write(&buf, "  ", true); err != nil {
		return nil, fmt.Errorf("simulate: write MPD: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

func durPtr(d time.Duration) *mpd.Duration { return mpd.Ptr(mpd.Duration(d)) }

// ServeHTTP serves the I-MPD, init and media segments; see the package doc.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.down() {
		w.Header().Set("Retry-After", "1")
		http.Error(w, "simulated outage", http.StatusServiceUnavailable)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "manifest.mpd" {
		body, err := s.MPD()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		serve(w, r, "application/dash+xml", "no-cache", body)
		return
	}
	repName, file, _ := strings.Cut(path, "/")
	t := s.byRep[repName]
	name, ext, _ := strings.Cut(file, ".")
	if t == nil || (ext != t.ext && ext != "mp4" && ext != "m4s") {
		http.NotFound(w, r)
		return
	}
	if name == "init" && ext != "m4s" {
		serve(w, r, t.mimeType, "max-age=3600", t.init)
		return
	}
	if name == "init-r" && ext != "m4s" && s.opts.RestartAt > 0 {
		serve(w, r, t.mimeType, "max-age=3600", s.restartInit(t))
		return
	}
	k, ok := s.numberToK(name)
	if !ok || ext == "mp4" {
		http.NotFound(w, r)
		return
	}
	if msg := s.unavailable(t, k); msg != "" {
		w.Header().Set("Cache-Control", "no-cache")
		http.Error(w, msg, http.StatusNotFound)
		return
	}
	body, err := s.Segment(t.rep, k)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	serve(w, r, t.mimeType, "max-age=60", body)
}

// numberToK maps a segment's $Number$ to K: the number itself, or in the
// Period after a restart ("r" and a number from 1) RestartAt + number - 1.
func (s *Server) numberToK(name string) (int64, bool) {
	if n, ok := strings.CutPrefix(name, "r"); ok && s.opts.RestartAt > 0 {
		k, ok := parseNumber(n)
		return s.opts.RestartAt + k - 1, ok && k >= 1
	}
	return parseNumber(name)
}

// restartInit is t's init in the Period after a restart.
func (s *Server) restartInit(t *track) []byte {
	if s.opts.RestartInit == nil {
		return t.init
	}
	return s.opts.RestartInit(t.rep, t.init)
}

// unavailable says why segment K of t is not served now, or "".
func (s *Server) unavailable(t *track, k int64) string {
	now := s.now().UnixNano()
	d := int64(s.opts.SegmentDuration)
	if newest := floorDiv(now, d) - 1; k > newest {
		return fmt.Sprintf("segment %d not yet available (newest is %d)", k, newest)
	}
	if oldest := ceilDiv(now-int64(s.opts.TimeShiftBuffer), d); k < oldest {
		return fmt.Sprintf("segment %d is outside the time-shift buffer (oldest is %d)", k, oldest)
	}
	if s.opts.Drop != nil && s.opts.Drop(t.rep, k) {
		return fmt.Sprintf("segment %d dropped", k)
	}
	return ""
}

// down reports whether the unshifted clock is inside one of the Down
// intervals.
func (s *Server) down() bool {
	since := s.opts.Now().Sub(s.opts.Start)
	for _, iv := range s.opts.Down {
		if since >= iv.From && since < iv.To {
			return true
		}
	}
	return false
}

func serve(w http.ResponseWriter, r *http.Request, contentType, cacheControl string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", cacheControl)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// parseNumber parses a canonical non-negative decimal segment number.
func parseNumber(s string) (int64, bool) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	k, err := strconv.ParseInt(s, 10, 64)
	return k, err == nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

func ceilDiv(a, b int64) int64 { return -floorDiv(-a, b) }
