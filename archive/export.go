package archive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/archive/cmaf"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// GapMode is how an export presents the gaps of its range.
type GapMode string

// Gap modes (export-vod --gaps).
const (
	// GapsSignal keeps one Period (one HLS discontinuity run) over a gap:
	// a hole in the DASH SegmentTimeline, EXT-X-GAP segments in HLS.
	GapsSignal GapMode = "signal"
	// GapsSplit ends the Period at a gap and starts a new one after it
	// (an EXT-X-DISCONTINUITY in HLS). A K that any track of the export
	// misses is a gap of the whole presentation: the other tracks'
	// segments at that K are left out, so every Period has every track,
	// each continuous.
	GapsSplit GapMode = "split"
	// GapsFill splices re-timed segments of a slate asset over every K a
	// track misses, in Periods (discontinuities) of their own, so the
	// timeline is continuous.
	GapsFill GapMode = "fill"
)

// EventsMode is how an export signals the events (emsg) of its range.
type EventsMode string

// Events modes (export-vod --events).
const (
	// EventsInband signals the emsg boxes the segments carry: an
	// InbandEventStream per scheme (DASH only; HLS players read emsg on
	// their own).
	EventsInband EventsMode = "inband"
	// EventsStream signals the SCTE-35 events in the manifests: an MPD
	// EventStream per Period and EXT-X-DATERANGE in the playlists.
	EventsStream EventsMode = "eventstream"
	// EventsBoth does both.
	EventsBoth EventsMode = "both"
)

// ParseEventsMode parses an --events value; "" is EventsBoth.
func ParseEventsMode(s string) (EventsMode, error) {
	switch EventsMode(s) {
	case "", EventsBoth:
		return EventsBoth, nil
	case EventsInband, EventsStream:
		return EventsMode(s), nil
	}
	return "", fmt.Errorf("unknown events mode %q: want inband, eventstream or both", s)
}

// ParseGapMode parses an --gaps value; "" is GapsSignal.
func ParseGapMode(s string) (GapMode, error) {
	switch GapMode(s) {
	case "", GapsSignal:
		return GapsSignal, nil
	case GapsSplit, GapsFill:
		return GapMode(s), nil
	}
	return "", fmt.Errorf("unknown gap mode %q: want signal, split or fill", s)
}

// Export formats (export-vod --format).
const (
	FormatDASH = "dash"
	FormatHLS  = "hls"
)

// ExportOptions select what export-vod publishes and where.
type ExportOptions struct {
	Channel  string
	From, To time.Time // the range [From, To): every segment overlapping it
	// Out is where the presentation goes: a store URL ending in ".mpd" (or
	// ".m3u8") names the MPD (the HLS multivariant playlist), and the other
	// format gets the same name with its own extension; otherwise it is a
	// directory that gets manifest.mpd and manifest.m3u8. HLS media
	// playlists are <name>-<rep>.m3u8 beside them.
	Out string
	// Formats are FormatDASH and/or FormatHLS; none means DASH.
	Formats []string
	// Gaps is how gaps are presented; "" is GapsSignal.
	Gaps GapMode
	// Slate is the slate asset GapsFill splices over gaps (see LoadSlate).
	Slate string
	// Copy writes a self-contained package (the MPD plus copies of every
	// referenced object) instead of referencing the archive in place.
	Copy bool
	// BaseURL is where the archive's objects are served from, for zero-copy
	// exports whose MPD is not in the archive's store.
	BaseURL string
	// Events is how events are signalled; "" is EventsBoth.
	Events EventsMode
	// SCTE35 are the range's SCTE-35 events (events.ForExport), signalled
	// in the manifests unless Events is EventsInband.
	SCTE35 []manifest.SCTE35Event
}

// ExportResult says what was written.
type ExportResult struct {
	MPD      string // URL of the written MPD ("" without DASH)
	MPDPath  string // local path of the MPD for file stores
	HLS      string // URL of the written HLS multivariant playlist ("" without HLS)
	HLSPath  string // its local path for file stores
	Tracks   int
	Segments int // archived segments the presentation references
	Gaps     int // holes (runs of missing K) inside the tracks' ranges
	Periods  int // DASH Periods; HLS has one discontinuity fewer
	// Fillers is how many filler segments were spliced in (GapsFill),
	// FillersCreated how many of them this export had to create.
	Fillers        int
	FillersCreated int
	// Omitted is how many archived segments were left out because another
	// track misses their K: with GapsSplit at every gap, with GapsSignal
	// before the first K every track has.
	Omitted int
	// HLSLeftOut are the tracks the HLS export leaves out because HLS has
	// no place for them (manifest.InHLS: timed-metadata tracks); the DASH
	// export has them.
	HLSLeftOut []string
	// HLSText is how many WebVTT text files the HLS export wrote beside
	// its playlists (a wvtt track's segments as HLS WebVTT).
	HLSText  int
	Copied   int
	Duration time.Duration
}

// ExportVoD writes a static DASH presentation and/or an HLS presentation of
// a channel's range.
func (a *Archive) ExportVoD(ctx context.Context, o ExportOptions) (ExportResult, error) {
	if !o.To.After(o.From) {
		return ExportResult{}, fmt.Errorf("export: empty range: --to %s is not after --from %s", o.To.Format(time.RFC3339), o.From.Format(time.RFC3339))
	}
	mode, err := ParseGapMode(string(o.Gaps))
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: %w", err)
	}
	evMode, err := ParseEventsMode(string(o.Events))
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: %w", err)
	}
	dash, hls := len(o.Formats) == 0, false
	for _, f := range o.Formats {
		switch f {
		case FormatDASH:
			dash = true
		case FormatHLS:
			hls = true
		default:
			return ExportResult{}, fmt.Errorf("export: unknown format %q: want dash or hls", f)
		}
	}
	var slate *Slate
	switch {
	case mode == GapsFill && o.Slate == "":
		return ExportResult{}, errors.New("export: --gaps fill needs --slate")
	case mode != GapsFill && o.Slate != "":
		return ExportResult{}, errors.New("export: --slate is only used with --gaps fill")
	case mode == GapsFill:
		if slate, err = LoadSlate(ctx, o.Slate); err != nil {
			return ExportResult{}, fmt.Errorf("export: %w", err)
		}
	}
	ch, err := a.DB.Channel(ctx, o.Channel)
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: channel %q: %w", o.Channel, err)
	}
	tracks, err := a.DB.Tracks(ctx, ch.ID)
	if err != nil {
		return ExportResult{}, err
	}
	outDirURL, stem, err := splitOut(o.Out)
	if err != nil {
		return ExportResult{}, err
	}
	baseURL := o.BaseURL
	if !o.Copy && baseURL == "" {
		// Before the out store is opened (which makes its directory).
		if baseURL, err = relativeBase(a.Store, outDirURL); err != nil {
			return ExportResult{}, err
		}
	}
	out, err := cloud.OpenPlainFiles(ctx, outDirURL)
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: --out: %w", err)
	}
	defer out.Close()
	if o.Copy {
		// The copies are beside the presentation. "./" rather than no
		// BaseURL: ffmpeg 5.1 resolves the segments of an MPD without one
		// against its path twice when that path is relative.
		baseURL = "./"
	}

	var ts []trackSegs
	res := ExportResult{}
	for _, t := range tracks {
		if t.Timescale == 0 || t.SegDur == 0 {
			continue // a track that never got an init/segment
		}
		fromK := floorK(o.From, t)
		toK := ceilK(o.To, t) - 1
		// Only what the MPD needs, not whole index rows: a day of 8 tracks
		// is 345,600 segments.
		var segs []expSeg
		x, dir := trackSegs{t: t}, ch.Name+"/"+t.Rep+"/"
		err := a.DB.ForEachSegment(ctx, t.ID, fromK, toK, func(g index.Segment) error {
			segs = append(segs, expSeg{K: g.K, EPT: g.EPT, Duration: g.Duration, Size: g.Size, InitID: g.InitID})
			if rest, ok := strings.CutPrefix(g.Key, dir); !ok || strings.Contains(rest, "/") {
				return x.addDir(g) // not <ch>/<rep>/<K>.<ext>: a splice's replacement
			}
			return nil
		})
		if err != nil {
			return ExportResult{}, fmt.Errorf("export: %s: %w", t.Rep, err)
		}
		if len(segs) == 0 {
			continue
		}
		x.segs = segs
		ts = append(ts, x)
		for i := 1; i < len(segs); i++ {
			if segs[i].K != segs[i-1].K+1 {
				res.Gaps++
			}
		}
	}
	if len(ts) == 0 {
		return ExportResult{}, fmt.Errorf("export: channel %s has no segments between %s and %s", o.Channel, o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339))
	}
	res.Tracks = len(ts)

	inits := map[int64]index.Init{}
	initOf := func(rep string, id int64) (index.Init, error) {
		if in, ok := inits[id]; ok {
			return in, nil
		}
		in, err := a.DB.InitByID(ctx, id)
		if err != nil {
			return index.Init{}, fmt.Errorf("export: %s init %d: %w", rep, id, err)
		}
		inits[id] = in
		return in, nil
	}
	// Segments of one Period decode with one init: inits are
	// interchangeable when they agree on what the recorder compares
	// (OfferInit): the codec configuration, track_ID and timescale. The
	// index keeps only the first, so each distinct init is read once.
	// The protection is part of it: a new key ID (in the stsd's tenc) or
	// pssh (in the moov) starts a new Period.
	configs := map[int64]string{}
	infos := map[int64]*cmaf.InitInfo{} // nil: configuration not known
	pl, err := buildPlan(ts, mode, func(ti int, id int64) (string, error) {
		if c, ok := configs[id]; ok {
			return c, nil
		}
		in, err := initOf(ts[ti].t.Rep, id)
		if err != nil {
			return "", err
		}
		c := "init:" + strconv.FormatInt(id, 10) // unknown configuration: its own
		if in.ConfigHash != "" {
			data, err := a.Store.Get(ctx, in.Key)
			if err != nil {
				return "", fmt.Errorf("%s init %s: %w", ts[ti].t.Rep, in.Key, err)
			}
			info, err := cmaf.ParseInit(data)
			if err != nil {
				return "", fmt.Errorf("%s init %s: %w", ts[ti].t.Rep, in.Key, err)
			}
			c = fmt.Sprintf("%s/%d/%d/%s", info.ConfigHash, info.TrackID, info.Timescale, info.Protection.Key())
			infos[id] = info
		}
		configs[id] = c
		return c, nil
	})
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: %w", err)
	}
	res.Omitted = pl.omitted

	// Fillers: one per (track, missing K), made once and reused.
	type fillInfo struct {
		st      *slateTrack
		byK     map[int64]filler
		initKey string
	}
	fills := make([]fillInfo, len(ts))
	if mode == GapsFill {
		for ti, ks := range pl.missing {
			if len(ks) == 0 {
				continue
			}
			st, err := slate.forTrack(ts[ti].t)
			if err != nil {
				return ExportResult{}, fmt.Errorf("export: %w", err)
			}
			byK, initKey, created, err := a.ensureFillers(ctx, ch, ts[ti].t, st, ks)
			if err != nil {
				return ExportResult{}, fmt.Errorf("export: %w", err)
			}
			fills[ti] = fillInfo{st: st, byK: byK, initKey: initKey}
			res.Fillers += len(ks)
			res.FillersCreated += created
		}
	}

	drm := &exportDRM{a: a, channel: ch.Name}
	var periods []manifest.VoDPeriod
	for _, pp := range pl.periods {
		k := pp.startK
		p := manifest.VoDPeriod{StartK: &k}
		for _, ptr := range pp.tracks {
			x := ts[ptr.ti]
			t := x.t
			if hls && !manifest.InHLS(t.ContentType) {
				if !slices.Contains(res.HLSLeftOut, t.Rep) {
					res.HLSLeftOut = append(res.HLSLeftOut, t.Rep)
					a.Log.Info("export: track left out of HLS, which has no place for it", "channel", ch.Name, "rep", t.Rep, "content_type", t.ContentType, "codecs", t.Codecs)
					if !dash {
						res.Tracks-- // an HLS-only export has no place for it
					}
				}
				if !dash {
					continue // not referenced, not copied
				}
			}
			vt := manifest.VoDTrack{Rep: t.Rep, ContentType: t.ContentType, MimeType: mimeType(t), Codecs: t.Codecs, Lang: t.Lang, Label: t.Label,
				Bandwidth: t.Bandwidth, Width: t.Width, Height: t.Height, FrameRate: t.FrameRate, SampleRate: t.SampleRate,
				Channels: t.Channels, Timescale: t.Timescale, SegDur: t.SegDur,
				MediaPattern: ch.Name + "/" + t.Rep + "/$Number$." + t.Ext, Segments: ptr.segs}
			if t.Roles != "" {
				vt.Roles = strings.Split(t.Roles, ",")
			}
			if vt.Bandwidth == 0 {
				vt.Bandwidth = estimateBandwidth(x.segs, t)
			}
			if ptr.filler {
				f := fills[ptr.ti]
				for i := range vt.Segments {
					fl, ok := f.byK[vt.Segments[i].K]
					if !ok {
						return ExportResult{}, fmt.Errorf("export: %s: no filler for K=%d", t.Rep, vt.Segments[i].K)
					}
					vt.Segments[i].EPT, vt.Segments[i].Duration = fl.EPT, fl.Duration
				}
				vt.InitPath = f.initKey
				vt.MediaPattern = layout.FillerPattern(ch.Name, t.Rep, f.st.id, t.Ext)
				if in := f.st.info; in.Codecs != "" {
					vt.Codecs = in.Codecs
					if in.Width > 0 {
						vt.Width, vt.Height = in.Width, in.Height
					}
				}
			} else {
				in, err := initOf(t.Rep, ptr.initID)
				if err != nil {
					return ExportResult{}, err
				}
				vt.InitPath = in.Key
				if vt.Protection, err = drm.protection(ctx, t.Rep, infos[ptr.initID]); err != nil {
					return ExportResult{}, fmt.Errorf("export: %s: %w", t.Rep, err)
				}
				if ptr.dir != 0 {
					vt.MediaPattern = x.dirs[ptr.dir-1]
				}
				if evMode != EventsStream {
					if vt.InbandEvents, err = a.inbandEvents(ctx, t, vt.Segments); err != nil {
						return ExportResult{}, fmt.Errorf("export: %w", err)
					}
				}
				for _, s := range vt.Segments {
					if !s.Gap {
						res.Segments++
					}
				}
			}
			p.Tracks = append(p.Tracks, vt)
		}
		periods = append(periods, p)
	}
	res.Periods = len(periods)
	var texts []exportFile // HLS WebVTT text files, written first
	if hls {
		if err := setHLSText(periods, stem); err != nil {
			return ExportResult{}, fmt.Errorf("export: HLS: %w", err)
		}
		if texts, err = a.webVTTFiles(ctx, periods, path.Dir(stem)); err != nil {
			return ExportResult{}, fmt.Errorf("export: HLS WebVTT: %w", err)
		}
		res.HLSText = len(texts)
	}
	if o.Copy {
		keys, err := ts2keys(periods, !dash)
		if err != nil {
			return ExportResult{}, fmt.Errorf("export: %w", err)
		}
		n, err := copyObjects(ctx, a.Store, out, keys)
		if err != nil {
			return ExportResult{}, err
		}
		res.Copied = n
	}
	in := manifest.VoDInput{
		Title:   fmt.Sprintf("%s %s/%s", o.Channel, o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339)),
		BaseURL: baseURL,
		Periods: periods,
		// --gaps split cuts the gaps out of the presentation, as the HLS
		// discontinuities do: each Period starts where the previous ends.
		Contiguous: mode == GapsSplit,
	}
	if evMode != EventsInband {
		in.SCTE35 = o.SCTE35
	}
	// Build everything before writing anything.
	var files []exportFile
	if dash {
		body, err := manifest.BuildVoD(in)
		if err != nil {
			return ExportResult{}, fmt.Errorf("export: %w", err)
		}
		files = append(files, exportFile{stem + ".mpd", body})
	}
	if hls {
		pls, err := manifest.BuildHLS(in, func(rep string) string { return path.Base(stem) + "-" + rep + ".m3u8" })
		if err != nil {
			return ExportResult{}, fmt.Errorf("export: %w", err)
		}
		dir := path.Dir(stem)
		for _, p := range pls {
			name := stem + ".m3u8"
			if p.Rep != "" {
				name = path.Join(dir, p.Name)
			}
			files = append(files, exportFile{name, p.Body})
		}
	}
	if err := putFiles(ctx, out, texts); err != nil {
		return ExportResult{}, err
	}
	if err := putManifests(ctx, out, stem, files); err != nil {
		return ExportResult{}, err
	}
	where := func(name string) (string, string) {
		u := displayURL(outDirURL, name)
		if dir, ok := out.LocalDir(); ok {
			p := filepath.Join(dir, filepath.FromSlash(name))
			return p, p
		}
		return u, ""
	}
	if dash {
		res.MPD, res.MPDPath = where(stem + ".mpd")
	}
	if hls {
		res.HLS, res.HLSPath = where(stem + ".m3u8")
	}
	t0 := ts[0].t
	res.Duration = KTime(pl.presented, t0).Sub(KTime(0, t0))
	return res, nil
}

type trackSegs struct {
	t    index.Track
	segs []expSeg
	// dirs are the media patterns of segments stored elsewhere than at
	// <ch>/<rep>/<K>.<ext>: a splice's replacements, under
	// <ch>/<rep>/splice-<id>/. dirOf maps the K of such a segment to 1 + the
	// index of its pattern (nil when there is none).
	dirs  []string
	dirOf map[int64]int
}

// addDir notes that segment g is stored at g.Key, not at its usual key:
// the directory of the key becomes a media pattern of its own, and the
// segments in it a Period of their own (an HLS discontinuity).
func (x *trackSegs) addDir(g index.Segment) error {
	dir, name := path.Split(g.Key)
	num, ext, _ := strings.Cut(name, ".")
	if dir == "" || num != strconv.FormatInt(g.K, 10) || ext == "" || strings.Contains(g.Key, "$") {
		return fmt.Errorf("%s K=%d is stored at %s, which a $Number$ template cannot address", x.t.Rep, g.K, g.Key)
	}
	pat := dir + "$Number$." + ext
	i := 0
	for i < len(x.dirs) && x.dirs[i] != pat {
		i++
	}
	if i == len(x.dirs) {
		x.dirs = append(x.dirs, pat)
	}
	if x.dirOf == nil {
		x.dirOf = map[int64]int{}
	}
	x.dirOf[g.K] = i + 1
	return nil
}

// plan is what an export presents, whatever the format: Periods (HLS
// discontinuity runs), each with every track's entries: archived
// segments, signalled gaps or fillers. The DASH and HLS writers both
// consume it, so gaps mean the same in both.
type plan struct {
	firstK, lastK int64 // the presentation's K range
	periods       []planPeriod
	missing       [][]int64 // GapsFill: per track, the Ks that get a filler
	omitted       int       // archived segments left out (GapsSignal: before firstK; GapsSplit: at gaps)
	presented     int64     // Ks in the Periods (GapsSplit: without the gaps cut out)
}

type planPeriod struct {
	startK int64
	tracks []planTrack
}

type planTrack struct {
	ti     int   // index into the export's tracks
	filler bool  // every entry is a filler (GapsFill); EPT and Duration are filled in later
	initID int64 // init of the archived segments
	dir    int   // their media pattern: 1 + index into the track's dirs; 0: <ch>/<rep>/$Number$.<ext>
	segs   []manifest.VoDSegment
}

// buildPlan lays out the Periods of an export. ts holds every track's
// archived segments in the range; cfg names the codec configuration of an
// init (equal names: interchangeable inits). The presentation spans from
// the first to the last K any track has. A new Period starts where a
// track's codec configuration changes (an encoder restart with new
// settings, requirement 53), and:
//   - GapsSignal: nowhere else; a K a track misses is a Gap entry of that
//     track, timed to join its neighbours.
//   - GapsSplit: after every run of Ks that some track misses; those Ks
//     are in no Period.
//   - GapsFill: where any track switches between archived segments and
//     fillers, so each filler run is its own Period with the slate's init.
func buildPlan(ts []trackSegs, mode GapMode, cfg func(ti int, initID int64) (string, error)) (plan, error) {
	pl := plan{firstK: math.MaxInt64, lastK: math.MinInt64, missing: make([][]int64, len(ts))}
	for _, x := range ts {
		pl.firstK = min(pl.firstK, x.segs[0].K)
		pl.lastK = max(pl.lastK, x.segs[len(x.segs)-1].K)
	}
	pos := make([]int, len(ts)) // next segment of each track
	if mode == GapsSignal {
		// The presentation starts at the first K every track has: players
		// do not start a presentation one of whose tracks begins with a gap
		// (hls.js waits for the data of a leading EXT-X-GAP, dash.js for
		// the track's first segment). What precedes it is left out.
		k, ok := firstCommonK(ts)
		if !ok {
			return plan{}, fmt.Errorf("no K from %d to %d has a segment of every track", pl.firstK, pl.lastK)
		}
		for ti, x := range ts {
			for pos[ti] < len(x.segs) && x.segs[pos[ti]].K < k {
				pos[ti]++
				pl.omitted++
			}
		}
		pl.firstK = k
	}
	last := make([]string, len(ts))  // configuration of the track's last segment
	state := make([]string, len(ts)) // GapsFill: what the track had at the previous K
	var cur *planPeriod
	closePeriod := func() {
		if cur != nil {
			pl.periods = append(pl.periods, *cur)
			cur = nil
		}
	}
	openPeriod := func(k int64) {
		closePeriod()
		cur = &planPeriod{startK: k, tracks: make([]planTrack, len(ts))}
		for ti := range ts {
			cur.tracks[ti].ti = ti
		}
	}
	present := make([]bool, len(ts))
	cfgs := make([]string, len(ts))
	for k := pl.firstK; k <= pl.lastK; k++ {
		all, changed := true, false
		for ti, x := range ts {
			present[ti] = pos[ti] < len(x.segs) && x.segs[pos[ti]].K == k
			if !present[ti] {
				all = false
				continue
			}
			c, err := cfg(ti, x.segs[pos[ti]].InitID)
			if err != nil {
				return plan{}, err
			}
			if d := x.dirOf[k]; d != 0 {
				c += "\x00" + x.dirs[d-1] // a splice's replacements: a Period of their own
			}
			cfgs[ti] = c
			if last[ti] != "" && last[ti] != c {
				changed = true
			}
			last[ti] = c
		}
		switch mode {
		case GapsSplit:
			if !all {
				closePeriod()
				for ti := range ts {
					if present[ti] {
						pl.omitted++
					}
				}
			} else if cur == nil || changed {
				openPeriod(k)
			}
		case GapsFill:
			switched := false
			for ti := range ts {
				s := "filler"
				if present[ti] {
					s = "archive:" + cfgs[ti]
				}
				if state[ti] != "" && state[ti] != s {
					switched = true
				}
				state[ti] = s
			}
			if cur == nil || switched {
				openPeriod(k)
			}
		default:
			if cur == nil || changed {
				openPeriod(k)
			}
		}
		if cur != nil {
			pl.presented++
		}
		for ti, x := range ts {
			if !present[ti] {
				switch {
				case mode == GapsFill:
					cur.tracks[ti].filler = true
					cur.tracks[ti].segs = append(cur.tracks[ti].segs, manifest.VoDSegment{K: k})
					pl.missing[ti] = append(pl.missing[ti], k)
				case mode == GapsSignal:
					cur.tracks[ti].segs = append(cur.tracks[ti].segs, gapEntry(x, pos[ti], k))
				}
				continue
			}
			s := x.segs[pos[ti]]
			pos[ti]++
			if cur == nil {
				continue // GapsSplit: a K some other track misses
			}
			pt := &cur.tracks[ti]
			if pt.initID == 0 {
				pt.initID = s.InitID
			}
			pt.dir = x.dirOf[s.K]
			pt.segs = append(pt.segs, manifest.VoDSegment{K: s.K, EPT: s.EPT, Duration: s.Duration})
		}
	}
	closePeriod()
	if len(pl.periods) == 0 {
		return plan{}, fmt.Errorf("no K from %d to %d has a segment of every track (--gaps split)", pl.firstK, pl.lastK)
	}
	if mode == GapsSplit {
		pl.firstK = pl.periods[0].startK
	}
	// A track with only gap entries in a Period decodes with its nearest init.
	for pi := range pl.periods {
		for ti := range pl.periods[pi].tracks {
			if pt := &pl.periods[pi].tracks[ti]; pt.initID == 0 && !pt.filler {
				pt.initID = nearestInit(ts[ti].segs, pl.periods[pi].startK)
			}
		}
	}
	return pl, nil
}

// firstCommonK is the first K for which every track has a segment.
func firstCommonK(ts []trackSegs) (int64, bool) {
	pos := make([]int, len(ts))
	k := int64(math.MinInt64)
	for {
		moved := false
		for ti, x := range ts {
			for pos[ti] < len(x.segs) && x.segs[pos[ti]].K < k {
				pos[ti]++
			}
			if pos[ti] == len(x.segs) {
				return 0, false
			}
			if x.segs[pos[ti]].K > k {
				k, moved = x.segs[pos[ti]].K, true
			}
		}
		if !moved {
			return k, true
		}
	}
}

// gapEntry is the Gap entry for K of a track whose next archived segment is
// segs[next]: it starts where the segment before it ends when that is K-1,
// else at K*D, and ends where the segment after it starts when that is K+1,
// else at (K+1)*D.
func gapEntry(x trackSegs, next int, k int64) manifest.VoDSegment {
	d := x.t.SegDur
	start, end := uint64(k)*d, uint64(k+1)*d
	if next > 0 && x.segs[next-1].K == k-1 {
		start = x.segs[next-1].EPT + x.segs[next-1].Duration
	}
	if next < len(x.segs) && x.segs[next].K == k+1 {
		end = x.segs[next].EPT
	}
	if end <= start {
		start, end = uint64(k)*d, uint64(k+1)*d
	}
	return manifest.VoDSegment{K: k, EPT: start, Duration: end - start, Gap: true}
}

// nearestInit is the init of the last segment before K, or of the first
// one after it.
func nearestInit(segs []expSeg, k int64) int64 {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].K >= k })
	if i > 0 {
		return segs[i-1].InitID
	}
	return segs[i].InitID
}

// inbandEvents are the event streams (from the index) that the track's
// stored segments segs carry.
func (a *Archive) inbandEvents(ctx context.Context, t index.Track, segs []manifest.VoDSegment) ([]manifest.InbandEvent, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	svs, err := a.DB.EventSchemes(ctx, t.ID, segs[0].K, segs[len(segs)-1].K)
	if err != nil {
		return nil, err
	}
	var out []manifest.InbandEvent
	for _, sv := range svs {
		out = append(out, manifest.InbandEvent{SchemeIDURI: sv.Scheme, Value: sv.Value})
	}
	return out, nil
}

// ts2keys lists the objects the Periods reference: inits and every
// segment that is not a gap. With hlsOnly, a track whose HLS playlist is
// of WebVTT text files (HLSTextPattern) references none.
func ts2keys(periods []manifest.VoDPeriod, hlsOnly bool) ([]string, error) {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, p := range periods {
		for ti := range p.Tracks {
			t := &p.Tracks[ti]
			if hlsOnly && t.HLSTextPattern != "" {
				continue
			}
			add(t.InitPath)
			for _, s := range t.Segments {
				if s.Gap {
					continue
				}
				k, err := manifest.MediaPath(t, s.K)
				if err != nil {
					return nil, err
				}
				add(k)
			}
		}
	}
	return keys, nil
}

// putManifests writes the playlists and the MPD of an export: the media
// playlists before the multivariant playlist and the MPD (stem.m3u8,
// stem.mpd), so that a player that finds a top-level manifest finds
// everything it names (LAYOUT.md, Read and write ordering).
func putManifests(ctx context.Context, out *cloud.Store, stem string, files []exportFile) error {
	top := func(f exportFile) bool { return f.name == stem+".mpd" || f.name == stem+".m3u8" }
	ordered := slices.Clone(files)
	slices.SortStableFunc(ordered, func(x, y exportFile) int {
		switch {
		case top(x) == top(y):
			return 0
		case top(x):
			return 1
		}
		return -1
	})
	for _, f := range ordered {
		if err := out.Put(ctx, f.name, f.body, nil); err != nil {
			return fmt.Errorf("export: write %s: %w", f.name, err)
		}
	}
	return nil
}

// copyObjects copies keys create-only, a few at a time: an object already
// at the destination (a rerun, or --out inside the archive itself) is left
// alone when its bytes are the same, and is an error when they differ.
// It returns how many objects it wrote.
func copyObjects(ctx context.Context, from, to *cloud.Store, keys []string) (int, error) {
	var n atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, k := range keys {
		g.Go(func() error {
			data, err := from.Get(gctx, k)
			if err != nil {
				return fmt.Errorf("export --copy: %w", err)
			}
			err = to.Create(gctx, k, data, nil)
			if errors.Is(err, cloud.ErrExists) {
				have, gerr := to.Get(gctx, k)
				if gerr != nil {
					return fmt.Errorf("export --copy: %w", gerr)
				}
				if !bytes.Equal(have, data) {
					return fmt.Errorf("export --copy: %s already exists at the destination with other content", k)
				}
				return nil
			}
			if err != nil {
				return fmt.Errorf("export --copy: %w", err)
			}
			n.Add(1)
			return nil
		})
	}
	err := g.Wait()
	return int(n.Load()), err
}

// splitOut splits an --out URL into the store URL of its directory and the
// name, without extension, the presentation files get in it ("x" for
// ".../x.mpd" or ".../x.m3u8", "manifest" for a directory).
func splitOut(out string) (dir, stem string, err error) {
	if out == "" {
		return "", "", errors.New("export: no --out URL")
	}
	u, err := url.Parse(out)
	if err != nil {
		return "", "", fmt.Errorf("export: --out %q: %w", out, err)
	}
	p := u.Path
	if u.Scheme == "file" && u.Host != "" { // file://./dir or file://dir
		p = u.Host + p
		u.Host = ""
	}
	switch ext := path.Ext(p); ext {
	case ".mpd", ".m3u8":
		stem = strings.TrimSuffix(path.Base(p), ext)
		p = path.Dir(p)
		if stem == "" {
			return "", "", fmt.Errorf("export: --out %q: empty file name", out)
		}
	default:
		stem = "manifest"
	}
	if u.Scheme == "file" {
		if !filepath.IsAbs(p) {
			abs, err := filepath.Abs(p)
			if err != nil {
				return "", "", err
			}
			p = filepath.ToSlash(abs)
		}
	} else if dir := strings.Trim(p, "/"); dir != "" && dir != "." {
		// s3://bucket/dir/x.mpd: the directory is a key prefix of the
		// bucket (below the URL's own prefix=, if any).
		q := u.Query()
		q.Set("prefix", q.Get("prefix")+dir+"/")
		u.RawQuery = q.Encode()
		p = ""
	} else {
		p = ""
	}
	u.Path = p
	return u.String(), stem, nil
}

// displayURL names object name of the store at dirURL (as splitOut made
// it) for people: scheme://bucket/prefix/name, without the store's options.
func displayURL(dirURL, name string) string {
	u, err := url.Parse(dirURL)
	if err != nil || u.Scheme == "file" {
		return strings.TrimSuffix(dirURL, "/") + "/" + name
	}
	return u.Scheme + "://" + u.Host + "/" + u.Query().Get("prefix") + name
}

// relativeBase is the BaseURL from the MPD's directory (the out store
// URL) to the archive's root, when that directory is in the archive's
// store.
func relativeBase(archive *cloud.Store, outURL string) (string, error) {
	if a, ok := archive.LocalDir(); ok {
		o, local, err := cloud.LocalDirOf(outURL)
		if err != nil {
			return "", fmt.Errorf("export: --out: %w", err)
		}
		if local && within(a, o) {
			rel, err := filepath.Rel(o, a)
			if err != nil {
				return "", fmt.Errorf("export: %w", err)
			}
			if rel == "." {
				return "", nil
			}
			return filepath.ToSlash(rel) + "/", nil
		}
	}
	au, _ := url.Parse(archive.URL())
	ou, _ := url.Parse(outURL)
	if au != nil && ou != nil && au.Scheme == ou.Scheme && au.Host == ou.Host && au.Scheme != "mem" && au.Scheme != "file" {
		ap, op := strings.Trim(au.Query().Get("prefix"), "/"), strings.Trim(ou.Query().Get("prefix"), "/")
		rel, err := filepath.Rel("/"+op, "/"+ap)
		if err == nil && within("/"+ap, "/"+op) {
			if rel == "." {
				return "", nil
			}
			return filepath.ToSlash(rel) + "/", nil
		}
	}
	return "", fmt.Errorf("export: --out %s is not in the archive's store %s: give --base-url with the URL the archive's objects are served from, or --copy", outURL, archive.URL())
}

// within reports whether dir is root or below it: a presentation there
// reaches the archive's objects through a relative BaseURL wherever the
// archive is served from.
func within(root, dir string) bool {
	rel, err := filepath.Rel(root, dir)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

func mimeType(t index.Track) string {
	if t.MimeType != "" {
		return t.MimeType
	}
	switch t.ContentType {
	case "video":
		return "video/mp4"
	case "audio":
		return "audio/mp4"
	}
	return "application/mp4"
}

// expSeg is what an export needs of an index row.
type expSeg struct {
	K        int64
	EPT      uint64
	Duration uint64
	Size     int64
	InitID   int64
}

// estimateBandwidth is the peak bits per second over the segments, for a
// track whose manifest and init did not signal one.
func estimateBandwidth(segs []expSeg, t index.Track) int {
	var peak float64
	for _, s := range segs {
		if s.Duration == 0 {
			continue
		}
		bps := float64(s.Size*8) * float64(t.Timescale) / float64(s.Duration)
		if bps > peak {
			peak = bps
		}
	}
	return int(peak)
}

// floorK is the index of the segment containing instant tm.
func floorK(tm time.Time, t index.Track) int64 {
	q, _ := divK(tm, t)
	return q
}

// ceilK is the smallest K whose start is at or after tm.
func ceilK(tm time.Time, t index.Track) int64 {
	q, exact := divK(tm, t)
	if !exact {
		q++
	}
	return q
}

// divK divides instant tm by the track's segment duration D exactly.
func divK(tm time.Time, t index.Track) (int64, bool) {
	num := new(big.Int).Mul(big.NewInt(tm.UnixNano()), big.NewInt(int64(t.Timescale)))
	den := new(big.Int).Mul(big.NewInt(int64(t.SegDur)), big.NewInt(int64(time.Second)))
	q, m := new(big.Int).DivMod(num, den, new(big.Int))
	return q.Int64(), m.Sign() == 0
}
