package manifest

import (
	"cmp"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// VoDSegment is one archived media segment of a track: its epoch index K,
// its earliest presentation time EPT and its duration, both in the track
// timescale on the epoch timeline (EPT is tfdt-based, seconds since
// 1970-01-01 times the timescale).
//
// Gap marks a segment the archive does not have, signalled as a gap: it has
// no object. BuildVoD leaves a hole in the SegmentTimeline for it, BuildHLS
// writes an EXT-X-GAP segment of its duration. Its EPT and Duration say
// which stretch of the timeline it stands for.
//
// An entry may stand for a run of segments: Repeat more follow at K+1 …
// K+Repeat, each Duration long and starting where the one before ends (as
// S@r in a SegmentTimeline). Gap entries stand for one K.
type VoDSegment struct {
	K        int64
	EPT      uint64
	Duration uint64
	Gap      bool
	Repeat   int64
}

// LastK is the K of the last segment the entry stands for.
func (s VoDSegment) LastK() int64 { return s.K + s.Repeat }

// End is where the last segment the entry stands for ends.
func (s VoDSegment) End() uint64 { return s.EPT + uint64(s.Repeat+1)*s.Duration }

// ExpandSegments is segs with one entry per segment: each run (Repeat)
// written out. It is segs itself when no entry is a run.
func ExpandSegments(segs []VoDSegment) []VoDSegment {
	n := 0
	for _, s := range segs {
		n += int(s.Repeat) + 1
	}
	if n == len(segs) {
		return segs
	}
	out := make([]VoDSegment, 0, n)
	for _, s := range segs {
		for i := range s.Repeat + 1 {
			out = append(out, VoDSegment{K: s.K + i, EPT: s.EPT + uint64(i)*s.Duration, Duration: s.Duration, Gap: s.Gap})
		}
	}
	return out
}

// VoDTrack is one Representation of a VoD presentation.
type VoDTrack struct {
	Rep, ContentType, MimeType, Codecs, Lang string
	Roles                                    []string
	// Label is the track's name for people (the source's DASH Label): the
	// AdaptationSet's Label, the HLS rendition's NAME.
	Label                    string
	Bandwidth, Width, Height int
	FrameRate                string
	SampleRate, Channels     int
	Timescale                uint32
	SegDur                   uint64 // nominal segment duration D*T in ticks
	// InitPath is the init segment's URL path relative to the BaseURL,
	// e.g. "ch1/V300/init-0123456789abcdef.cmfv" (a literal path; "$" is
	// escaped when it is put into the template).
	InitPath string
	// MediaPattern is the relative media template with $Number$ (a format
	// tag such as $Number%08d$ is allowed), e.g. "ch1/V300/$Number$.cmfv".
	MediaPattern string
	// Segments are ordered by K and may have holes: Ks that are not listed,
	// or entries with Gap set.
	Segments []VoDSegment
	// InbandEvents are the event streams (emsg scheme and value) the
	// track's segments carry: each becomes an InbandEventStream of its
	// AdaptationSet.
	InbandEvents []InbandEvent
	// Protection is the track's encryption (nil in the clear): the
	// AdaptationSet's ContentProtection, the HLS EXT-X-KEY.
	Protection *Protection
	// HLSTextPattern, when set, makes the track's HLS media playlist one
	// of segmented WebVTT text files (no EXT-X-MAP): segment K is this
	// template with $Number$ K, relative to the playlist (not to the
	// BaseURL). The MPD ignores it. fMP4 WebVTT (wvtt) is no HLS format.
	HLSTextPattern string
}

// InbandEvent is an event stream carried in-band (emsg boxes).
type InbandEvent struct {
	SchemeIDURI, Value string
}

// VoDPeriod is one Period of a VoD presentation (one discontinuity of an
// HLS one): a stretch of the archive in which every track keeps one init
// segment and one media pattern (a new Period is needed when an init
// segment changes, or where filler segments are spliced in).
type VoDPeriod struct {
	// ID is Period@id; "P<index>" when empty.
	ID string
	// StartK optionally sets the epoch index at which the Period begins
	// (e.g. the start of the requested range when it begins in a gap). It
	// must give the same instant StartK*SegDur/Timescale for every track.
	// When nil the Period begins at the earliest first-segment instant
	// K_first*SegDur/Timescale over its tracks.
	StartK *int64
	Tracks []VoDTrack
}

// VoDInput describes a static presentation built from archived segments.
// The presentation timeline starts at 0 at the start of the first Period.
type VoDInput struct {
	Title   string // ProgramInformation/Title; omitted when empty
	BaseURL string // MPD-level BaseURL; omitted when empty
	// MinBufferTime is MPD@minBufferTime; when 0 the longest nominal
	// segment duration of any track is used.
	MinBufferTime time.Duration
	Periods       []VoDPeriod
	// Contiguous lays the Periods end to end: each starts where the
	// previous one's segments end, so the time between them (gaps cut out
	// of the presentation) is not presented, as at HLS discontinuities.
	// Otherwise a Period starts at its place on the epoch timeline
	// relative to the first Period's. presentationTimeOffset is the
	// Period's epoch start either way.
	Contiguous bool
	// SCTE35 are SCTE-35 messages to signal in the manifests (an
	// EventStream per Period, EXT-X-DATERANGE in the media playlists),
	// ordered by time. Those outside the presentation are left out.
	SCTE35 []SCTE35Event
	// Dynamic, when set, makes the presentation live (dynamic.go): a
	// dynamic MPD on the epoch timeline, EVENT media playlists without
	// EXT-X-ENDLIST.
	Dynamic *Dynamic
}

// VoDProfile is the profile BuildVoD signals.
const VoDProfile = mpd.PROFILE_LIVE

const roleScheme = "urn:mpeg:dash:role:2011"

// BuildVoD writes a static MPD (isoff-live profile) for in. The output is a
// pure function of in (no publishTime, no clock): the same input gives the
// same bytes.
//
// Each track gets a SegmentTemplate with $Number$ = K (startNumber = its
// first K) and a SegmentTimeline whose S@t/S@d are the archived EPTs and
// durations (runs collapsed with S@r). A track with holes (missing K, or
// Gap entries) gets a SegmentList instead: its SegmentTimeline jumps over
// each hole with S@t and one SegmentURL per segment names its object, since
// $Number$ is positional in a SegmentTimeline and players ignore the S@n
// that would keep it K across a hole. All tracks of a Period share one
// presentationTimeOffset instant (the Period start, converted into each
// timescale), so audio and video stay in sync even when audio EPTs sit a
// few ms off the K*D grid.
func BuildVoD(in VoDInput) ([]byte, error) {
	if len(in.Periods) == 0 {
		return nil, errors.New("manifest: VoD has no Period")
	}
	m := newVoDMPD(in)
	tl := vodTimeline{maxSegDur: new(big.Rat), absolute: in.Dynamic != nil}
	for pi := range in.Periods {
		p, err := tl.period(in, pi)
		if err != nil {
			return nil, err
		}
		m.AppendPeriod(p)
		tl.addEnds(&in.Periods[pi], pi)
	}
	dur := tl.presEnd
	if dur.Sign() <= 0 {
		return nil, errors.New("manifest: VoD has no duration (all segments end before the first Period start)")
	}
	if in.Dynamic != nil {
		in.Dynamic.setMPD(m, tl.maxSegDur)
	} else {
		m.MediaPresentationDuration = durationOf(dur)
	}
	if err := addSCTE35EventStreams(m, in.SCTE35, tl.starts, tl.ends); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if in.MinBufferTime > 0 {
		d := mpd.Duration(in.MinBufferTime)
		m.MinBufferTime = &d
	} else {
		m.MinBufferTime = durationOf(tl.maxSegDur)
	}
	out, err := m.WriteToString("  ", true)
	if err != nil {
		return nil, fmt.Errorf("manifest: write MPD: %w", err)
	}
	return []byte(OrderSegmentLists(out) + "\n"), nil
}

// newVoDMPD is a static MPD with in's title and BaseURL and no Period yet.
func newVoDMPD(in VoDInput) *mpd.MPD {
	m := mpd.NewMPD(mpd.STATIC_TYPE)
	m.Profiles = VoDProfile
	if in.Title != "" {
		m.ProgramInformation = []*mpd.ProgramInformationType{{Title: in.Title}}
	}
	if in.BaseURL != "" {
		m.BaseURL = []*mpd.BaseURLType{mpd.NewBaseURL(in.BaseURL)}
	}
	return m
}

// vodTimeline places the Periods of a VoD one after the other, in seconds.
type vodTimeline struct {
	vodStart, prevStart *big.Rat // on the epoch timeline
	// A Period's presentation time is its epoch time minus shift; presEnd
	// is where the segments so far end, in presentation time, and gridEnd
	// where the last Period's last K ends on the K*D grid.
	shift, presEnd, gridEnd *big.Rat
	starts, ends            []*big.Rat // of each Period's segments on the epoch timeline
	maxSegDur               *big.Rat
	absolute                bool // Periods start at their epoch time (a dynamic MPD)
}

// period checks Period pi of in, places it after the previous one and
// returns it with its AdaptationSets.
func (tl *vodTimeline) period(in VoDInput, pi int) (*mpd.Period, error) {
	vp := &in.Periods[pi]
	id := vp.ID
	if id == "" {
		id = "P" + strconv.Itoa(pi)
	}
	where := "Period " + id
	if len(vp.Tracks) == 0 {
		return nil, fmt.Errorf("manifest: %s: no tracks", where)
	}
	for ti := range vp.Tracks {
		if err := checkVoDTrack(&vp.Tracks[ti]); err != nil {
			return nil, fmt.Errorf("manifest: %s track %q: %w", where, vp.Tracks[ti].Rep, err)
		}
	}
	start, err := periodStart(vp)
	if err != nil {
		return nil, fmt.Errorf("manifest: %s: %w", where, err)
	}
	if tl.prevStart != nil && start.Cmp(tl.prevStart) <= 0 {
		return nil, fmt.Errorf("manifest: %s starts at %s s, not after the previous Period (%s s)",
			where, start.FloatString(3), tl.prevStart.FloatString(3))
	}
	tl.prevStart = start
	tl.starts = append(tl.starts, start)
	if tl.vodStart == nil {
		tl.vodStart = start
	}
	switch {
	case tl.absolute:
		tl.shift = new(big.Rat)
	case in.Contiguous && tl.gridEnd != nil:
		// Start where the previous Period's last K ends on the K*D
		// grid (its audio may end up to a frame later).
		tl.shift = new(big.Rat).Sub(start, tl.gridEnd)
	default:
		tl.shift = tl.vodStart
	}
	p := mpd.NewPeriod()
	p.Id = id
	p.Start = durationOf(new(big.Rat).Sub(start, tl.shift))
	dp := dashPeriod(vp, tl.absolute)
	if len(dp.Tracks) == 0 {
		return nil, fmt.Errorf("manifest: %s: every segment is a gap", where)
	}
	if err := buildAdaptationSets(p, dp, start); err != nil {
		return nil, fmt.Errorf("manifest: %s: %w", where, err)
	}
	return p, nil
}

// addEnds notes where the segments of Period pi, vp, end: on the epoch
// timeline, in presentation time and on the K*D grid; and its longest
// segment duration.
func (tl *vodTimeline) addEnds(vp *VoDPeriod, pi int) {
	tl.ends = append(tl.ends, new(big.Rat))
	for ti := range vp.Tracks {
		tr := &vp.Tracks[ti]
		last := tr.Segments[len(tr.Segments)-1]
		e := new(big.Rat).SetFrac(new(big.Int).SetUint64(last.End()), big.NewInt(int64(tr.Timescale)))
		if e.Cmp(tl.ends[pi]) > 0 {
			tl.ends[pi].Set(e)
		}
		if e.Sub(e, tl.shift); tl.presEnd == nil || e.Cmp(tl.presEnd) > 0 {
			tl.presEnd = e
		}
		g := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(last.LastK()+1), new(big.Int).SetUint64(tr.SegDur)), big.NewInt(int64(tr.Timescale)))
		if g.Sub(g, tl.shift); pi == 0 || ti == 0 || g.Cmp(tl.gridEnd) > 0 {
			tl.gridEnd = g
		}
		sd := new(big.Rat).SetFrac(new(big.Int).SetUint64(tr.SegDur), big.NewInt(int64(tr.Timescale)))
		if sd.Cmp(tl.maxSegDur) > 0 {
			tl.maxSegDur = sd
		}
	}
}

// dashPeriod is the part of vp a DASH Period lists: the tracks that have at
// least one segment that is not a gap, with their gap entries left out
// (they become holes in the timeline). The Period's start is vp's, gap
// entries included. With grid, the segments are put on the K*D grid:
// segment K starts at K*SegDur and lasts SegDur. A dynamic MPD's
// SegmentTimeline then has one S per run of K (constant @d, @r) instead of
// one per change of duration: REaP audio segments hold a whole number of
// frames, so their durations differ by a frame from one K to the next and
// their start is within a frame of K*D. Players place the samples by their
// tfdt; the timeline only has to say which segment holds a time to within
// a frame. A track's Segments are vp's own when it has no gap entry and is
// not put on the grid: they are only read.
func dashPeriod(vp *VoDPeriod, grid bool) *VoDPeriod {
	dp := &VoDPeriod{ID: vp.ID, StartK: vp.StartK}
	for _, tr := range vp.Tracks {
		if grid || slices.ContainsFunc(tr.Segments, func(s VoDSegment) bool { return s.Gap }) {
			segs := make([]VoDSegment, 0, len(tr.Segments))
			for _, s := range tr.Segments {
				if s.Gap {
					continue
				}
				if grid {
					s = VoDSegment{K: s.K, EPT: uint64(s.K) * tr.SegDur, Duration: tr.SegDur, Repeat: s.Repeat}
				}
				segs = append(segs, s)
			}
			tr.Segments = segs
		}
		if len(tr.Segments) == 0 {
			continue
		}
		dp.Tracks = append(dp.Tracks, tr)
	}
	return dp
}

// hasHoles reports whether a K is missing between the first and the last
// of segs (which hold no gap entries).
func hasHoles(segs []VoDSegment) bool {
	for i := 1; i < len(segs); i++ {
		if segs[i].K != segs[i-1].LastK()+1 {
			return true
		}
	}
	return false
}

// OrderSegmentLists puts the children of every SegmentList of an MPD
// written by dash-mpd in the order the MPD schema requires: Initialization,
// SegmentTimeline, then the SegmentURLs (dash-mpd writes the SegmentURLs
// first and the Initialization last). It works on the indented output, one
// element per line.
func OrderSegmentLists(mpdText string) string {
	lines := strings.Split(mpdText, "\n")
	out := make([]string, 0, len(lines))
	var inits, rest, urls []string
	in := false
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case !in && strings.HasPrefix(t, "<SegmentList") && !strings.HasSuffix(t, "/>") && !strings.HasSuffix(t, "</SegmentList>"):
			in = true
		case in && strings.HasPrefix(t, "<SegmentURL"):
			urls = append(urls, l)
			continue
		case in && strings.HasPrefix(t, "<Initialization"):
			inits = append(inits, l)
			continue
		case in && t == "</SegmentList>":
			out = append(append(append(out, inits...), rest...), urls...)
			inits, rest, urls, in = nil, nil, nil, false
		case in:
			rest = append(rest, l)
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// checkVoDTrack validates one track's description and segment list.
func checkVoDTrack(tr *VoDTrack) error {
	switch {
	case tr.Rep == "":
		return errors.New("empty Rep (Representation@id)")
	case strings.ContainsAny(tr.Rep, "$ \t\n"):
		return errors.New("Rep must not contain '$' or white space")
	case tr.Timescale == 0:
		return errors.New("Timescale is 0")
	case tr.SegDur == 0:
		return errors.New("SegDur is 0")
	case tr.InitPath == "":
		return errors.New("no InitPath")
	case len(tr.Segments) == 0:
		return errors.New("no segments")
	case tr.Bandwidth < 0 || tr.Width < 0 || tr.Height < 0 || tr.SampleRate < 0 || tr.Channels < 0:
		return errors.New("negative Bandwidth, Width, Height, SampleRate or Channels")
	}
	if p := tr.Protection; p != nil {
		if _, err := kidHex(p.DefaultKID); err != nil {
			return fmt.Errorf("Protection: %w", err)
		}
		if p.Scheme == "" {
			return errors.New("Protection: no scheme")
		}
	}
	toks, err := parseTemplate(tr.MediaPattern)
	if err != nil {
		return fmt.Errorf("MediaPattern: %w", err)
	}
	if !hasIdent(toks, identNumber) || hasIdent(toks, identTime) || hasIdent(toks, identSubNumber) {
		return fmt.Errorf("MediaPattern %q must contain $Number$ and neither $Time$ nor $SubNumber$", tr.MediaPattern)
	}
	for i, s := range tr.Segments {
		if s.Duration == 0 {
			return fmt.Errorf("segment K=%d has zero duration", s.K)
		}
		if s.K < 0 {
			return fmt.Errorf("segment K=%d is negative", s.K)
		}
		if s.Repeat < 0 || (s.Gap && s.Repeat != 0) {
			return fmt.Errorf("segment K=%d has Repeat %d (gap entries stand for one K)", s.K, s.Repeat)
		}
		if i == 0 {
			continue
		}
		prev := tr.Segments[i-1]
		if s.K <= prev.LastK() {
			return fmt.Errorf("segments not ordered by K: K=%d follows K=%d", s.K, prev.LastK())
		}
		if s.EPT < prev.End() {
			return fmt.Errorf("segment K=%d (EPT %d) overlaps segment K=%d ending at %d", s.K, s.EPT, prev.LastK(), prev.End())
		}
	}
	return nil
}

// periodStart returns the Period's start instant in seconds since the epoch.
func periodStart(vp *VoDPeriod) (*big.Rat, error) {
	var start *big.Rat
	for ti := range vp.Tracks {
		tr := &vp.Tracks[ti]
		k := tr.Segments[0].K
		if vp.StartK != nil {
			k = *vp.StartK
		}
		s := new(big.Rat).SetFrac(new(big.Int).Mul(big.NewInt(k), new(big.Int).SetUint64(tr.SegDur)), big.NewInt(int64(tr.Timescale)))
		switch {
		case start == nil:
			start = s
		case vp.StartK != nil && s.Cmp(start) != 0:
			return nil, fmt.Errorf("StartK %d is %s s for track %q but %s s for track %q (different SegDur/Timescale)",
				k, s.FloatString(3), tr.Rep, start.FloatString(3), vp.Tracks[0].Rep)
		case s.Cmp(start) < 0:
			start = s
		}
	}
	return start, nil
}

// durationOf converts seconds to an MPD duration (nanoseconds, rounded).
func durationOf(sec *big.Rat) *mpd.Duration {
	ns := new(big.Rat).Mul(sec, new(big.Rat).SetInt64(int64(time.Second)))
	d := mpd.Duration(roundRat(ns.Num(), ns.Denom()))
	return &d
}

// vodTemplate is the full SegmentTemplate of one track before it is split
// between AdaptationSet and Representation.
type vodTemplate struct {
	media, init string
	timescale   uint32
	pto         uint64
	startNumber uint32
	timeline    []*mpd.S
	// list is set for a track with holes: $Number$ in a SegmentTimeline is
	// positional, and S@n, which would keep it K across a hole, is ignored
	// by dash.js, Shaka Player and ffmpeg. Such a track is addressed by a
	// SegmentList (one S and one SegmentURL per segment) instead.
	list *mpd.SegmentListType
}

func trackTemplate(tr *VoDTrack, start *big.Rat) (*vodTemplate, error) {
	first := tr.Segments[0].K
	if first > int64(^uint32(0)) {
		return nil, fmt.Errorf("first K %d does not fit SegmentTemplate@startNumber (32 bits)", first)
	}
	// PTO = Period start in this timescale (floor when not a whole tick).
	pt := new(big.Rat).Mul(start, new(big.Rat).SetInt64(int64(tr.Timescale)))
	pto := new(big.Int).Quo(pt.Num(), pt.Denom())
	if pto.Sign() < 0 || !pto.IsUint64() {
		return nil, errors.New("presentationTimeOffset out of range")
	}
	mediaToks, _ := parseTemplate(tr.MediaPattern) // validated in checkVoDTrack
	media, _ := renderTemplate(mediaToks, nil, false)
	vt := &vodTemplate{
		media:       media,
		init:        strings.ReplaceAll(tr.InitPath, "$", "$$"),
		timescale:   tr.Timescale,
		pto:         pto.Uint64(),
		startNumber: uint32(first),
		timeline:    buildTimeline(tr.Segments),
	}
	if hasHoles(tr.Segments) {
		sl := mpd.NewSegmentList()
		sl.Timescale = mpd.Ptr(tr.Timescale)
		if vt.pto != 0 {
			sl.PresentationTimeOffset = mpd.Ptr(vt.pto)
		}
		sl.Initialization = &mpd.URLType{SourceURL: mpd.AnyURI(tr.InitPath)}
		var tl []*mpd.S
		segs := ExpandSegments(tr.Segments)
		for i, s := range segs {
			e := &mpd.S{D: s.Duration}
			if i == 0 || s.EPT != segs[i-1].End() {
				e.T = mpd.Ptr(s.EPT)
			}
			tl = append(tl, e)
			u, err := MediaPath(tr, s.K)
			if err != nil {
				return nil, err
			}
			sl.SegmentURL = append(sl.SegmentURL, &mpd.SegmentURLType{Media: mpd.AnyURI(u)})
		}
		sl.SegmentTimeline = &mpd.SegmentTimelineType{S: tl}
		vt.list = sl
	}
	return vt, nil
}

// MediaPath is the path of segment K of tr: its MediaPattern with $Number$
// (and $RepresentationID$, $Bandwidth$) substituted.
func MediaPath(tr *VoDTrack, k int64) (string, error) {
	toks, err := parseTemplate(tr.MediaPattern)
	if err != nil {
		return "", fmt.Errorf("MediaPattern: %w", err)
	}
	return renderTemplate(toks, map[string]string{
		identNumber:           strconv.FormatInt(k, 10),
		identRepresentationID: tr.Rep,
		identBandwidth:        strconv.Itoa(tr.Bandwidth),
	}, true)
}

// buildTimeline collapses segments into S elements. A new S starts when the
// duration changes or the run is broken; it carries @t when its EPT is not
// the previous end (hole or timing jump) and @n when its K is not the
// previous K+1 (hole: numbering is positional otherwise).
func buildTimeline(segs []VoDSegment) []*mpd.S {
	var out []*mpd.S
	var cur *mpd.S
	for i, s := range segs {
		if i > 0 {
			prev := segs[i-1]
			contiguous := s.EPT == prev.End()
			consecutive := s.K == prev.LastK()+1
			if contiguous && consecutive && s.Duration == cur.D {
				cur.R += 1 + int(s.Repeat)
				continue
			}
			cur = &mpd.S{D: s.Duration, R: int(s.Repeat)}
			if !contiguous {
				cur.T = mpd.Ptr(s.EPT)
			}
			if !consecutive {
				cur.N = mpd.Ptr(uint64(s.K))
			}
			out = append(out, cur)
			continue
		}
		cur = &mpd.S{T: mpd.Ptr(s.EPT), D: s.Duration, R: int(s.Repeat)}
		out = append(out, cur)
	}
	return out
}

func sameTimeline(a, b []*mpd.S) bool {
	if len(a) != len(b) {
		return false
	}
	eq := func(x, y *uint64) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	for i := range a {
		if a[i].D != b[i].D || a[i].R != b[i].R || !eq(a[i].T, b[i].T) || !eq(a[i].N, b[i].N) {
			return false
		}
	}
	return true
}

// asGroup is the set of tracks that share one AdaptationSet.
type asGroup struct {
	key    string
	rank   int
	order  int
	tracks []*VoDTrack
	tmpls  []*vodTemplate
}

func contentRank(ct string) int {
	switch ct {
	case "video":
		return 0
	case "audio":
		return 1
	case "text":
		return 2
	}
	return 3
}

// CodecFamily is the part of a codecs string that must match for
// Representations to share an AdaptationSet (sample entry, with the
// in-band/out-of-band parameter set variants folded together).
func CodecFamily(codecs string) string {
	c := strings.ToLower(strings.TrimSpace(codecs))
	if i := strings.IndexAny(c, ".,"); i >= 0 {
		c = c[:i]
	}
	switch c {
	case "avc1", "avc3":
		return "avc"
	case "hvc1", "hev1":
		return "hevc"
	case "dvh1", "dvhe":
		return "dvhevc"
	case "vvc1", "vvi1":
		return "vvc"
	}
	return c
}

func buildAdaptationSets(p *mpd.Period, vp *VoDPeriod, start *big.Rat) error {
	groups := map[string]*asGroup{}
	var list []*asGroup
	seen := map[string]bool{}
	for ti := range vp.Tracks {
		tr := &vp.Tracks[ti]
		if seen[tr.Rep] {
			return fmt.Errorf("duplicate Rep %q", tr.Rep)
		}
		seen[tr.Rep] = true
		vt, err := trackTemplate(tr, start)
		if err != nil {
			return fmt.Errorf("track %q: %w", tr.Rep, err)
		}
		key := strings.Join([]string{tr.ContentType, tr.Lang, CodecFamily(tr.Codecs), strings.Join(tr.Roles, ","), tr.Label, tr.Protection.Key()}, "\x00")
		g := groups[key]
		if g == nil {
			g = &asGroup{key: key, rank: contentRank(tr.ContentType), order: len(list)}
			groups[key] = g
			list = append(list, g)
		}
		g.tracks = append(g.tracks, tr)
		g.tmpls = append(g.tmpls, vt)
	}
	sort.SliceStable(list, func(i, j int) bool {
		if list[i].rank != list[j].rank {
			return list[i].rank < list[j].rank
		}
		return list[i].order < list[j].order
	})
	for gi, g := range list {
		p.AppendAdaptationSet(buildAdaptationSet(g, uint32(gi+1)))
	}
	return nil
}

// rfc6838Types are the values AdaptationSet@contentType may take.
var rfc6838Types = map[string]bool{"video": true, "audio": true, "text": true, "image": true, "application": true, "font": true}

// mpdContentType is AdaptationSet@contentType for a track's content
// type: a timed-metadata track (urim, evte in application/mp4) is
// "application", a type that is no RFC 6838 top-level type has none.
func mpdContentType(ct string) string {
	switch {
	case ct == "metadata":
		return "application"
	case rfc6838Types[ct]:
		return ct
	}
	return ""
}

func buildAdaptationSet(g *asGroup, id uint32) *mpd.AdaptationSetType {
	t0 := g.tracks[0]
	as := mpd.NewAdaptationSet()
	as.Id = mpd.Ptr(id)
	as.Lang = t0.Lang
	as.ContentType = mpd.RFC6838ContentTypeType(mpdContentType(t0.ContentType))
	sameMime := true
	for _, tr := range g.tracks[1:] {
		if tr.MimeType != t0.MimeType {
			sameMime = false
		}
	}
	if sameMime {
		as.MimeType = t0.MimeType
	}
	if t0.ContentType == "video" || t0.ContentType == "audio" {
		as.SegmentAlignment = true
		as.StartWithSAP = 1
	}
	for _, r := range t0.Roles {
		as.Roles = append(as.Roles, mpd.NewRole(r))
	}
	if t0.Label != "" {
		as.Labels = []*mpd.LabelType{{Value: t0.Label}}
	}
	as.ContentProtections = contentProtections(t0.Protection)
	as.InbandEventStreams = inbandEventStreams(g.tracks)
	asTmpl, repTmpls := splitTemplates(g)
	as.SegmentTemplate = asTmpl
	for i, tr := range g.tracks {
		if g.tmpls[i].list != nil {
			repTmpls[i] = nil
		}
		rep := mpd.NewRepresentationWithID(tr.Rep, tr.Codecs, "", tr.Bandwidth)
		if !sameMime {
			rep.MimeType = tr.MimeType
		}
		rep.Width = uint32(tr.Width)
		rep.Height = uint32(tr.Height)
		rep.FrameRate = mpd.FrameRateType(tr.FrameRate)
		if tr.SampleRate > 0 {
			rep.AudioSamplingRate = mpd.Ptr(mpd.UIntVectorType(strconv.Itoa(tr.SampleRate)))
		}
		if tr.Channels > 0 {
			rep.AudioChannelConfigurations = []*mpd.DescriptorType{
				mpd.NewDescriptor(mpd.AUDIO_CHANNEL_CONFIGURATION_MPEG_DASH, strconv.Itoa(tr.Channels), ""),
			}
		}
		rep.SegmentTemplate = repTmpls[i]
		rep.SegmentList = g.tmpls[i].list
		as.AppendRepresentation(rep)
	}
	return as
}

// inbandEventStreams is one InbandEventStream for each event stream any of
// the tracks carries, sorted.
func inbandEventStreams(tracks []*VoDTrack) []*mpd.EventStreamType {
	var evs []InbandEvent
	for _, tr := range tracks {
		for _, e := range tr.InbandEvents {
			if !slices.Contains(evs, e) {
				evs = append(evs, e)
			}
		}
	}
	slices.SortFunc(evs, func(a, b InbandEvent) int {
		return cmp.Or(strings.Compare(a.SchemeIDURI, b.SchemeIDURI), strings.Compare(a.Value, b.Value))
	})
	var out []*mpd.EventStreamType
	for _, e := range evs {
		out = append(out, &mpd.EventStreamType{SchemeIdUri: mpd.AnyURI(e.SchemeIDURI), Value: e.Value})
	}
	return out
}

// sharedString returns the value all reps share, either literally or with
// each Representation@id replaced by $RepresentationID$.
func sharedString(vals []string, reps []string) (string, bool) {
	same := true
	for _, v := range vals[1:] {
		if v != vals[0] {
			same = false
		}
	}
	if same {
		return vals[0], true
	}
	cand := strings.ReplaceAll(vals[0], reps[0], "$"+identRepresentationID+"$")
	toks, err := parseTemplate(cand)
	if err != nil {
		return "", false
	}
	for i, v := range vals {
		got, err := renderTemplate(toks, map[string]string{identRepresentationID: reps[i]}, false)
		if err != nil || got != v {
			return "", false
		}
	}
	return cand, true
}

// splitTemplates puts on the AdaptationSet SegmentTemplate every attribute
// the Representations share (when they share the timescale) and leaves the
// rest on Representation SegmentTemplates (nil when nothing is left).
func splitTemplates(g *asGroup) (*mpd.SegmentTemplateType, []*mpd.SegmentTemplateType) {
	reps := make([]*mpd.SegmentTemplateType, len(g.tmpls))
	for i := range reps {
		reps[i] = mpd.NewSegmentTemplate()
	}
	var as *mpd.SegmentTemplateType
	shared := templatesShareable(g.tmpls)
	if shared {
		as = mpd.NewSegmentTemplate()
	}
	splitTemplateURLs(g, shared, as, reps)
	t0 := g.tmpls[0]
	for _, f := range templateFields() {
		if shared && allAgree(g.tmpls, f.eq) {
			f.set(as, t0)
			continue
		}
		for i, t := range g.tmpls {
			f.set(reps[i], t)
		}
	}
	for i, r := range reps {
		if *r == (mpd.SegmentTemplateType{}) {
			reps[i] = nil
		}
	}
	return as, reps
}

// templatesShareable reports whether an AdaptationSet SegmentTemplate may
// hold what tmpls share: they have one timescale and none is a
// SegmentList (a SegmentTemplate on the AdaptationSet would be inherited
// by a Representation with a SegmentList).
func templatesShareable(tmpls []*vodTemplate) bool {
	for _, t := range tmpls {
		if t.timescale != tmpls[0].timescale || t.list != nil {
			return false
		}
	}
	return true
}

// allAgree reports whether every template agrees with the first by eq.
func allAgree(tmpls []*vodTemplate, eq func(a, b *vodTemplate) bool) bool {
	for _, t := range tmpls[1:] {
		if !eq(tmpls[0], t) {
			return false
		}
	}
	return true
}

// splitTemplateURLs puts @initialization and @media on as when shared and
// every Representation's is the same, or the same with its
// Representation@id as $RepresentationID$; else on each of reps.
func splitTemplateURLs(g *asGroup, shared bool, as *mpd.SegmentTemplateType, reps []*mpd.SegmentTemplateType) {
	n := len(g.tmpls)
	ids, media, inits := make([]string, n), make([]string, n), make([]string, n)
	for i, t := range g.tmpls {
		ids[i] = g.tracks[i].Rep
		media[i] = t.media
		inits[i] = t.init
	}
	if v, ok := sharedString(inits, ids); ok && shared {
		as.Initialization = v
	} else {
		for i := range reps {
			reps[i].Initialization = inits[i]
		}
	}
	if v, ok := sharedString(media, ids); ok && shared {
		as.Media = v
	} else {
		for i := range reps {
			reps[i].Media = media[i]
		}
	}
}

// templateField is a SegmentTemplate attribute splitTemplates places: eq
// says whether two templates agree on it, set writes t's into st.
type templateField struct {
	eq  func(a, b *vodTemplate) bool
	set func(st *mpd.SegmentTemplateType, t *vodTemplate)
}

// templateFields are the SegmentTemplate attributes besides the URLs.
func templateFields() []templateField {
	return []templateField{
		{ // @timescale
			func(a, b *vodTemplate) bool { return a.timescale == b.timescale },
			func(st *mpd.SegmentTemplateType, t *vodTemplate) { st.Timescale = mpd.Ptr(t.timescale) },
		},
		{ // @startNumber
			func(a, b *vodTemplate) bool { return a.startNumber == b.startNumber },
			func(st *mpd.SegmentTemplateType, t *vodTemplate) { st.StartNumber = mpd.Ptr(t.startNumber) },
		},
		{ // @presentationTimeOffset
			func(a, b *vodTemplate) bool { return a.pto == b.pto },
			func(st *mpd.SegmentTemplateType, t *vodTemplate) {
				if t.pto != 0 {
					st.PresentationTimeOffset = mpd.Ptr(t.pto)
				}
			},
		},
		{ // SegmentTimeline
			func(a, b *vodTemplate) bool { return sameTimeline(a.timeline, b.timeline) },
			func(st *mpd.SegmentTemplateType, t *vodTemplate) {
				st.SegmentTimeline = &mpd.SegmentTimelineType{S: t.timeline}
			},
		},
	}
}
