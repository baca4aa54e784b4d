package archive

import (
	"bytes"
	"sync/atomic"

	"context"
	"errors"
	"fmt"
	"golang.org/x/sync/errgroup"
	"math/big"
	"net/url"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/manifest"
)

// ExportOptions select what export-vod publishes and where.
type ExportOptions struct {
	Channel  string
	From, To time.Time // the range [From, To): every segment overlapping it
	// Out is where the MPD goes: a store URL ending in ".mpd" names the MPD
	// object itself; otherwise it is a directory and the MPD is
	// "manifest.mpd" in it.
	Out string
	// Copy writes a self-contained package (the MPD plus copies of every
	// referenced object) instead of referencing the archive in place.
	Copy bool
	// BaseURL is where the archive's objects are served from, for zero-copy
	// exports whose MPD is not in the archive's store.
	BaseURL string
}

// ExportResult says what was written.
type ExportResult struct {
	MPD      string // URL of the written MPD
	MPDPath  string // local path of the MPD for file stores
	Tracks   int
	Segments int
	Gaps     int
	Periods  int
	Copied   int
	Duration time.Duration
}

// ExportVoD writes a static DASH presentation of a channel's range.
func (a *Archive) ExportVoD(ctx context.Context, o ExportOptions) (ExportResult, error) {
	if !o.To.After(o.From) {
		return ExportResult{}, fmt.Errorf("export: empty range: --to %s is not after --from %s", o.To.Format(time.RFC3339), o.From.Format(time.RFC3339))
	}
	ch, err := a.DB.Channel(ctx, o.Channel)
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: channel %q: %w", o.Channel, err)
	}
	tracks, err := a.DB.Tracks(ctx, ch.ID)
	if err != nil {
		return ExportResult{}, err
	}
	outDirURL, mpdName, err := splitOut(o.Out)
	if err != nil {
		return ExportResult{}, err
	}
	out, err := cloud.Open(ctx, outDirURL)
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: --out: %w", err)
	}
	defer out.Close()
	baseURL := o.BaseURL
	if !o.Copy && baseURL == "" {
		if baseURL, err = relativeBase(a.Store, out); err != nil {
			return ExportResult{}, err
		}
	}
	if o.Copy {
		baseURL = ""
	}

	type trackSegs struct {
		t    index.Track
		segs []expSeg
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
		err := a.DB.ForEachSegment(ctx, t.ID, fromK, toK, func(g index.Segment) error {
			segs = append(segs, expSeg{K: g.K, EPT: g.EPT, Duration: g.Duration, Size: g.Size, InitID: g.InitID})
			return nil
		})
		if err != nil {
			return ExportResult{}, fmt.Errorf("export: %s: %w", t.Rep, err)
		}
		if len(segs) == 0 {
			continue
		}
		ts = append(ts, trackSegs{t, segs})
		res.Segments += len(segs)
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

	// A new Period wherever any track's codec configuration changes (an
	// encoder restart with new settings). Init versions that differ only in
	// bytes outside the sample description (creation times, say) are
	// interchangeable and share a Period.
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
	bounds := map[int64]bool{}
	for _, x := range ts {
		for i := 1; i < len(x.segs); i++ {
			if x.segs[i].InitID == x.segs[i-1].InitID {
				continue
			}
			prev, err := initOf(x.t.Rep, x.segs[i-1].InitID)
			if err != nil {
				return ExportResult{}, err
			}
			cur, err := initOf(x.t.Rep, x.segs[i].InitID)
			if err != nil {
				return ExportResult{}, err
			}
			if prev.ConfigHash != cur.ConfigHash || prev.ConfigHash == "" {
				bounds[x.segs[i].K] = true
			}
		}
	}
	starts := []int64{}
	for k := range bounds {
		starts = append(starts, k)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i] < starts[j] })

	var periods []manifest.VoDPeriod
	for pi := 0; pi <= len(starts); pi++ {
		lo, hi := int64(-1<<62), int64(1<<62)
		if pi > 0 {
			lo = starts[pi-1]
		}
		if pi < len(starts) {
			hi = starts[pi]
		}
		var p manifest.VoDPeriod
		if pi > 0 {
			k := lo
			p.StartK = &k
		}
		for _, x := range ts {
			var vs []manifest.VoDSegment
			var initID int64
			for _, s := range x.segs {
				if s.K < lo || s.K >= hi {
					continue
				}
				if initID == 0 {
					initID = s.InitID
				}
				vs = append(vs, manifest.VoDSegment{K: s.K, EPT: s.EPT, Duration: s.Duration})
			}
			if len(vs) == 0 {
				continue
			}
			in, err := initOf(x.t.Rep, initID)
			if err != nil {
				return ExportResult{}, err
			}
			t := x.t
			vt := manifest.VoDTrack{Rep: t.Rep, ContentType: t.ContentType, MimeType: mimeType(t), Codecs: t.Codecs, Lang: t.Lang,
				Bandwidth: t.Bandwidth, Width: t.Width, Height: t.Height, FrameRate: t.FrameRate, SampleRate: t.SampleRate,
				Channels: t.Channels, Timescale: t.Timescale, SegDur: t.SegDur, InitPath: in.Key,
				MediaPattern: ch.Name + "/" + t.Rep + "/$Number$." + t.Ext, Segments: vs}
			if t.Roles != "" {
				vt.Roles = strings.Split(t.Roles, ",")
			}
			if vt.Bandwidth == 0 {
				vt.Bandwidth = estimateBandwidth(x.segs, t)
			}
			p.Tracks = append(p.Tracks, vt)
		}
		if len(p.Tracks) > 0 {
			periods = append(periods, p)
		}
	}
	res.Periods = len(periods)
	if o.Copy {
		n, err := copyObjects(ctx, a.Store, out, ts2keys(periods))
		if err != nil {
			return ExportResult{}, err
		}
		res.Copied = n
	}
	body, err := manifest.BuildVoD(manifest.VoDInput{
		Title:   fmt.Sprintf("%s %s/%s", o.Channel, o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339)),
		BaseURL: baseURL,
		Periods: periods,
	})
	if err != nil {
		return ExportResult{}, fmt.Errorf("export: %w", err)
	}
	if err := out.Put(ctx, mpdName, body, nil); err != nil {
		return ExportResult{}, fmt.Errorf("export: write MPD: %w", err)
	}
	res.MPD = strings.TrimSuffix(outDirURL, "/") + "/" + mpdName
	if dir, ok := out.LocalDir(); ok {
		res.MPDPath = filepath.Join(dir, filepath.FromSlash(mpdName))
		res.MPD = res.MPDPath
	}
	first, last := ts[0].segs[0], ts[0].segs[len(ts[0].segs)-1]
	res.Duration = KTime(last.K+1, ts[0].t).Sub(KTime(first.K, ts[0].t))
	return res, nil
}

func ts2keys(periods []manifest.VoDPeriod) []string {
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, p := range periods {
		for _, t := range p.Tracks {
			add(t.InitPath)
			for _, s := range t.Segments {
				add(strings.Replace(t.MediaPattern, "$Number$", fmt.Sprint(s.K), 1))
			}
		}
	}
	return keys
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
// MPD key within it.
func splitOut(out string) (dir, name string, err error) {
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
	if strings.HasSuffix(p, ".mpd") {
		name = path.Base(p)
		p = path.Dir(p)
	} else {
		name = "manifest.mpd"
	}
	if u.Scheme == "file" {
		if !filepath.IsAbs(p) {
			abs, err := filepath.Abs(p)
			if err != nil {
				return "", "", err
			}
			p = filepath.ToSlash(abs)
		}
	}
	u.Path = p
	return u.String(), name, nil
}

// relativeBase is the BaseURL from the MPD's directory (the out store) to
// the archive's root, when both are on the same file system or bucket.
func relativeBase(archive, out *cloud.Store) (string, error) {
	if a, ok := archive.LocalDir(); ok {
		if o, ok := out.LocalDir(); ok {
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
	ou, _ := url.Parse(out.URL())
	if au != nil && ou != nil && au.Scheme == ou.Scheme && au.Host == ou.Host && au.Scheme != "mem" {
		ap, op := strings.Trim(au.Query().Get("prefix"), "/"), strings.Trim(ou.Query().Get("prefix"), "/")
		rel, err := filepath.Rel("/"+op, "/"+ap)
		if err == nil {
			if rel == "." {
				return "", nil
			}
			return filepath.ToSlash(rel) + "/", nil
		}
	}
	return "", fmt.Errorf("export: --out %s is not in the archive's store %s: give --base-url with the URL the archive's objects are served from, or --copy", out.URL(), archive.URL())
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
