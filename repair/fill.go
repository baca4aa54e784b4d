package repair

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// Errors a Filler wraps to say why it cannot deliver a segment.
var (
	// ErrUnavailable: the source does not have the segment (it answered
	// 404/410, the segment is outside its time-shift window or timeline, it
	// has no such Representation or object). The K stays missing.
	ErrUnavailable = errors.New("source does not have it")
	// ErrMismatch: what the source has cannot be a segment of the track
	// (another segment duration, codec configuration or timing). The K is
	// rejected.
	ErrMismatch = errors.New("does not match the track")
)

// Want is one segment a repair asks a Filler for.
type Want struct {
	Channel string
	Track   index.Track
	K       int64
	// InitHashes are the full SHA-256 of the track's init segments in this
	// archive, newest first: a filler that cannot tell which init a segment
	// decodes with may look for these.
	InitHashes []string
}

// Fetched is a segment as a Filler got it.
type Fetched struct {
	Data []byte // the media segment
	Init []byte // the init segment it decodes with
	From string // where it came from: a URL or a store key
}

// A Filler is a source a repair fetches missing segments from.
type Filler interface {
	// Name is the source name the repair's deliveries are recorded under
	// in the index and the reap-source attribute of what it stores.
	Name() string
	// URL says where the source is (printed and indexed; no credentials).
	URL() string
	// Locate returns where segment w would be fetched from, without
	// fetching it. Errors wrap ErrUnavailable or ErrMismatch when the
	// source cannot deliver a usable copy.
	Locate(ctx context.Context, w Want) (string, error)
	// Fetch gets segment w and the init segment it decodes with; errors
	// as for Locate.
	Fetch(ctx context.Context, w Want) (Fetched, error)
}

// DefaultParallel is how many segments Fill fetches at once by default.
const DefaultParallel = 8

// Options configure Fill.
type Options struct {
	Channel  string
	From, To time.Time // the wall-clock range [From, To); zero: open
	Parallel int       // segments fetched at once (default DefaultParallel)
	DryRun   bool      // locate only: fetch no segment, write nothing
	Log      *slog.Logger
}

// Item is one segment (rep, K) of a repair and what became of it.
type Item struct {
	Rep  string    `json:"rep"`
	K    int64     `json:"k"`
	Time time.Time `json:"time"` // wall-clock start, K*D
	// From is the URL or store key the segment was (dry run: would be)
	// fetched from.
	From string `json:"from,omitempty"`
	// Outcome of a filled K: "stored", or "duplicate" / "conflict" when
	// another writer stored K meanwhile (the gap is closed either way).
	Outcome string `json:"outcome,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Report says what a repair did.
type Report struct {
	Channel    string `json:"channel"`
	Source     string `json:"source"`      // the Filler's URL
	SourceName string `json:"source_name"` // the name its deliveries are recorded under
	DryRun     bool   `json:"dry_run"`
	Gaps       []Gap  `json:"gaps"`    // the gaps it set out to fill
	Wanted     int64  `json:"wanted"`  // missing segments in them
	Planned    []Item `json:"planned"` // dry run: what it would fetch
	Filled     []Item `json:"filled"`
	Missing    []Item `json:"missing"`  // the source does not have them: still gaps
	Rejected   []Item `json:"rejected"` // the source's copy does not fit the track: still gaps
}

// Complete reports whether nothing the repair set out to fill is left.
func (r *Report) Complete() bool { return len(r.Missing) == 0 && len(r.Rejected) == 0 }

// job is one K to fill.
type job struct {
	gap *gapRef
	k   int64
	i   int // position in the report order
}

// gapRef is a gap with what the fills of its K are checked against.
type gapRef struct {
	Gap
	prev, next index.Segment // the stored neighbours K = From-1 and To+1
	hasPrev    bool
	hasNext    bool
	refInit    *cmaf.InitInfo // the track's init around the gap (nil: unknown)
	offset     int64          // EPT − K·D·T of the nearest neighbour
	hasOffset  bool
	initHashes []string
}

type result struct {
	item  Item
	class int // classFilled, …
}

const (
	classFilled = iota
	classMissing
	classRejected
	classPlanned
)

// Fill fills the channel's gaps in [o.From, o.To) from f: it fetches every
// missing K (o.Parallel at a time), checks that the copy fits the track
// (the codec configuration of the init around the gap, K, EPT and duration
// on the epoch grid within one sample, contiguous with the stored
// neighbours) and stores it create-only through archive.OfferSegment, under
// the source name f.Name(). What the source does not have stays missing;
// what does not fit is rejected with the reason; both are recorded as
// deliveries of f.Name(). Rerunning it is harmless: filled K are no longer
// gaps. With o.DryRun it only locates the segments: nothing is fetched
// (beyond what f needed to open) or written.
//
// The error is for failures of the archive itself (store, index) or a
// cancelled ctx; the report says what happened to every K.
func Fill(ctx context.Context, a *archive.Archive, f Filler, o Options) (*Report, error) {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Log == nil {
		o.Log = a.Log
	}
	gaps, err := Find(ctx, a.DB, o.Channel, o.From, o.To)
	if err != nil {
		return nil, err
	}
	rep := &Report{Channel: o.Channel, Source: f.URL(), SourceName: f.Name(), DryRun: o.DryRun, Gaps: gaps,
		Planned: []Item{}, Filled: []Item{}, Missing: []Item{}, Rejected: []Item{}}
	var jobs []job
	rf := &refs{a: a, inits: map[int64][]index.Init{}, infos: map[int64]*cmaf.InitInfo{}}
	for i := range gaps {
		g, err := rf.reference(ctx, gaps[i])
		if err != nil {
			return nil, err
		}
		rep.Wanted += g.Segments
		for k := g.From; k <= g.To; k++ {
			jobs = append(jobs, job{gap: g, k: k, i: len(jobs)})
		}
	}
	if len(jobs) == 0 {
		return rep, nil
	}
	r := &run{a: a, f: f, o: o, locks: map[string]*repLock{}}
	if !o.DryRun {
		if r.ch, err = a.OpenChannel(ctx, o.Channel, 0); err != nil {
			return nil, err
		}
		if r.src, err = r.ch.Source(ctx, f.Name(), f.URL()); err != nil {
			return nil, err
		}
	}
	results := make([]result, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Parallel)
	for _, j := range jobs {
		g.Go(func() error {
			res, err := r.one(gctx, j)
			results[j.i] = res
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, res := range results {
		switch res.class {
		case classFilled:
			rep.Filled = append(rep.Filled, res.item)
		case classMissing:
			rep.Missing = append(rep.Missing, res.item)
		case classRejected:
			rep.Rejected = append(rep.Rejected, res.item)
		case classPlanned:
			rep.Planned = append(rep.Planned, res.item)
		}
	}
	o.Log.Info("repair done", "channel", o.Channel, "source", f.Name(), "url", f.URL(), "dry_run", o.DryRun,
		"wanted", rep.Wanted, "filled", len(rep.Filled), "planned", len(rep.Planned), "missing", len(rep.Missing), "rejected", len(rep.Rejected))
	return rep, nil
}

// refs looks up what the fills of a gap are checked against, caching the
// tracks' init versions and parsed inits across gaps.
type refs struct {
	a     *archive.Archive
	inits map[int64][]index.Init   // by track ID, oldest first
	infos map[int64]*cmaf.InitInfo // by init ID
}

// reference returns the gap with its stored neighbours, their timing and
// the codec configuration of their init (else of the track's newest init).
func (rf *refs) reference(ctx context.Context, g Gap) (*gapRef, error) {
	t := g.track
	r := &gapRef{Gap: g}
	db := rf.a.DB
	var err error
	if r.prev, r.hasPrev, err = db.Segment(ctx, t.ID, g.From-1); err != nil {
		return nil, err
	}
	if r.next, r.hasNext, err = db.Segment(ctx, t.ID, g.To+1); err != nil {
		return nil, err
	}
	switch {
	case r.hasPrev:
		r.offset, r.hasOffset = t.GridOffset(r.prev.EPT, r.prev.K), true
	case r.hasNext:
		r.offset, r.hasOffset = t.GridOffset(r.next.EPT, r.next.K), true
	}
	inits, ok := rf.inits[t.ID]
	if !ok {
		if inits, err = db.Inits(ctx, t.ID); err != nil {
			return nil, err
		}
		rf.inits[t.ID] = inits
	}
	for i := len(inits) - 1; i >= 0; i-- {
		r.initHashes = append(r.initHashes, inits[i].Hash)
	}
	var ref *index.Init
	for _, id := range []int64{r.prev.InitID, r.next.InitID} {
		for i := range inits {
			if id != 0 && inits[i].ID == id {
				ref = &inits[i]
				break
			}
		}
		if ref != nil {
			break
		}
	}
	if ref == nil && len(inits) > 0 {
		ref = &inits[len(inits)-1]
	}
	if ref == nil || ref.Key == "" {
		return r, nil
	}
	if info, ok := rf.infos[ref.ID]; ok {
		r.refInit = info
		return r, nil
	}
	data, err := rf.a.Store.Get(ctx, ref.Key)
	if err != nil {
		return nil, fmt.Errorf("track %s: reading its init segment: %w", t.Rep, err)
	}
	if r.refInit, err = cmaf.ParseInit(data); err != nil {
		return nil, fmt.Errorf("track %s: its init segment %s: %w", t.Rep, ref.Key, err)
	}
	rf.infos[ref.ID] = r.refInit
	return r, nil
}

// run is one Fill.
type run struct {
	a   *archive.Archive
	f   Filler
	o   Options
	ch  *archive.Channel
	src index.SourceRow

	initCache

	mu    sync.Mutex
	locks map[string]*repLock // by rep
}

// repLock serialises changes of the repair source's current init for one
// rep (OfferSegment decodes with the source's current init) while letting
// segments with the current init be offered concurrently.
type repLock struct {
	sync.RWMutex
	cur string // sha256 of the init that is the source's current one
}

type parsedInit struct {
	once sync.Once
	info *cmaf.InitInfo
	err  error
}

// one fills K j.k of a gap: it fetches the segment from the Filler (with
// DryRun, only locates it), checks that it fits the track and offers it.
func (r *run) one(ctx context.Context, j job) (result, error) {
	g := j.gap
	t := g.track
	it := Item{Rep: t.Rep, K: j.k, Time: t.KTime(j.k)}
	w := Want{Channel: g.Channel, Track: t, K: j.k, InitHashes: g.initHashes}
	if r.o.DryRun {
		return r.locate(ctx, it, w)
	}
	got, err := r.f.Fetch(ctx, w)
	it.From = got.From
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return result{}, ctx.Err()
	case errors.Is(err, ErrMismatch):
		return r.reject(ctx, it, t, nil, err.Error())
	default:
		it.Reason = err.Error()
		r.o.Log.Debug("segment still missing", "rep", t.Rep, "k", j.k, "source", r.f.Name(), "reason", it.Reason)
		if err := r.ch.RecordMissing(ctx, r.f.Name(), t.Rep, j.k, it.Reason); err != nil {
			return result{}, err
		}
		return result{it, classMissing}, nil
	}
	in, err := r.parseInit(got.Init)
	if err != nil {
		return r.reject(ctx, it, t, nil, fmt.Sprintf("its init segment is not valid: %v", err))
	}
	if reason := checkConfig(g, in); reason != "" {
		return r.reject(ctx, it, t, nil, reason)
	}
	info, err := cmaf.ParseSegment(got.Data, in)
	if err != nil {
		return r.reject(ctx, it, t, nil, fmt.Sprintf("not a valid segment of the track: %v", err))
	}
	if reason := checkTiming(g, j.k, info); reason != "" {
		return r.reject(ctx, it, t, info, reason)
	}
	if info.Filler && g.Kind == KindFiller {
		return r.reject(ctx, it, t, info, "the source's copy is an encoder filler too (styp brand slat)")
	}
	return r.store(ctx, it, t, j.k, in, got)
}

// locate is one K of a dry run: where the Filler has it, or why not.
func (r *run) locate(ctx context.Context, it Item, w Want) (result, error) {
	where, err := r.f.Locate(ctx, w)
	it.From = where
	switch {
	case err == nil:
		return result{it, classPlanned}, nil
	case ctx.Err() != nil:
		return result{}, ctx.Err()
	case errors.Is(err, ErrMismatch):
		it.Reason = err.Error()
		return result{it, classRejected}, nil
	default:
		it.Reason = err.Error()
		return result{it, classMissing}, nil
	}
}

// store offers the fetched segment K of t, which fits the track (in is
// its init), as the repair source's delivery.
func (r *run) store(ctx context.Context, it Item, t index.Track, k int64, in *cmaf.InitInfo, got Fetched) (result, error) {
	res, err := r.offer(ctx, t.Rep, k, in, got)
	switch {
	case err == nil:
	case errors.Is(err, archive.ErrInvalid) || errors.Is(err, archive.ErrInitMismatch):
		// OfferSegment recorded the rejected delivery itself.
		it.Reason = res.Detail
		if it.Reason == "" {
			it.Reason = err.Error()
		}
		r.o.Log.Debug("segment rejected", "rep", t.Rep, "k", k, "source", r.f.Name(), "reason", it.Reason)
		return result{it, classRejected}, nil
	default:
		return result{}, err
	}
	if res.Outcome != index.Stored {
		// An object was there already: another recorder stored K
		// meanwhile, or a corrupt object occupies the key (verify
		// --read-data --repair-index dropped its row, which made K a gap).
		// Create-only writes never replace it, so look at its bytes.
		note, err := r.replaceCorrupt(ctx, t, k, res)
		if err != nil {
			return result{}, err
		}
		if note != "" {
			if res, err = r.offer(ctx, t.Rep, k, in, got); err != nil {
				return result{}, err
			}
			it.Reason = note
		}
	}
	it.Outcome = string(res.Outcome)
	if res.Outcome != index.Stored {
		it.Reason = "already stored meanwhile"
		if res.Detail != "" {
			it.Reason += ": " + res.Detail
		}
	}
	r.o.Log.Debug("segment filled", "rep", t.Rep, "k", k, "source", r.f.Name(), "key", res.Key, "outcome", res.Outcome)
	return result{it, classFilled}, nil
}

// replaceCorrupt checks the object that holds K of t, which OfferSegment
// found in place and indexed from its attributes: if its bytes do not hash
// to what they say (its reap-sha256), it is corrupt, not a segment anyone
// stored: its bytes are kept at the track's quarantine key
// (LAYOUT.md), the object and its row are removed, and a note for the
// report is returned, so that the caller can store the repair source's copy.
// "" means the object is sound.
func (r *run) replaceCorrupt(ctx context.Context, t index.Track, k int64, res archive.Result) (string, error) {
	row, ok, err := r.a.DB.Segment(ctx, t.ID, k)
	if err != nil || !ok || row.Key != res.Key {
		return "", err
	}
	data, err := r.a.Store.Get(ctx, res.Key)
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(data)
	sum := hex.EncodeToString(h[:])
	if sum == row.SHA256 {
		return "", nil
	}
	q := layout.QuarantineKey(r.ch.Info.Name, t.Rep, k, sum, path.Ext(res.Key)[1:])
	if err := r.a.Store.Create(ctx, q, data, nil); err != nil && !errors.Is(err, cloud.ErrExists) {
		return "", fmt.Errorf("keep corrupt %s at %s: %w", res.Key, q, err)
	}
	if err := r.a.Store.Delete(ctx, res.Key); err != nil && !cloud.IsNotFound(err) {
		return "", fmt.Errorf("remove corrupt %s: %w", res.Key, err)
	}
	if err := r.a.DB.DeleteSegment(ctx, t.ID, k); err != nil && !errors.Is(err, index.ErrNotFound) {
		return "", err
	}
	r.o.Log.Warn("replacing a corrupt object", "key", res.Key, "sha256", sum, "reap_sha256", row.SHA256, "kept_at", q)
	return fmt.Sprintf("replaced a corrupt object (its bytes hash to %.16s, its reap-sha256 says %.16s; they are kept at %s)", sum, row.SHA256, q), nil
}

// reject records a rejected delivery of the repair source and returns it.
func (r *run) reject(ctx context.Context, it Item, t index.Track, info *cmaf.SegmentInfo, reason string) (result, error) {
	it.Reason = reason
	r.o.Log.Debug("segment rejected", "rep", t.Rep, "k", it.K, "source", r.f.Name(), "reason", reason)
	d := index.Delivery{TrackID: t.ID, K: it.K, SourceID: r.src.ID, Outcome: index.Rejected, ReceivedAt: r.a.Now(), Detail: reason}
	if info != nil {
		d.EPT, d.Duration, d.Size, d.SHA256 = info.EPT, info.Duration, int64(info.Size), info.SHA256
	}
	if err := r.a.DB.Record(context.WithoutCancel(ctx), nil, d); err != nil {
		return result{}, err
	}
	return result{it, classRejected}, nil
}

// initCache parses each init segment once per content (repair and splice
// fetch the same few inits for many segments).
type initCache struct {
	mu    sync.Mutex
	inits map[string]*parsedInit // by sha256
}

func (c *initCache) parseInit(data []byte) (*cmaf.InitInfo, error) {
	sum := sha256.Sum256(data)
	h := hex.EncodeToString(sum[:])
	c.mu.Lock()
	if c.inits == nil {
		c.inits = map[string]*parsedInit{}
	}
	p := c.inits[h]
	if p == nil {
		p = &parsedInit{}
		c.inits[h] = p
	}
	c.mu.Unlock()
	p.once.Do(func() { p.info, p.err = cmaf.ParseInit(data) })
	return p.info, p.err
}

// offer makes in the repair source's current init of rep (OfferInit) and
// offers the segment.
func (r *run) offer(ctx context.Context, rep string, k int64, in *cmaf.InitInfo, got Fetched) (archive.Result, error) {
	r.mu.Lock()
	l := r.locks[rep]
	if l == nil {
		l = &repLock{}
		r.locks[rep] = l
	}
	r.mu.Unlock()
	for {
		l.RLock()
		if l.cur == in.SHA256 {
			res, err := r.ch.OfferSegment(ctx, archive.Offer{Source: r.f.Name(), Rep: rep, Data: got.Data, ExpectK: k, Backfill: true})
			l.RUnlock()
			return res, err
		}
		l.RUnlock()
		l.Lock()
		if l.cur != in.SHA256 {
			if _, err := r.ch.OfferInit(ctx, r.f.Name(), rep, got.Init, false); err != nil {
				l.Unlock()
				return archive.Result{}, err
			}
			l.cur = in.SHA256
		}
		l.Unlock()
	}
}

// checkConfig says why the init a segment decodes with does not fit the
// track around the gap, or "".
func checkConfig(g *gapRef, in *cmaf.InitInfo) string {
	ref := g.refInit
	t := g.track
	if in.Timescale != t.Timescale {
		return fmt.Sprintf("timescale %d differs from the track's %d", in.Timescale, t.Timescale)
	}
	if t.ContentType != "" && in.ContentType != t.ContentType {
		return fmt.Sprintf("it is a %s track, the track is %s", in.ContentType, t.ContentType)
	}
	if ref == nil {
		return ""
	}
	if in.ConfigHash != ref.ConfigHash {
		return fmt.Sprintf("codec configuration differs from the track's: the source's init has %s%s (sample description %.12s), the track has %s%s (%.12s) around K %d-%d",
			in.Codecs, dims(in), in.ConfigHash, ref.Codecs, dims(ref), ref.ConfigHash, g.From, g.To)
	}
	if in.TrackID != ref.TrackID {
		return fmt.Sprintf("track_ID %d differs from the track's %d", in.TrackID, ref.TrackID)
	}
	return ""
}

func dims(in *cmaf.InitInfo) string {
	switch {
	case in.Width > 0:
		return fmt.Sprintf(" %dx%d", in.Width, in.Height)
	case in.SampleRate > 0:
		return fmt.Sprintf(" %d Hz %d ch", in.SampleRate, in.Channels)
	}
	return ""
}

// checkTiming says why segment info, fetched as K = k, is not on the
// track's epoch grid or does not splice into the stored neighbours, or "".
//
// On the grid means: its start and its end are less than one sample (the
// segment's first sample duration) away from where the track's segments
// start and end, K·D·T and (K+1)·D·T plus the neighbours' offset from them.
// REaP audio starts within one frame of K·D and its durations vary by less
// than a frame (constrained variation); video at an integer frame rate is
// exact. Next to a stored neighbour the splice must be exact: a hole or an
// overlap of even one tick is a glitch.
func checkTiming(g *gapRef, k int64, info *cmaf.SegmentInfo) string {
	t := g.track
	segDur := int64(t.SegDur)
	ept, dur := int64(info.EPT), int64(info.Duration)
	tol := cmaf.GridTolerance(info.SampleDuration, t.SegDur)
	if got := t.EpochIndex(info.EPT); got != k {
		return fmt.Sprintf("EPT %d is epoch index %d, not %d", info.EPT, got, k)
	}
	ref := g.offset
	if !g.hasOffset {
		ref = 0
		if off := t.GridOffset(info.EPT, k); abs(off) > segDur/8 {
			return fmt.Sprintf("EPT %d is off the epoch grid: %d ticks from K·D·T (D·T = %d)", info.EPT, off, segDur)
		}
	} else if off := t.GridOffset(info.EPT, k); abs(off-ref) >= tol {
		return fmt.Sprintf("EPT %d is off the track's grid: %d ticks from K·D·T, the track's segments %d (tolerance under one sample, %d ticks)", info.EPT, off, ref, tol)
	}
	if abs(dur-segDur) >= tol {
		return fmt.Sprintf("duration %d ticks is off the grid: D·T is %d (tolerance under one sample, %d ticks)", dur, segDur, tol)
	}
	if g.hasOffset {
		if off := t.GridOffset(info.EPT+info.Duration, k+1); abs(off-ref) >= tol {
			return fmt.Sprintf("ends at %d, off the track's grid: %d ticks from (K+1)·D·T, the track's segments %d (tolerance under one sample, %d ticks)", ept+dur, off, ref, tol)
		}
	}
	if k == g.From && g.hasPrev {
		if end := int64(g.prev.EPT + g.prev.Duration); end != ept {
			return fmt.Sprintf("starts at EPT %d, but the stored segment K %d ends at %d (%+d ticks)", ept, k-1, end, ept-end)
		}
	}
	if k == g.To && g.hasNext {
		if start := int64(g.next.EPT); ept+dur != start {
			return fmt.Sprintf("ends at %d, but the stored segment K %d starts at %d (%+d ticks)", ept+dur, k+1, start, start-(ept+dur))
		}
	}
	return ""
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
