package export

import (
	"context"
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/manifest"
)

// VoD writes a static DASH presentation and/or an HLS presentation of a
// channel's range: it loads the range, plans it, makes the fillers,
// renders the manifests and writes them.
//
// A zero-copy presentation references the archive's objects in place, so
// unless o.Copy or o.NoHold it first writes a hold on the range (before it
// reads the index, LAYOUT.md "Holds"): prune keeps the objects as long as
// the hold is there. The hold's id is in the Result; if the export fails,
// the hold is released again.
func (d Deps) VoD(ctx context.Context, o Options) (Result, error) {
	c, err := checkOptions(ctx, o)
	if err != nil {
		return Result{}, err
	}
	holdID, err := d.hold(ctx, o)
	if err != nil {
		return Result{}, err
	}
	if err := d.checkNotExpiring(ctx, o, holdID); err != nil {
		d.releaseHold(ctx, o.Channel, holdID)
		return Result{}, err
	}
	res, err := d.vod(ctx, o, c)
	if err != nil {
		d.releaseHold(ctx, o.Channel, holdID)
		return Result{}, err
	}
	res.HoldID = holdID
	return res, nil
}

// hold writes the hold on o's range that a zero-copy export needs (none
// for a copy, nor with NoHold) and returns its id ("" for none).
func (d Deps) hold(ctx context.Context, o Options) (string, error) {
	if o.Copy || o.NoHold {
		return "", nil
	}
	r := holds.Request{Channel: o.Channel, From: o.From, To: o.To, Reason: HoldReason(o.Out)}
	rec, err := holds.Add(ctx, d.Store, r, d.now())
	if err != nil {
		return "", fmt.Errorf("export: hold on the range: %w", err)
	}
	d.log().Info("export: held the range", "channel", o.Channel, "hold", rec.ID, "from", rec.From, "to", rec.To)
	return rec.ID, nil
}

// ErrExpiring is the error of a zero-copy export whose range reaches into
// what prune has begun to delete.
var ErrExpiring = errors.New("range reaches before the archive's start")

// checkNotExpiring refuses, once a zero-copy export's hold is stored
// (holdID not ""), a range that reaches at or before the channel's newest
// expiry marker (LAYOUT.md, Holds): a prune that stored that marker may
// have read the holds before this hold was written, so the objects there
// may be going. A part another active hold contains entirely is kept by
// that hold (a legal hold, an earlier export) and may be exported.
func (d Deps) checkNotExpiring(ctx context.Context, o Options, holdID string) error {
	if holdID == "" {
		return nil
	}
	h, err := holds.Horizon(ctx, d.Store, o.Channel)
	if err != nil {
		return fmt.Errorf("export: the archive start of %s: %w", o.Channel, err)
	}
	if h.IsZero() || !o.From.Before(h) {
		return nil
	}
	end := o.To
	if h.Before(end) {
		end = h
	}
	active, err := holds.Active(ctx, d.Store, o.Channel, d.now())
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, r := range active {
		if r.ID != holdID && !o.From.Before(r.From) && !r.To.Before(end) {
			return nil
		}
	}
	return fmt.Errorf("export: %s from %s: %w %s (pruned up to there; export from %s on, or hold the range with holds add before the prune)",
		o.Channel, o.From.UTC().Format(time.RFC3339), ErrExpiring, h.UTC().Format(time.RFC3339), h.UTC().Format(time.RFC3339))
}

// HoldReason is the reason of the hold a zero-copy export to out writes.
func HoldReason(out string) string {
	return "export-vod zero-copy presentation " + out
}

// releaseHold releases the hold of a failed export, if it wrote one (even
// when ctx is cancelled: a failed export keeps nothing).
func (d Deps) releaseHold(ctx context.Context, channel, id string) {
	if id == "" {
		return
	}
	if err := holds.Release(context.WithoutCancel(ctx), d.Store, channel, id); err != nil {
		d.log().Error("export failed, and so did releasing its hold: release it by hand (holds release)", "channel", channel, "hold", id, "err", err)
	}
}

// vod is VoD after the checks and the hold.
func (d Deps) vod(ctx context.Context, o Options, c checked) (Result, error) {
	// The index rows, then the output (checked before any init is read),
	// then the inits.
	rep := newReporter(o.Progress)
	rep.set(StepPlan, 0, 0)
	l, err := d.loadRows(ctx, o.Channel, o.From, o.To)
	if err != nil {
		return Result{}, err
	}
	out, err := openOut(ctx, d.Store, o)
	if err != nil {
		return Result{}, err
	}
	defer out.store.Close()
	if err := l.checkNotEmpty(); err != nil {
		return Result{}, err
	}
	if err := d.loadInits(ctx, l); err != nil {
		return Result{}, err
	}
	p, err := l.Plan(c.mode)
	if err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	res := Result{Tracks: len(l.tracks), Gaps: l.Gaps, Omitted: p.Omitted()}
	fs, err := d.Fill(ctx, p, c.slate, &res)
	if err != nil {
		return Result{}, err
	}
	periods, err := d.Present(ctx, p, fs, c.formats, c.events, &res)
	if err != nil {
		return Result{}, err
	}
	if err := d.write(ctx, out, o, c, periods, rep, &res); err != nil {
		return Result{}, err
	}
	rep.finish()
	t0 := l.tracks[0].t
	res.Duration = t0.KTime(p.presented).Sub(t0.KTime(0))
	return res, nil
}

// checked are an export's Options, parsed.
type checked struct {
	mode    GapMode
	events  EventsMode
	formats Formats
	slate   *Slate // GapsFill only
}

// checkOptions parses and checks o, and loads its slate.
func checkOptions(ctx context.Context, o Options) (checked, error) {
	var c checked
	var err error
	if !o.To.After(o.From) {
		return c, fmt.Errorf("export: %w: end %s is not after start %s", ErrEmptyRange, o.To.Format(time.RFC3339), o.From.Format(time.RFC3339))
	}
	if c.mode, err = ParseGapMode(string(o.Gaps)); err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	if c.events, err = ParseEventsMode(string(o.Events)); err != nil {
		return c, fmt.Errorf("export: %w", err)
	}
	c.formats.DASH = len(o.Formats) == 0
	for _, f := range o.Formats {
		switch f {
		case FormatDASH:
			c.formats.DASH = true
		case FormatHLS:
			c.formats.HLS = true
		default:
			return c, fmt.Errorf("export: unknown format %q: want dash or hls", f)
		}
	}
	switch {
	case c.mode == GapsFill && o.Slate == "":
		return c, fmt.Errorf("export: %w", ErrFillNeedsSlate)
	case c.mode != GapsFill && o.Slate != "":
		return c, fmt.Errorf("export: %w", ErrSlateNeedsFill)
	case c.mode == GapsFill:
		if c.slate, err = LoadSlate(ctx, o.Slate); err != nil {
			return c, fmt.Errorf("export: %w", err)
		}
	}
	return c, nil
}

// output is where an export writes: the store of Out's directory, the
// name (without extension) of the presentation's files in it, and the
// BaseURL its manifests give.
type output struct {
	store   *cloud.Store
	dirURL  string
	stem    string
	baseURL string
}

// openOut opens the store of o.Out's directory and works out the
// presentation's BaseURL: o.BaseURL, the path from Out to the archive's
// objects, or "./" for a copy.
func openOut(ctx context.Context, archive *cloud.Store, o Options) (*output, error) {
	dirURL, stem, err := splitOut(o.Out)
	if err != nil {
		return nil, err
	}
	baseURL := o.BaseURL
	if !o.Copy && baseURL == "" {
		// Before the out store is opened (which makes its directory).
		if baseURL, err = relativeBase(archive, dirURL); err != nil {
			return nil, err
		}
	}
	st, err := cloud.OpenPlainFiles(ctx, dirURL)
	if err != nil {
		return nil, &OutError{Err: err}
	}
	if o.Copy {
		// The copies are beside the presentation. "./" rather than no
		// BaseURL: ffmpeg 5.1 resolves the segments of an MPD without one
		// against its path twice when that path is relative.
		baseURL = "./"
	}
	return &output{store: st, dirURL: dirURL, stem: stem, baseURL: baseURL}, nil
}

// write renders the presentation of periods and writes it to out: the
// copies first (Copy), then the HLS WebVTT files, then the manifests.
func (d Deps) write(ctx context.Context, out *output, o Options, c checked, periods []manifest.VoDPeriod, rep *reporter, res *Result) error {
	var texts []File // HLS WebVTT text files, written first
	if c.formats.HLS {
		if err := SetHLSText(periods, out.stem); err != nil {
			return fmt.Errorf("export: HLS: %w", err)
		}
		var err error
		if texts, err = d.webVTTFiles(ctx, periods, path.Dir(out.stem)); err != nil {
			return fmt.Errorf("export: HLS WebVTT: %w", err)
		}
		res.HLSText = len(texts)
	}
	if o.Copy {
		if err := d.copyAll(ctx, out.store, periods, !c.formats.DASH, rep, res); err != nil {
			return err
		}
	} else {
		rep.set(StepManifests, 0, 1)
	}
	in := manifest.VoDInput{
		Title:   Title(o.Channel, o.From, o.To),
		BaseURL: out.baseURL,
		Periods: periods,
		// GapsSplit cuts the gaps out of the presentation, as the HLS
		// discontinuities do: each Period starts where the previous ends.
		Contiguous: c.mode == GapsSplit,
	}
	if c.events != EventsInband {
		in.SCTE35 = o.SCTE35
	}
	// Build everything before writing anything.
	files, err := Render(in, out.stem, c.formats)
	if err != nil {
		return err
	}
	if err := putFiles(ctx, out.store, texts); err != nil {
		return err
	}
	if err := putManifests(ctx, out.store, out.stem, files); err != nil {
		return err
	}
	out.where(c.formats, res)
	return nil
}

// where fills in the result's names of the written manifests: local
// paths on a file store, else URLs.
func (out *output) where(f Formats, res *Result) {
	at := func(name string) (string, string) {
		u := displayURL(out.dirURL, name)
		if dir, ok := out.store.LocalDir(); ok {
			p := filepath.Join(dir, filepath.FromSlash(name))
			return p, p
		}
		return u, ""
	}
	if f.DASH {
		res.MPD, res.MPDPath = at(out.stem + ".mpd")
	}
	if f.HLS {
		res.HLS, res.HLSPath = at(out.stem + ".m3u8")
	}
}
