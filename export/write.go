package export

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// Formats are the formats an export renders.
type Formats struct{ DASH, HLS bool }

// File is a file an export writes: its name relative to the
// presentation's directory, and its bytes.
type File struct {
	Name string
	Body []byte
}

// Render builds the manifests of in without writing them: stem.mpd
// (DASH) and stem.m3u8 with a media playlist <stem>-<rep>.m3u8 per track
// beside it (HLS). It reads nothing: a caller that serves the manifests
// (rather than storing them) calls it directly.
func Render(in manifest.VoDInput, stem string, f Formats) ([]File, error) {
	var files []File
	if f.DASH {
		body, err := manifest.BuildVoD(in)
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		files = append(files, File{stem + ".mpd", body})
	}
	if f.HLS {
		pls, err := manifest.BuildHLS(in, func(rep string) string { return path.Base(stem) + "-" + rep + ".m3u8" })
		if err != nil {
			return nil, fmt.Errorf("export: %w", err)
		}
		dir := path.Dir(stem)
		for _, p := range pls {
			name := stem + ".m3u8"
			if p.Rep != "" {
				name = path.Join(dir, p.Name)
			}
			files = append(files, File{name, p.Body})
		}
	}
	return files, nil
}

// presenter turns a plan into manifest Periods.
type presenter struct {
	d       Deps
	p       *Plan
	fills   Fills
	formats Formats
	events  EventsMode
	drm     *exportDRM
	res     *Result
	// spans are the event schemes the channel's tracks carry over the
	// plan's K range, by track ID (read once, by schemeSpans).
	spans      map[int64][]index.SchemeSpan
	exactReads int // inbandEvents that read a track's events
}

// Present turns plan p into the Periods the manifests present: each
// track's entries with its init, media pattern, protection (DRM) and
// inband event streams; fs are the fillers of a GapsFill plan (Fill). A
// track HLS has no place for is left out of an HLS-only export. It counts
// what it presents in res (Segments, Tracks, HLSLeftOut).
func (d Deps) Present(ctx context.Context, p *Plan, fs Fills, f Formats, events EventsMode, res *Result) ([]manifest.VoDPeriod, error) {
	w := &presenter{d: d, p: p, fills: fs, formats: f, events: events, drm: &exportDRM{d: d, channel: p.loaded.Channel.Name}, res: res}
	var periods []manifest.VoDPeriod
	for _, pp := range p.periods {
		k := pp.startK
		vp := manifest.VoDPeriod{StartK: &k}
		for _, ptr := range pp.tracks {
			vt, ok, err := w.track(ctx, ptr)
			if err != nil {
				return nil, err
			}
			if ok {
				vp.Tracks = append(vp.Tracks, vt)
			}
		}
		periods = append(periods, vp)
	}
	res.Periods = len(periods)
	return periods, nil
}

// track is the manifest track of one track's entries in a Period; false
// when the export leaves it out.
func (w *presenter) track(ctx context.Context, ptr planTrack) (manifest.VoDTrack, bool, error) {
	x := w.p.loaded.tracks[ptr.ti]
	t := x.t
	if w.formats.HLS && !manifest.InHLS(t.ContentType) {
		w.leaveOutOfHLS(t)
		if !w.formats.DASH {
			return manifest.VoDTrack{}, false, nil // not referenced, not copied
		}
	}
	vt := vodTrack(w.p.loaded.Channel.Name, x, ptr.segs)
	if ptr.filler {
		return vt, true, w.fillerTrack(&vt, ptr)
	}
	return vt, true, w.archivedTrack(ctx, &vt, x, ptr)
}

// leaveOutOfHLS notes (once) that HLS has no place for track t.
func (w *presenter) leaveOutOfHLS(t index.Track) {
	if slices.Contains(w.res.HLSLeftOut, t.Rep) {
		return
	}
	w.res.HLSLeftOut = append(w.res.HLSLeftOut, t.Rep)
	w.d.log().Info("export: track left out of HLS, which has no place for it", "channel", w.p.loaded.Channel.Name, "rep", t.Rep, "content_type", t.ContentType, "codecs", t.Codecs)
	if !w.formats.DASH {
		w.res.Tracks-- // an HLS-only export has no place for it
	}
}

// vodTrack is the manifest track of x with entries segs, as the index
// describes it.
func vodTrack(channel string, x trackSegs, segs []manifest.VoDSegment) manifest.VoDTrack {
	t := x.t
	vt := manifest.VoDTrack{Rep: t.Rep, ContentType: t.ContentType, MimeType: mimeType(t), Codecs: t.Codecs, Lang: t.Lang, Label: t.Label,
		Bandwidth: t.Bandwidth, Width: t.Width, Height: t.Height, FrameRate: t.FrameRate, SampleRate: t.SampleRate,
		Channels: t.Channels, Timescale: t.Timescale, SegDur: t.SegDur,
		MediaPattern: channel + "/" + t.Rep + "/$Number$." + t.Ext, Segments: segs}
	if t.Roles != "" {
		vt.Roles = strings.Split(t.Roles, ",")
	}
	if vt.Bandwidth == 0 {
		vt.Bandwidth = estimateBandwidth(x.segs, t)
	}
	return vt
}

// fillerTrack makes vt a run of fillers: their timing, init and media
// pattern, and the slate's codecs and size.
func (w *presenter) fillerTrack(vt *manifest.VoDTrack, ptr planTrack) error {
	f := w.fills[ptr.ti]
	for i := range vt.Segments {
		fl, ok := f.byK[vt.Segments[i].K]
		if !ok {
			return fmt.Errorf("export: %s: no filler for K=%d", vt.Rep, vt.Segments[i].K)
		}
		vt.Segments[i].EPT, vt.Segments[i].Duration = fl.EPT, fl.Duration
	}
	t := w.p.loaded.tracks[ptr.ti].t
	vt.InitPath = f.initKey
	vt.MediaPattern = layout.FillerPattern(w.p.loaded.Channel.Name, t.Rep, f.st.id, t.Ext)
	if in := f.st.info; in.Codecs != "" {
		vt.Codecs = in.Codecs
		if in.Width > 0 {
			vt.Width, vt.Height = in.Width, in.Height
		}
	}
	return nil
}

// archivedTrack gives vt, a run of archived segments (and gaps), its init,
// protection, media pattern and inband event streams.
func (w *presenter) archivedTrack(ctx context.Context, vt *manifest.VoDTrack, x trackSegs, ptr planTrack) error {
	in, ok := w.p.loaded.inits[ptr.initID]
	if !ok {
		return fmt.Errorf("export: %s: init %d not loaded", vt.Rep, ptr.initID)
	}
	vt.InitPath = in.Key
	var err error
	if vt.Protection, err = w.drm.protection(ctx, vt.Rep, w.p.loaded.infos[ptr.initID]); err != nil {
		return fmt.Errorf("export: %s: %w", vt.Rep, err)
	}
	if ptr.dir != 0 {
		vt.MediaPattern = x.dirs[ptr.dir-1]
	}
	if w.events != EventsStream {
		if vt.InbandEvents, err = w.inbandEvents(ctx, x.t, vt.Segments); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	for _, s := range vt.Segments {
		if !s.Gap {
			w.res.Segments += 1 + int(s.Repeat)
		}
	}
	return nil
}

// copyAll copies every object periods reference to out (Copy); hlsOnly
// leaves out the segments of tracks HLS presents as WebVTT text.
// Each object copied advances rep, whose total is the objects and the
// manifests.
func (d Deps) copyAll(ctx context.Context, out *cloud.Store, periods []manifest.VoDPeriod, hlsOnly bool, rep *reporter, res *Result) error {
	keys, err := ts2keys(periods, hlsOnly)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	rep.set(StepCopy, 0, len(keys)+1)
	n, err := copyObjects(ctx, d.Store, out, keys, rep.advance)
	if err != nil {
		return err
	}
	rep.set(StepManifests, len(keys), len(keys)+1)
	res.Copied = n
	return nil
}

// inbandEvents is Deps.inbandEvents answered from the spans of the event
// schemes over the whole plan, one query for every track and Period: a
// scheme whose span misses segs' K range is not carried there, one whose
// first or last K is in the range is; only when a span starts before the
// range and ends after it are the track's events there read
// (Deps.inbandEvents; counted in exactReads).
func (w *presenter) inbandEvents(ctx context.Context, t index.Track, segs []manifest.VoDSegment) ([]manifest.InbandEvent, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	from, to := segs[0].K, segs[len(segs)-1].LastK()
	if from < w.p.firstK || to > w.p.lastK {
		w.exactReads++
		return w.d.inbandEvents(ctx, t, segs)
	}
	if err := w.schemeSpans(ctx); err != nil {
		return nil, err
	}
	var out []manifest.InbandEvent
	for _, s := range w.spans[t.ID] {
		switch {
		case s.ToK < from || s.FromK > to:
		case s.FromK >= from || s.ToK <= to:
			out = append(out, manifest.InbandEvent{SchemeIDURI: s.Scheme, Value: s.Value})
		default:
			w.exactReads++
			return w.d.inbandEvents(ctx, t, segs)
		}
	}
	return out, nil
}

// schemeSpans reads, once, the spans of the event schemes of the channel's
// tracks over the plan's K range.
func (w *presenter) schemeSpans(ctx context.Context) error {
	if w.spans != nil {
		return nil
	}
	list, err := w.d.DB.EventSchemeSpans(ctx, w.p.loaded.Channel.ID, w.p.firstK, w.p.lastK)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	w.spans = map[int64][]index.SchemeSpan{}
	for _, s := range list {
		w.spans[s.TrackID] = append(w.spans[s.TrackID], s)
	}
	return nil
}

// inbandEvents are the event streams (from the index) that the track's
// stored segments segs carry.
func (d Deps) inbandEvents(ctx context.Context, t index.Track, segs []manifest.VoDSegment) ([]manifest.InbandEvent, error) {
	if len(segs) == 0 {
		return nil, nil
	}
	svs, err := d.DB.EventSchemes(ctx, t.ID, segs[0].K, segs[len(segs)-1].LastK())
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
func putManifests(ctx context.Context, out *cloud.Store, stem string, files []File) error {
	top := func(f File) bool { return f.Name == stem+".mpd" || f.Name == stem+".m3u8" }
	ordered := slices.Clone(files)
	slices.SortStableFunc(ordered, func(x, y File) int {
		switch {
		case top(x) == top(y):
			return 0
		case top(x):
			return 1
		}
		return -1
	})
	for _, f := range ordered {
		if err := out.Put(ctx, f.Name, f.Body, nil); err != nil {
			return fmt.Errorf("export: write %s: %w", f.Name, err)
		}
	}
	return nil
}

// copyObjects copies keys create-only, a few at a time: an object already
// at the destination (a rerun, or Out inside the archive itself) is left
// alone when its bytes are the same, and is an error when they differ.
// It returns how many objects it wrote; done is called after each
// object (written or found identical).
func copyObjects(ctx context.Context, from, to *cloud.Store, keys []string, done func()) (int, error) {
	var n atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, k := range keys {
		g.Go(func() error {
			data, err := from.Get(gctx, k)
			if err != nil {
				return &CopyError{Err: err}
			}
			err = to.Create(gctx, k, data, nil)
			if errors.Is(err, cloud.ErrExists) {
				have, gerr := to.Get(gctx, k)
				if gerr != nil {
					return &CopyError{Err: gerr}
				}
				if !bytes.Equal(have, data) {
					return &CopyError{Err: fmt.Errorf("%s already exists at the destination with other content", k)}
				}
				done()
				return nil
			}
			if err != nil {
				return &CopyError{Err: err}
			}
			n.Add(1)
			done()
			return nil
		})
	}
	err := g.Wait()
	return int(n.Load()), err
}

// splitOut splits an Out URL into the store URL of its directory and the
// name, without extension, the presentation files get in it ("x" for
// ".../x.mpd" or ".../x.m3u8", "manifest" for a directory).
func splitOut(out string) (dir, stem string, err error) {
	if out == "" {
		return "", "", fmt.Errorf("export: %w", ErrNoOut)
	}
	u, err := url.Parse(out)
	if err != nil {
		return "", "", &OutError{Out: out, Err: err}
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
			return "", "", &OutError{Out: out, Err: errors.New("empty file name")}
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
			return "", &OutError{Err: err}
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
	return "", &OutsideStoreError{Out: outURL, Store: archive.URL()}
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
