package manifest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// maxTimelineEntries bounds how many segments one SegmentTimeline may expand
// to (S@r can be arbitrarily large), so a hostile or broken MPD cannot make
// the parser allocate without limit.
const maxTimelineEntries = 1 << 20

// relativeStandIn is the base used when ParseLive gets no MPD URL; URLs
// that stay under it are returned relative.
const relativeStandIn = "http://relative.invalid/"

// ParseLive parses a live (dynamic) or static MPD fetched from mpdURL (used to resolve relative URLs, together with any
// BaseURL at MPD/Period/AdaptationSet/Representation level) into per-Representation addressing.
//
// Every segment is placed on the epoch timeline: a SegmentTimeline entry
// starts at (AST + Period@start)*T + S@t − PTO ticks; with
// SegmentTemplate@duration, segment Number n starts at
// (AST + Period@start)*T + (n − startNumber)*@duration. Both are the same
// rule, MPD time = Period start + (media time − PTO)/T, since the media time
// of $Number$ segment n is PTO + (n − startNumber)*@duration: PTO moves
// $Number$ segments on the media timeline, not on the MPD timeline.
// K = round(start / SegDur). Each Period is resolved on its own; an MPD
// with several Periods gives one track per Representation id, addressing
// each K in the Period that holds it (see mergePeriods).
func ParseLive(data []byte, mpdURL string) (*Live, error) {
	return ParseLiveContext(context.Background(), data, mpdURL)
}

// ParseLiveContext is ParseLive that also stops waiting for the XML parser
// when ctx is done.
func ParseLiveContext(ctx context.Context, data []byte, mpdURL string) (*Live, error) {
	m, err := decodeMPD(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err) // the caller names the MPD
	}
	var base *url.URL
	if mpdURL != "" {
		base, err = url.Parse(mpdURL)
		if err != nil {
			return nil, fmt.Errorf("manifest: bad MPD URL %q: %w", mpdURL, err)
		}
	} else {
		// Resolve against a stand-in and strip it afterwards: net/url
		// turns a relative reference against an empty base into "/…".
		base, _ = url.Parse(relativeStandIn)
	}
	l := &Live{Type: m.GetType(), Raw: data}
	if l.Type != mpd.DYNAMIC_TYPE && l.Type != mpd.STATIC_TYPE {
		return nil, fmt.Errorf("manifest: MPD@type %q is neither dynamic nor static", l.Type)
	}
	var ast time.Time
	if m.AvailabilityStartTime != "" {
		ast, err = parseDateTime(string(m.AvailabilityStartTime))
		if err != nil {
			return nil, fmt.Errorf("manifest: MPD@availabilityStartTime: %w", err)
		}
	} else if l.Type == mpd.DYNAMIC_TYPE {
		return nil, errors.New("manifest: dynamic MPD without availabilityStartTime")
	} else {
		ast = time.Unix(0, 0).UTC()
	}
	l.AvailabilityStartUnix = float64(ast.Unix()) + float64(ast.Nanosecond())/1e9
	if m.MinimumUpdatePeriod != nil {
		l.MinimumUpdatePeriod = m.MinimumUpdatePeriod.Seconds()
	}
	if m.TimeShiftBufferDepth != nil {
		l.TimeShiftBufferDepth = m.TimeShiftBufferDepth.Seconds()
	}
	periods, err := parsePeriods(m, l.Type, ast, base, mpdURL == "")
	if err != nil {
		return nil, err
	}
	mergePeriods(l, periods)
	if len(l.Tracks) == 0 {
		return nil, errors.New("manifest: MPD has no Representation")
	}
	return l, nil
}

// livePeriod is one source Period parsed on its own: its tracks' addressing
// and its origin (AST + Period@start) on the epoch timeline in nanoseconds.
type livePeriod struct {
	id       string
	originNs *big.Int
	segDur   float64 // the Period's channel duration D in seconds, 0 if unknown
	tracks   []LiveTrack
}

// parsePeriods parses every Period of m. A Period's start is its @start,
// else the previous Period's start plus its @duration; its end is its
// @duration, else the next Period's start (else, in a static MPD, the
// presentation end). Errors of a multi-Period MPD name the Period.
func parsePeriods(m *mpd.MPD, typ string, ast time.Time, base *url.URL, relative bool) ([]livePeriod, error) {
	if len(m.Periods) == 0 {
		return nil, errors.New("manifest: MPD has no Period")
	}
	starts, err := periodStarts(m.Periods)
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	out := make([]livePeriod, 0, len(m.Periods))
	for i, p := range m.Periods {
		var periodDur *time.Duration
		switch {
		case p.Duration != nil:
			d := time.Duration(*p.Duration)
			periodDur = &d
		case i+1 < len(m.Periods):
			d := starts[i+1] - starts[i]
			periodDur = &d
		case typ == mpd.STATIC_TYPE && m.MediaPresentationDuration != nil:
			d := time.Duration(*m.MediaPresentationDuration) - starts[i]
			periodDur = &d
		}
		lp, err := parsePeriod(m, p, ast, starts[i], periodDur, base, relative)
		if err != nil {
			if len(m.Periods) > 1 {
				return nil, fmt.Errorf("manifest: Period %s: %w", periodName(p, i), err)
			}
			return nil, fmt.Errorf("manifest: %w", err)
		}
		out = append(out, *lp)
	}
	return out, nil
}

// periodName names a Period in errors: its id, else its 1-based position as "#n".
func periodName(p *mpd.Period, i int) string {
	if p.Id != "" {
		return p.Id
	}
	return "#" + strconv.Itoa(i+1)
}

// periodStarts returns each Period's start relative to AST (ISO/IEC
// 23009-1 5.3.2.1): @start, else the previous start plus its @duration,
// else 0 for the first Period. Starts must increase.
func periodStarts(ps []*mpd.Period) ([]time.Duration, error) {
	starts := make([]time.Duration, len(ps))
	for i, p := range ps {
		switch {
		case p.Start != nil:
			starts[i] = time.Duration(*p.Start)
		case i == 0:
		case ps[i-1].Duration != nil:
			starts[i] = starts[i-1] + time.Duration(*ps[i-1].Duration)
		default:
			return nil, fmt.Errorf("Period %s has no @start and the Period before it no @duration", periodName(p, i))
		}
		if i > 0 && starts[i] <= starts[i-1] {
			return nil, fmt.Errorf("Period %s starts at %s, not after the Period before it (%s)", periodName(p, i), starts[i], starts[i-1])
		}
	}
	return starts, nil
}

// parsePeriod resolves every Representation of one Period and fills its
// durations and K values.
func parsePeriod(m *mpd.MPD, p *mpd.Period, ast time.Time, periodStart time.Duration, periodDur *time.Duration,
	base *url.URL, relative bool) (*livePeriod, error) {
	if p.XlinkHref != "" {
		return nil, errors.New("Period with xlink:href is not supported")
	}
	// Period origin on the epoch timeline, in nanoseconds.
	originNs := new(big.Int).Mul(big.NewInt(ast.Unix()), big.NewInt(1e9))
	originNs.Add(originNs, big.NewInt(int64(ast.Nanosecond())+int64(periodStart)))

	periodBase, periodATO, err := resolveChain(base, m.BaseURL, p.BaseURLs)
	if err != nil {
		return nil, fmt.Errorf("Period: %w", err)
	}
	pl := &Live{}
	seen := map[string]bool{}
	for ai, as := range p.AdaptationSets {
		asName := adaptationSetName(as, ai)
		if as.XlinkHref != "" {
			return nil, fmt.Errorf("AdaptationSet %s: xlink:href is not supported", asName)
		}
		if len(as.Representations) == 0 {
			return nil, fmt.Errorf("AdaptationSet %s: no Representation", asName)
		}
		for _, rep := range as.Representations {
			where := fmt.Sprintf("AdaptationSet %s Representation %s", asName, rep.Id)
			if rep.Id == "" {
				return nil, fmt.Errorf("AdaptationSet %s: Representation without id", asName)
			}
			if seen[rep.Id] {
				return nil, fmt.Errorf("%s: duplicate Representation id", where)
			}
			seen[rep.Id] = true
			tr, err := parseTrack(p, as, rep, periodBase, periodATO, originNs, periodDur)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			if relative {
				tr.InitURL = strings.TrimPrefix(tr.InitURL, relativeStandIn)
				tr.MediaTemplate = strings.TrimPrefix(tr.MediaTemplate, relativeStandIn)
			}
			pl.Tracks = append(pl.Tracks, *tr)
		}
	}
	finishDurations(pl)
	return &livePeriod{id: p.Id, originNs: originNs, segDur: pl.SegDurSeconds, tracks: pl.Tracks}, nil
}

// mergePeriods makes one track per Representation id out of the Periods:
// the same id in consecutive Periods is the same track (a source Period
// boundary is no boundary in the archive). The track describes itself as
// in the last Period that has it; with several Periods, Periods lists its
// addressing in each, for EntryFor and MediaURL to pick by K. A Period's
// K range starts at round(its origin / D) and ends where the next starts.
func mergePeriods(l *Live, ps []livePeriod) {
	for _, p := range ps {
		if p.segDur > 0 {
			l.SegDurSeconds = p.segDur
		}
	}
	if len(ps) == 1 {
		l.Tracks = ps[0].tracks
		return
	}
	firstK := make([]int64, len(ps)+1)
	firstK[0], firstK[len(ps)] = math.MinInt64, math.MaxInt64
	for i := 1; i < len(ps); i++ {
		firstK[i] = boundaryK(ps[i].originNs, l.SegDurSeconds)
	}
	at := map[string]int{}
	for i, p := range ps {
		for _, t := range p.tracks {
			span := PeriodTrack{ID: p.id, FirstK: firstK[i], EndK: firstK[i+1], Track: t}
			j, ok := at[t.Rep]
			if !ok {
				j = len(l.Tracks)
				at[t.Rep] = j
				l.Tracks = append(l.Tracks, LiveTrack{})
			}
			prev := l.Tracks[j]
			l.Tracks[j] = t
			if t.SegDur == 0 { // an empty timeline (a Period just begun) says nothing of D
				l.Tracks[j].SegDur = prev.SegDur
			}
			l.Tracks[j].Periods = append(prev.Periods, span)
		}
	}
}

// boundaryK is the epoch index of a Period origin: round(originNs / D).
func boundaryK(originNs *big.Int, segDurS float64) int64 {
	if segDurS <= 0 {
		return math.MinInt64
	}
	return roundRat(originNs, big.NewInt(int64(math.Round(segDurS*1e9))))
}

// Track returns the track of Representation rep.
func (l *Live) Track(rep string) (*LiveTrack, bool) {
	for i := range l.Tracks {
		if l.Tracks[i].Rep == rep {
			return &l.Tracks[i], true
		}
	}
	return nil, false
}

// periodOf returns the track's addressing in the Period that holds epoch
// index k: t itself for a one-Period MPD, nil when no Period of the MPD
// that has this Representation holds k.
func (t *LiveTrack) periodOf(k int64) *LiveTrack {
	if len(t.Periods) == 0 {
		return t
	}
	for i := len(t.Periods) - 1; i >= 0; i-- {
		if p := &t.Periods[i]; k >= p.FirstK {
			if k < p.EndK {
				return &p.Track
			}
			return nil
		}
	}
	return nil
}

// Holds reports whether a Period of the MPD that has this Representation
// holds epoch index k (always for a one-Period MPD).
func (t *LiveTrack) Holds(k int64) bool { return t.periodOf(k) != nil }

// InitURLFor returns the init segment URL of the Period that holds epoch
// index k (InitURL when no Period holds it).
func (t *LiveTrack) InitURLFor(k int64) string {
	if p := t.periodOf(k); p != nil {
		return p.InitURL
	}
	return t.InitURL
}

// EntryFor returns the timeline entry of epoch index k, from the Period
// that holds k. Beyond the last listed entry of an open-ended timeline
// (last S@r = -1 with no known end) it extrapolates with that entry's
// duration.
func (t *LiveTrack) EntryFor(k int64) (TimelineEntry, bool) {
	if t = t.periodOf(k); t == nil {
		return TimelineEntry{}, false
	}
	n := len(t.Timeline)
	if n == 0 {
		return TimelineEntry{}, false
	}
	i := sort.Search(n, func(i int) bool { return t.Timeline[i].K >= k })
	if i < n && t.Timeline[i].K == k {
		return t.Timeline[i], true
	}
	last := t.Timeline[n-1]
	if i < n || !t.OpenEnded || last.D == 0 || t.SegDur == 0 {
		return TimelineEntry{}, false
	}
	// k > last.K: find j >= 1 with round((last.T + j*D)/SegDur) == k.
	target := float64(k)*float64(t.SegDur) - float64(last.T)
	j := int64(math.Round(target / float64(last.D)))
	for _, c := range []int64{j, j - 1, j + 1} {
		if c < 1 {
			continue
		}
		tt := last.T + uint64(c)*last.D
		if roundDiv(int64(tt), int64(t.SegDur)) == k {
			e := TimelineEntry{T: tt, D: last.D, K: k}
			if t.Mode == ByNumber {
				e.Number = last.Number + c
			}
			return e, true
		}
	}
	return TimelineEntry{}, false
}

// MediaURL returns the absolute URL of the media segment with epoch index k.
// ByNumber: $Number$ = k + NumberOffset (or the entry's Number when the
// timeline lists k). ByTime: $Time$ = the entry's MPD time (S@t); the entry
// for k must be in the timeline. With several Periods, the Period that
// holds k addresses it.
func (t *LiveTrack) MediaURL(k int64) (string, error) {
	if p := t.periodOf(k); p != nil {
		t = p
	} else {
		return "", fmt.Errorf("manifest: Representation %s: no Period of the MPD holds K=%d", t.Rep, k)
	}
	toks, err := parseTemplate(t.MediaTemplate)
	if err != nil {
		return "", fmt.Errorf("manifest: Representation %s: %w", t.Rep, err)
	}
	vals := map[string]string{}
	switch t.Mode {
	case ByNumber:
		num := k + t.NumberOffset
		if e, ok := t.EntryFor(k); ok && len(t.Timeline) > 0 {
			num = e.Number
		}
		if num < 0 {
			return "", fmt.Errorf("manifest: Representation %s: segment K=%d maps to negative $Number$ %d", t.Rep, k, num)
		}
		vals[identNumber] = strconv.FormatInt(num, 10)
	case ByTime:
		e, ok := t.EntryFor(k)
		if !ok {
			return "", fmt.Errorf("manifest: Representation %s: no SegmentTimeline entry for K=%d", t.Rep, k)
		}
		mt := int64(e.T) + t.TimeOffset
		if mt < 0 {
			return "", fmt.Errorf("manifest: Representation %s: segment K=%d maps to negative $Time$", t.Rep, k)
		}
		vals[identTime] = strconv.FormatInt(mt, 10)
	default:
		return "", fmt.Errorf("manifest: Representation %s: unknown address mode %d", t.Rep, t.Mode)
	}
	u, err := renderTemplate(toks, vals, true)
	if err != nil {
		return "", fmt.Errorf("manifest: Representation %s: media template %q: %w", t.Rep, t.MediaTemplate, err)
	}
	return u, nil
}

// adaptationSetName names an AdaptationSet in errors: its id, else its
// 1-based position as "#n".
func adaptationSetName(as *mpd.AdaptationSetType, i int) string {
	if as.Id != nil {
		return strconv.FormatUint(uint64(*as.Id), 10)
	}
	return "#" + strconv.Itoa(i+1)
}

// segTemplate is a SegmentTemplate with Period → AdaptationSet →
// Representation inheritance applied (lower levels override).
type segTemplate struct {
	media, init string
	timescale   uint32
	duration    *uint32
	startNumber uint32
	pto         uint64
	timeline    *mpd.SegmentTimelineType
	ato         float64
}

func mergeTemplates(levels ...*mpd.SegmentTemplateType) (*segTemplate, bool) {
	st := &segTemplate{timescale: 1, startNumber: 1}
	found := false
	for _, l := range levels {
		if l == nil {
			continue
		}
		found = true
		if l.Media != "" {
			st.media = l.Media
		}
		if l.Initialization != "" {
			st.init = l.Initialization
		} else if l.SegmentBaseType.Initialization != nil && l.SegmentBaseType.Initialization.SourceURL != "" {
			st.init = string(l.SegmentBaseType.Initialization.SourceURL)
		}
		if l.Timescale != nil {
			st.timescale = *l.Timescale
		}
		if l.Duration != nil {
			st.duration = l.Duration
		}
		if l.StartNumber != nil {
			st.startNumber = *l.StartNumber
		}
		if l.PresentationTimeOffset != nil {
			st.pto = *l.PresentationTimeOffset
		}
		if l.SegmentTimeline != nil {
			st.timeline = l.SegmentTimeline
		}
		if l.AvailabilityTimeOffset != 0 {
			st.ato = float64(l.AvailabilityTimeOffset)
		}
	}
	return st, found
}

// parseTrack describes one Representation of a live Period: its
// metadata, its segment and init URLs, and where its segments sit on the
// epoch timeline (originNs: availabilityStartTime + Period@start).
func parseTrack(p *mpd.Period, as *mpd.AdaptationSetType, rep *mpd.RepresentationType,
	periodBase *url.URL, periodATO float64, originNs *big.Int, periodDur *time.Duration) (*LiveTrack, error) {
	st, err := liveTemplate(p, as, rep)
	if err != nil {
		return nil, err
	}
	t := describeTrack(as, rep, st.timescale)
	repBase, baseATO, err := resolveChain(periodBase, as.BaseURLs, rep.BaseURLs)
	if err != nil {
		return nil, err
	}
	t.AvailabilityTimeOffset = periodATO + baseATO + st.ato
	fixed := map[string]string{
		identRepresentationID: rep.Id,
		identBandwidth:        strconv.FormatUint(uint64(rep.Bandwidth), 10),
	}
	if err := resolveMediaTemplate(t, st, fixed, repBase); err != nil {
		return nil, err
	}
	if st.init != "" {
		if t.InitURL, err = resolveInitTemplate(st, fixed, repBase); err != nil {
			return nil, err
		}
	}
	if err := placeOnEpoch(t, st, originNs, periodDur); err != nil {
		return nil, err
	}
	return t, nil
}

// liveTemplate merges the SegmentTemplates of the Period, AdaptationSet
// and Representation; other addressing is refused.
func liveTemplate(p *mpd.Period, as *mpd.AdaptationSetType, rep *mpd.RepresentationType) (*segTemplate, error) {
	st, ok := mergeTemplates(p.SegmentTemplate, as.SegmentTemplate, rep.SegmentTemplate)
	if !ok {
		for _, c := range []struct {
			list, base bool
		}{{rep.SegmentList != nil, rep.SegmentBase != nil}, {as.SegmentList != nil, as.SegmentBase != nil}, {p.SegmentList != nil, p.SegmentBase != nil}} {
			if c.list {
				return nil, errors.New("SegmentList addressing is not supported (only SegmentTemplate)")
			}
			if c.base {
				return nil, errors.New("SegmentBase (single-file, indexed) addressing is not supported (only SegmentTemplate)")
			}
		}
		return nil, errors.New("no SegmentTemplate")
	}
	if st.timescale == 0 {
		return nil, errors.New("SegmentTemplate@timescale is 0")
	}
	return st, nil
}

// describeTrack is the metadata of rep in as, the Representation's own
// attributes taking precedence.
func describeTrack(as *mpd.AdaptationSetType, rep *mpd.RepresentationType, timescale uint32) *LiveTrack {
	t := &LiveTrack{
		Rep:        rep.Id,
		MimeType:   firstNonEmpty(rep.MimeType, as.MimeType),
		Codecs:     firstNonEmpty(rep.Codecs, as.Codecs),
		Lang:       as.Lang,
		Bandwidth:  int(rep.Bandwidth),
		Width:      int(firstNonZero(rep.Width, as.Width)),
		Height:     int(firstNonZero(rep.Height, as.Height)),
		FrameRate:  string(firstNonEmpty(string(rep.FrameRate), string(as.FrameRate))),
		Timescale:  timescale,
		SampleRate: sampleRate(rep.AudioSamplingRate, as.AudioSamplingRate),
		Channels:   channels(rep.AudioChannelConfigurations, as.AudioChannelConfigurations),
	}
	for _, r := range as.Roles {
		if r != nil && r.Value != "" {
			t.Roles = append(t.Roles, r.Value)
		}
	}
	t.Label = firstLabel(rep.Labels, as.Labels)
	t.ContentType = contentTypeOf(string(as.ContentType), t.MimeType, t.Codecs)
	return t
}

// resolveMediaTemplate sets t's addressing mode ($Number$ or $Time$) and
// MediaTemplate: the @media template with the fixed identifiers filled in,
// resolved against repBase.
func resolveMediaTemplate(t *LiveTrack, st *segTemplate, fixed map[string]string, repBase *url.URL) error {
	if st.media == "" {
		return errors.New("SegmentTemplate has no @media")
	}
	mediaToks, err := parseTemplate(st.media)
	if err != nil {
		return fmt.Errorf("media %w", err)
	}
	hasNum, hasTime := hasIdent(mediaToks, identNumber), hasIdent(mediaToks, identTime)
	switch {
	case hasNum && hasTime:
		return fmt.Errorf("media template %q has both $Number$ and $Time$", st.media)
	case !hasNum && !hasTime:
		return fmt.Errorf("media template %q has neither $Number$ nor $Time$", st.media)
	case hasIdent(mediaToks, identSubNumber):
		return fmt.Errorf("media template %q: $SubNumber$ (segment sequences) is not supported", st.media)
	}
	if hasTime {
		t.Mode = ByTime
	}
	partial, err := renderTemplate(mediaToks, fixed, false)
	if err != nil {
		return err
	}
	partialToks, _ := parseTemplate(partial)
	if t.MediaTemplate, err = resolveTemplate(repBase, partialToks); err != nil {
		return fmt.Errorf("media template %q: %w", st.media, err)
	}
	return nil
}

// resolveInitTemplate is the init segment's URL: the @initialization
// template with the fixed identifiers filled in, resolved against repBase.
func resolveInitTemplate(st *segTemplate, fixed map[string]string, repBase *url.URL) (string, error) {
	initToks, err := parseTemplate(st.init)
	if err != nil {
		return "", fmt.Errorf("initialization %w", err)
	}
	if hasIdent(initToks, identNumber) || hasIdent(initToks, identTime) || hasIdent(initToks, identSubNumber) {
		return "", fmt.Errorf("initialization template %q must not contain $Number$, $Time$ or $SubNumber$", st.init)
	}
	initStr, err := renderTemplate(initToks, fixed, true)
	if err != nil {
		return "", fmt.Errorf("initialization template %q: %w", st.init, err)
	}
	ref, err := url.Parse(initStr)
	if err != nil {
		return "", fmt.Errorf("initialization template %q: %w", st.init, err)
	}
	return repBase.ResolveReference(ref).String(), nil
}

// placeOnEpoch sets where t's segments sit on the epoch timeline: its
// TimeOffset, and either its expanded Timeline or its SegDur and
// NumberOffset. originNs is the Period's origin, availabilityStartTime +
// Period@start, in nanoseconds since the epoch.
func placeOnEpoch(t *LiveTrack, st *segTemplate, originNs *big.Int, periodDur *time.Duration) error {
	// Origin of the Period on the epoch timeline in this track's ticks.
	originTicks := new(big.Int).Mul(originNs, big.NewInt(int64(st.timescale)))
	rem := new(big.Int)
	originTicks.QuoRem(originTicks, big.NewInt(1e9), rem)
	if rem.Sign() != 0 {
		return fmt.Errorf("availabilityStartTime + Period@start is not a whole number of ticks at timescale %d", st.timescale)
	}
	if !originTicks.IsInt64() {
		return errors.New("availabilityStartTime + Period@start is out of range")
	}
	origin := originTicks.Int64()
	if st.pto > math.MaxInt64 {
		return errors.New("presentationTimeOffset is out of range")
	}
	t.TimeOffset = int64(st.pto) - origin

	switch {
	case st.timeline != nil:
		return expandTimeline(t, st, periodDur)
	case t.Mode == ByTime:
		return errors.New("$Time$ addressing needs a SegmentTimeline")
	case st.duration == nil || *st.duration == 0:
		return errors.New("SegmentTemplate has neither @duration nor a SegmentTimeline")
	default:
		d := int64(*st.duration)
		t.SegDur = uint64(d)
		// Number n starts at origin + (n − startNumber)*d on the epoch
		// timeline; that must sit on the K*d grid.
		if origin%d != 0 {
			return fmt.Errorf("segments are not on the epoch grid: (availabilityStartTime + Period@start)*timescale = %d ticks is not a multiple of @duration %d (AST not aligned)", origin, d)
		}
		t.NumberOffset = int64(st.startNumber) - origin/d
		return nil
	}
}

// expandTimeline expands the SegmentTimeline into t.Timeline (epoch ticks;
// K is filled later by finishDurations once SegDur is known).
func expandTimeline(t *LiveTrack, st *segTemplate, periodDur *time.Duration) error {
	ss := st.timeline.S
	if len(st.timeline.Pattern) > 0 {
		return errors.New("SegmentTimeline Pattern (6th edition) is not supported")
	}
	var endMedia *uint64 // period end in media time (ticks), if known
	if periodDur != nil && *periodDur > 0 {
		e := st.pto + uint64(math.Round(periodDur.Seconds()*float64(st.timescale)))
		endMedia = &e
	}
	var cur uint64
	num := int64(st.startNumber)
	for i, s := range ss {
		if s == nil {
			continue
		}
		if s.D == 0 {
			return fmt.Errorf("SegmentTimeline S[%d] has no @d", i)
		}
		if s.K != nil && *s.K > 1 {
			return fmt.Errorf("SegmentTimeline S[%d]: segment sequences (S@k) are not supported", i)
		}
		if s.T != nil {
			if i > 0 && *s.T < cur {
				return fmt.Errorf("SegmentTimeline S[%d]@t=%d overlaps the previous segment ending at %d", i, *s.T, cur)
			}
			cur = *s.T
		}
		if s.N != nil {
			if int64(*s.N) < num && i > 0 {
				return fmt.Errorf("SegmentTimeline S[%d]@n=%d goes backwards (expected >= %d)", i, *s.N, num)
			}
			num = int64(*s.N)
		}
		count := int64(s.R) + 1
		if s.R < 0 {
			if s.R != -1 {
				return fmt.Errorf("SegmentTimeline S[%d]@r=%d is invalid", i, s.R)
			}
			var until uint64
			switch {
			case i+1 < len(ss) && ss[i+1] != nil:
				if ss[i+1].T == nil {
					return fmt.Errorf("SegmentTimeline S[%d]@r=-1 is followed by an S without @t", i)
				}
				until = *ss[i+1].T
			case endMedia != nil:
				until = *endMedia
			default:
				// Open end: list this entry once, extrapolate in EntryFor.
				t.OpenEnded = true
				until = cur + s.D
			}
			if until <= cur {
				count = 0
			} else {
				count = int64((until - cur + s.D - 1) / s.D)
			}
		}
		if int64(len(t.Timeline))+count > maxTimelineEntries {
			return fmt.Errorf("SegmentTimeline expands to more than %d segments", maxTimelineEntries)
		}
		for j := int64(0); j < count; j++ {
			ep := int64(cur) - t.TimeOffset
			if cur > math.MaxInt64 || ep < 0 {
				return fmt.Errorf("SegmentTimeline S[%d]: segment at t=%d is before the epoch or out of range", i, cur)
			}
			t.Timeline = append(t.Timeline, TimelineEntry{T: uint64(ep), D: s.D, Number: num})
			cur += s.D
			num++
		}
	}
	if len(t.Timeline) == 0 {
		// An empty timeline is allowed in an I-MPD; SegDur is unknown then.
		return nil
	}
	t.SegDur = nominalDuration(t.Timeline, st.timescale)
	return nil
}

// nominalDuration estimates the nominal segment duration of a timeline:
// the mean d rounded to whole milliseconds (audio with constrained
// variation alternates e.g. 96256/95232 at 48 kHz, mean 96000). With few
// entries the mean of varying durations is off by up to (max d − min d)/n,
// so within that window the roundest millisecond value wins (1 s, 500 ms,
// 100 ms, … multiples), e.g. 96256, 96256, 95232 → 1998.2 ms → 2000 ms.
func nominalDuration(tl []TimelineEntry, timescale uint32) uint64 {
	var sum big.Int
	minD, maxD := tl[0].D, tl[0].D
	for _, e := range tl {
		sum.Add(&sum, new(big.Int).SetUint64(e.D))
		minD, maxD = min(minD, e.D), max(maxD, e.D)
	}
	n := float64(len(tl))
	perSec := float64(timescale)
	meanMs, _ := new(big.Rat).SetFrac(new(big.Int).Mul(&sum, big.NewInt(1000)), big.NewInt(int64(len(tl))*int64(timescale))).Float64()
	window := float64(maxD-minD) * 1000 / (n * perSec)
	ms := math.Round(meanMs)
	for _, g := range []float64{1000, 500, 100, 50, 10, 5} {
		if c := math.Round(meanMs/g) * g; c > 0 && math.Abs(c-meanMs) <= window {
			ms = c
			break
		}
	}
	if ms > 0 {
		if d := uint64(math.Round(ms * perSec / 1000)); d > 0 {
			return d
		}
	}
	// Sub-millisecond durations or tiny timescales: the mean in ticks.
	return uint64(roundRat(&sum, big.NewInt(int64(len(tl)))))
}

// finishDurations sets the channel duration D, snaps tracks whose timeline
// is on D's grid to exactly D, and fills timeline K values and NumberOffset.
func finishDurations(l *Live) {
	ref := -1
	for i := range l.Tracks {
		if l.Tracks[i].SegDur == 0 {
			continue
		}
		if l.Tracks[i].ContentType == "video" {
			ref = i
			break
		}
		if ref < 0 {
			ref = i
		}
	}
	if ref < 0 {
		return
	}
	rt := &l.Tracks[ref]
	l.SegDurSeconds = float64(rt.SegDur) / float64(rt.Timescale)
	for i := range l.Tracks {
		t := &l.Tracks[i]
		if len(t.Timeline) > 0 && i != ref {
			// Candidate: D in this track's timescale, if a whole number of ticks.
			num := new(big.Int).Mul(new(big.Int).SetUint64(rt.SegDur), big.NewInt(int64(t.Timescale)))
			rem := new(big.Int)
			num.QuoRem(num, big.NewInt(int64(rt.Timescale)), rem)
			if rem.Sign() == 0 && num.IsUint64() && num.Uint64() > 0 {
				cand := num.Uint64()
				diff := int64(t.SegDur) - int64(cand)
				if diff < 0 {
					diff = -diff
				}
				if diff*1000 <= int64(t.Timescale) || onGrid(t.Timeline, cand) {
					t.SegDur = cand
				}
			}
		}
		if len(t.Timeline) > 0 && t.SegDur > 0 {
			for j := range t.Timeline {
				t.Timeline[j].K = roundDiv(int64(t.Timeline[j].T), int64(t.SegDur))
			}
			if t.Mode == ByNumber {
				last := t.Timeline[len(t.Timeline)-1]
				t.NumberOffset = last.Number - last.K
			}
		}
	}
}

// onGrid reports whether every entry starts within SegDur/8 of a multiple
// of segDur and lasts within segDur/8 of it: the REaP constrained
// variation (an audio frame) is far below that.
func onGrid(tl []TimelineEntry, segDur uint64) bool {
	tol := segDur / 8
	for _, e := range tl {
		if absDiff(e.D, segDur) > tol {
			return false
		}
		k := uint64(roundDiv(int64(e.T), int64(segDur)))
		if absDiff(e.T, k*segDur) > tol {
			return false
		}
	}
	return true
}

func absDiff(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return b - a
}

// roundDiv returns round(x / d) for d > 0 (halves round up), without
// overflowing for large x.
func roundDiv(x, d int64) int64 {
	q, r := x/d, x%d
	if r < 0 {
		q, r = q-1, r+d
	}
	if r >= d-r {
		q++
	}
	return q
}

// roundRat returns round(a / b) for positive b.
func roundRat(a, b *big.Int) int64 {
	q, r := new(big.Int).QuoRem(a, b, new(big.Int))
	if new(big.Int).Lsh(r, 1).Cmp(b) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	return q.Int64()
}

// parseDateTime parses an xs:dateTime; one without a time zone is UTC.
func parseDateTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad xs:dateTime %q", s)
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func firstNonZero(a, b uint32) uint32 {
	if a != 0 {
		return a
	}
	return b
}

func sampleRate(rep, as *mpd.UIntVectorType) int {
	for _, v := range []*mpd.UIntVectorType{rep, as} {
		if v == nil {
			continue
		}
		f := strings.Fields(string(*v))
		if len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				return n
			}
		}
	}
	return 0
}

// cicpChannels maps MPEG-B CICP ChannelConfiguration indexes to channel counts.
var cicpChannels = map[int]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 7: 8, 9: 3, 10: 4, 11: 7, 12: 8, 13: 24, 14: 8, 15: 12, 16: 10, 17: 12, 18: 14, 19: 12, 20: 14}

func channels(rep, as []*mpd.DescriptorType) int {
	list := rep
	if len(list) == 0 {
		list = as
	}
	for _, d := range list {
		if d == nil {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(d.Value))
		switch string(d.SchemeIdUri) {
		case mpd.AUDIO_CHANNEL_CONFIGURATION_MPEG_DASH:
			if err == nil {
				return n
			}
		case "urn:mpeg:mpegB:cicp:ChannelConfiguration":
			if err == nil {
				return cicpChannels[n]
			}
		case mpd.AUDIO_CHANNEL_CONFIGURATION_MPEG_DOLBY:
			// 16-bit hex mask, not a count; leave unknown.
		default:
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// contentTypeOf derives video/audio/text/... from AdaptationSet@contentType,
// else the mimeType (and codecs for application/mp4). contentType
// "application" (ISO 23009-1 takes top-level MIME types) says no more than
// application/mp4: a timed-metadata track (urim, evte), or a text track in
// fMP4 (stpp, wvtt) by its codecs.
func contentTypeOf(asContentType, mimeType, codecs string) string {
	switch asContentType {
	case "":
	case "application":
		if mimeType == "" {
			mimeType = "application/mp4"
		}
	default:
		return asContentType
	}
	mt := strings.ToLower(mimeType)
	c := strings.ToLower(codecs)
	switch {
	case strings.HasPrefix(mt, "video/"):
		return "video"
	case strings.HasPrefix(mt, "audio/"):
		return "audio"
	case strings.HasPrefix(mt, "text/"), mt == "application/ttml+xml":
		return "text"
	case strings.HasPrefix(mt, "image/"):
		return "image"
	case mt == "application/mp4":
		if strings.HasPrefix(c, "stpp") || strings.HasPrefix(c, "wvtt") {
			return "text"
		}
		return "metadata"
	}
	for _, p := range []string{"avc1", "avc3", "hvc1", "hev1", "av01", "vp09", "vvc1", "vvi1", "dvh1", "dvhe"} {
		if strings.HasPrefix(c, p) {
			return "video"
		}
	}
	for _, p := range []string{"mp4a", "ac-3", "ec-3", "ac-4", "opus", "flac", "mhm1", "mha1"} {
		if strings.HasPrefix(c, p) {
			return "audio"
		}
	}
	return ""
}

// firstLabel is the text of the first non-empty Label of the lists, in
// order (a Representation's before its AdaptationSet's).
func firstLabel(lists ...[]*mpd.LabelType) string {
	for _, l := range lists {
		for _, x := range l {
			if x != nil && strings.TrimSpace(x.Value) != "" {
				return strings.TrimSpace(x.Value)
			}
		}
	}
	return ""
}
