package repair

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// ErrSpliceRejected: the source cannot deliver a fitting copy of every
// segment of the range; nothing was written. The report says which K and
// why.
var ErrSpliceRejected = errors.New("splice rejected: nothing was written")

// ErrNoSplice: no active splice matches what an undo asked for.
var ErrNoSplice = errors.New("no active splice")

// SpliceOptions configure Splice.
type SpliceOptions struct {
	Channel string
	// From and To are the wall-clock range [From, To): every stored
	// segment overlapping it is replaced. Both are required.
	From, To time.Time
	// SourceName is the reap-source of the replacements; default "splice."
	// and the Filler's name without "repair.".
	SourceName string
	Parallel   int // segments fetched at once (default DefaultParallel)
	Log        *slog.Logger
}

// SpliceReport says what a splice (or its undo) did.
type SpliceReport struct {
	ID         string `json:"id"`
	Channel    string `json:"channel"`
	Source     string `json:"source"`
	SourceName string `json:"source_name"`
	// FromK..ToK is the K range asked for; From and To its wall-clock span
	// [FromK·D, (ToK+1)·D).
	FromK   int64         `json:"from_k"`
	ToK     int64         `json:"to_k"`
	From    time.Time     `json:"from"`
	To      time.Time     `json:"to"`
	Record  string        `json:"record"` // key of the splice record
	Created time.Time     `json:"created"`
	Tracks  []SpliceTrack `json:"tracks"`
	// InitsCreated are the init segment keys the splice created.
	InitsCreated []string `json:"inits_created"`
	// Missing and Rejected say, when the splice was refused, which K the
	// source does not have or has in a form that does not fit the track.
	Missing  []Item `json:"missing"`
	Rejected []Item `json:"rejected"`

	// Undo only.
	Undone   bool      `json:"undone,omitempty"`
	UndoneAt time.Time `json:"undone_at,omitzero"`
	Restored int       `json:"restored,omitempty"` // segment rows restored
	Deleted  int       `json:"deleted,omitempty"`  // objects deleted
	// Resumed: the index had the splice undone already, and only objects
	// an interrupted undo left behind were deleted.
	Resumed bool `json:"resumed,omitempty"`
}

// SpliceTrack is what a splice replaced in one track.
type SpliceTrack struct {
	Rep         string `json:"rep"`
	ContentType string `json:"content_type"`
	FromK       int64  `json:"from_k"`
	ToK         int64  `json:"to_k"`
	Replaced    int    `json:"replaced"`
	// Gaps are the K of the range the archive does not have: a splice
	// replaces stored segments only, so they stay gaps.
	Gaps []index.Range `json:"gaps"`
	Dir  string        `json:"dir"` // key prefix of its replacements
}

// spliceJob is one stored segment to replace.
type spliceJob struct {
	ti   int // index into the run's tracks
	orig index.Segment
	i    int // position in the result order
}

// spliceTrackRun is one track of a splice.
type spliceTrackRun struct {
	t          index.Track
	fromK, toK int64
	segs       []index.Segment
	prev, next index.Segment // stored neighbours outside the range
	hasPrev    bool
	hasNext    bool
	initHashes []string
	initInfos  map[int64]*cmaf.InitInfo // the replaced segments' inits, by ID
}

// spliced is a fetched replacement that fits.
type spliced struct {
	ok       bool
	key      string
	ept, dur uint64
	size     int64
	sha      string
	initHash string
}

// spliceRun is one Splice.
type spliceRun struct {
	a      *archive.Archive
	f      Filler
	o      SpliceOptions
	id     string
	tracks []*spliceTrackRun

	failed atomic.Bool
	initCache

	mu     sync.Mutex
	stored map[initRef]*storedInit // the splice's inits, by track and sha256
	keys   []string                // segment objects created
	dirs   map[string]bool         // splice directories written to
	bad    map[int]Item            // failures by job position
	badCls map[int]int             // classMissing / classRejected
}

type initRef struct {
	trackID int64
	sha     string
}

type storedInit struct {
	once sync.Once
	row  index.SpliceInit
	err  error
}

// Splice replaces the channel's stored segments overlapping [o.From, o.To)
// with copies from f (a rights blackout, a corrected feed). Every stored K
// of the range must be fetched from f and fit the segment it replaces: the
// same codec configuration, timescale and track ID as its init, EPT and
// duration on the track's grid for K, an exact join with the stored
// neighbours outside the range and with the replacement before it, and
// (video) a sync sample first. If any does not, nothing is written and the
// error wraps ErrSpliceRejected (the report lists each K and why). K that
// are gaps in the archive stay gaps.
//
// The originals are never touched: replacements are written create-only
// to <channel>/<rep>/splice-<id>/<K>.<ext>, init segments the store lacks
// to their usual content-addressed keys, and last the splice record
// <channel>/splice-<id>.json, which makes the splice active in storage.
// Then, in one index transaction, the segment rows point at the
// replacements and the replaced rows go to the index's history. If writing
// fails half-way, what this splice wrote is deleted again.
func Splice(ctx context.Context, a *archive.Archive, f Filler, o SpliceOptions) (*SpliceReport, error) {
	if err := o.complete(a, f); err != nil {
		return nil, err
	}
	ch, err := a.DB.Channel(ctx, o.Channel)
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", o.Channel, err)
	}
	created := a.Now().UTC()
	r := &spliceRun{a: a, f: f, o: o, stored: map[initRef]*storedInit{},
		dirs: map[string]bool{}, bad: map[int]Item{}, badCls: map[int]int{}}
	rep := &SpliceReport{Channel: o.Channel, Source: f.URL(), SourceName: o.SourceName, Created: created,
		FromK: math.MaxInt64, ToK: math.MinInt64, Tracks: []SpliceTrack{}, InitsCreated: []string{}, Missing: []Item{}, Rejected: []Item{}}
	var jobs []spliceJob
	if err := r.plan(ctx, ch, rep, &jobs); err != nil {
		return nil, err
	}
	if len(jobs) == 0 {
		return rep, fmt.Errorf("splice: channel %s has no stored segment between %s and %s: nothing to replace",
			o.Channel, o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339))
	}
	r.name(rep, created)
	o.Log.Info("splice", "channel", o.Channel, "id", r.id, "source", f.URL(), "from_k", rep.FromK, "to_k", rep.ToK, "segments", len(jobs))

	// Fetch and check every K; write each one that fits while all did.
	results, err := r.fetchAll(ctx, jobs)
	if err != nil || r.failed.Load() {
		return r.refuse(ctx, rep, jobs, err)
	}
	rec, segs := r.record(rep, jobs, results)
	if err := r.activate(ctx, ch, rep, rec, segs); err != nil {
		if cerr := r.cleanup(ctx); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, fmt.Errorf("splice %s: %w (what it wrote was deleted again)", r.id, err)
	}
	o.Log.Info("splice done", "channel", o.Channel, "id", r.id, "segments", len(segs), "inits_created", len(rep.InitsCreated))
	return rep, nil
}

// complete fills in o's defaults (with a's log, f's name) and checks the
// range and source name.
func (o *SpliceOptions) complete(a *archive.Archive, f Filler) error {
	if o.Parallel <= 0 {
		o.Parallel = DefaultParallel
	}
	if o.Log == nil {
		o.Log = a.Log
	}
	if o.From.IsZero() || o.To.IsZero() || !o.To.After(o.From) {
		return fmt.Errorf("splice: the range [%s, %s) is empty", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	if o.SourceName == "" {
		o.SourceName = SpliceSourceName(f.Name())
	}
	if err := layout.ValidName("source", o.SourceName); err != nil {
		return fmt.Errorf("splice: %w", err)
	}
	return nil
}

// name gives the planned splice its ID, its record key and directories
// and the wall-clock span of its K range.
func (r *spliceRun) name(rep *SpliceReport, created time.Time) {
	r.id = spliceID(r.o.Channel, rep.FromK, rep.ToK, r.f.URL(), created)
	rep.ID = r.id
	rep.Record = layout.SpliceRecordKey(r.o.Channel, r.id)
	for i, tr := range r.tracks {
		rep.Tracks[i].Dir = layout.SpliceDir(r.o.Channel, tr.t.Rep, r.id)
	}
	t0 := r.tracks[0].t
	rep.From, rep.To = t0.KTime(rep.FromK), t0.KTime(rep.ToK+1)
}

// fetchAll fetches, checks and writes the replacement of every job
// (o.Parallel at a time), then checks the joins between them.
func (r *spliceRun) fetchAll(ctx context.Context, jobs []spliceJob) ([]spliced, error) {
	results := make([]spliced, len(jobs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(r.o.Parallel)
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
	r.checkJoins(jobs, results)
	return results, nil
}

// refuse deletes what the failed splice wrote and returns err, or, if
// only some K did not fit, the report listing them with ErrSpliceRejected.
func (r *spliceRun) refuse(ctx context.Context, rep *SpliceReport, jobs []spliceJob, err error) (*SpliceReport, error) {
	if cerr := r.cleanup(ctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return nil, err
	}
	for i := range jobs {
		if it, ok := r.bad[i]; ok {
			if r.badCls[i] == classMissing {
				rep.Missing = append(rep.Missing, it)
			} else {
				rep.Rejected = append(rep.Rejected, it)
			}
		}
	}
	url := r.f.URL()
	r.o.Log.Info("splice refused", "channel", r.o.Channel, "source", url, "missing", len(rep.Missing), "rejected", len(rep.Rejected))
	return rep, fmt.Errorf("%w: %s cannot replace %d of the %d segments (%d missing, %d rejected)",
		ErrSpliceRejected, url, len(rep.Missing)+len(rep.Rejected), len(jobs), len(rep.Missing), len(rep.Rejected))
}

// record is the splice record of the replacements results (of jobs) and
// their index rows; it completes rep's per-track counts and inits.
func (r *spliceRun) record(rep *SpliceReport, jobs []spliceJob, results []spliced) (*layout.SpliceRecord, []index.SpliceSegment) {
	o := r.o
	rec := &layout.SpliceRecord{Version: layout.SpliceRecordVersion, ID: r.id, Channel: o.Channel, FromK: rep.FromK, ToK: rep.ToK,
		From: o.From.UTC(), To: o.To.UTC(), Source: r.f.URL(), SourceName: o.SourceName, Created: rep.Created,
		Tracks: []layout.SpliceRecordTrack{}, InitsCreated: []string{}}
	var segs []index.SpliceSegment
	for ti, tr := range r.tracks {
		rt := layout.SpliceRecordTrack{Rep: tr.t.Rep, Ext: tr.t.Ext, Ks: []int64{}}
		for _, j := range jobs {
			if j.ti != ti {
				continue
			}
			res := results[j.i]
			rt.Ks = append(rt.Ks, j.orig.K)
			segs = append(segs, index.SpliceSegment{TrackID: tr.t.ID, K: j.orig.K, EPT: res.ept, Duration: res.dur, Size: res.size,
				SHA256: res.sha, Key: res.key, InitHash: res.initHash, Replaces: j.orig.SHA256})
		}
		rep.Tracks[ti].Replaced = len(rt.Ks)
		rec.Tracks = append(rec.Tracks, rt)
	}
	for _, in := range r.spliceInits() {
		if in.ObjectCreated {
			rec.InitsCreated = append(rec.InitsCreated, in.Key)
		}
	}
	slices.Sort(rec.InitsCreated)
	rep.InitsCreated = rec.InitsCreated
	return rec, segs
}

// activate writes the splice record, last (it makes the splice active in
// storage), then applies the splice to the index in one transaction.
func (r *spliceRun) activate(ctx context.Context, ch index.ChannelRow, rep *SpliceReport, rec *layout.SpliceRecord, segs []index.SpliceSegment) error {
	body, err := rec.Marshal()
	if err != nil {
		return err
	}
	if err := r.a.Store.Create(ctx, rep.Record, body, layout.SourceAttrs(r.o.SourceName)); err != nil {
		return err
	}
	r.keys = append(r.keys, rep.Record)
	sp := index.Splice{ID: r.id, ChannelID: ch.ID, FromK: rep.FromK, ToK: rep.ToK, Source: r.f.URL(), SourceName: r.o.SourceName,
		RecordKey: rep.Record, CreatedAt: rep.Created}
	return r.a.DB.ApplySplice(context.WithoutCancel(ctx), sp, r.spliceInits(), segs)
}

// SpliceSourceName is the default source name of a splice from a Filler:
// "splice." and the Filler's name without "repair.".
func SpliceSourceName(fillerName string) string {
	s := "splice." + strings.TrimPrefix(fillerName, "repair.")
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}

// spliceID is the first 16 hex digits of the SHA-256 of what identifies a
// splice: channel, K range, source and creation time.
func spliceID(channel string, fromK, toK int64, source string, created time.Time) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00%s\x00%s", channel, fromK, toK, source, created.UTC().Format(time.RFC3339Nano))
	return hex.EncodeToString(h.Sum(nil))[:layout.HashLen]
}

// plan lists, per track, the stored segments of the range (the jobs), its
// gaps, the stored neighbours and the replaced segments' inits.
func (r *spliceRun) plan(ctx context.Context, ch index.ChannelRow, rep *SpliceReport, jobs *[]spliceJob) error {
	db := r.a.DB
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		return err
	}
	for _, t := range tracks {
		if t.Timescale == 0 || t.SegDur == 0 {
			continue
		}
		fromK, toK := KRange(t, r.o.From, r.o.To)
		if fromK > toK {
			continue
		}
		segs, err := db.Segments(ctx, t.ID, fromK, toK)
		if err != nil {
			return err
		}
		tr := &spliceTrackRun{t: t, fromK: fromK, toK: toK, segs: segs, initInfos: map[int64]*cmaf.InitInfo{}}
		if tr.prev, tr.hasPrev, err = db.Segment(ctx, t.ID, fromK-1); err != nil {
			return err
		}
		if tr.next, tr.hasNext, err = db.Segment(ctx, t.ID, toK+1); err != nil {
			return err
		}
		inits, err := db.Inits(ctx, t.ID)
		if err != nil {
			return err
		}
		for i := len(inits) - 1; i >= 0; i-- {
			tr.initHashes = append(tr.initHashes, inits[i].Hash)
		}
		for _, g := range segs {
			if _, ok := tr.initInfos[g.InitID]; ok {
				continue
			}
			var in *index.Init
			for i := range inits {
				if inits[i].ID == g.InitID {
					in = &inits[i]
				}
			}
			if in == nil || in.Key == "" {
				return fmt.Errorf("splice: %s K %d names no indexed init segment; run verify", t.Rep, g.K)
			}
			data, err := r.a.Store.Get(ctx, in.Key)
			if err != nil {
				return fmt.Errorf("splice: %s: reading its init segment: %w", t.Rep, err)
			}
			info, err := cmaf.ParseInit(data)
			if err != nil {
				return fmt.Errorf("splice: %s: its init segment %s: %w", t.Rep, in.Key, err)
			}
			tr.initInfos[g.InitID] = info
		}
		st := SpliceTrack{Rep: t.Rep, ContentType: t.ContentType, FromK: fromK, ToK: toK, Gaps: []index.Range{}}
		next := fromK
		for _, g := range segs {
			if g.K > next {
				st.Gaps = append(st.Gaps, index.Range{From: next, To: g.K - 1})
			}
			next = g.K + 1
			*jobs = append(*jobs, spliceJob{ti: len(r.tracks), orig: g, i: len(*jobs)})
		}
		if next <= toK {
			st.Gaps = append(st.Gaps, index.Range{From: next, To: toK})
		}
		rep.FromK, rep.ToK = min(rep.FromK, fromK), max(rep.ToK, toK)
		rep.Tracks = append(rep.Tracks, st)
		r.tracks = append(r.tracks, tr)
	}
	return nil
}

// one fetches and checks the replacement of one segment and, while every
// replacement so far fits, writes it.
func (r *spliceRun) one(ctx context.Context, j spliceJob) (spliced, error) {
	tr := r.tracks[j.ti]
	t := tr.t
	k := j.orig.K
	it := Item{Rep: t.Rep, K: k, Time: t.KTime(k)}
	got, err := r.f.Fetch(ctx, Want{Channel: r.o.Channel, Track: t, K: k, InitHashes: tr.initHashes})
	it.From = got.From
	switch {
	case err == nil:
	case ctx.Err() != nil:
		return spliced{}, ctx.Err()
	case errors.Is(err, ErrMismatch):
		return r.fail(j, it, classRejected, err.Error())
	default:
		return r.fail(j, it, classMissing, err.Error())
	}
	in, err := r.parseInit(got.Init)
	if err != nil {
		return r.fail(j, it, classRejected, fmt.Sprintf("its init segment is not valid: %v", err))
	}
	ref := &gapRef{Gap: Gap{Channel: r.o.Channel, Rep: t.Rep, From: k, To: k, track: t}, refInit: tr.initInfos[j.orig.InitID],
		offset: t.GridOffset(j.orig.EPT, k), hasOffset: true}
	if k == tr.fromK && tr.hasPrev {
		ref.prev, ref.hasPrev = tr.prev, true
	}
	if k == tr.toK && tr.hasNext {
		ref.next, ref.hasNext = tr.next, true
	}
	if reason := checkConfig(ref, in); reason != "" {
		return r.fail(j, it, classRejected, reason)
	}
	info, err := cmaf.ParseSegment(got.Data, in)
	if err != nil {
		return r.fail(j, it, classRejected, fmt.Sprintf("not a valid segment of the track: %v", err))
	}
	if t.ContentType == "video" && !info.StartsWithSync {
		return r.fail(j, it, classRejected, "does not start with a sync sample")
	}
	if reason := checkTiming(ref, k, info); reason != "" {
		return r.fail(j, it, classRejected, reason)
	}
	res := spliced{ok: true, ept: info.EPT, dur: info.Duration, size: int64(info.Size), sha: info.SHA256, initHash: in.SHA256,
		key: layout.SpliceKey(r.o.Channel, t.Rep, r.id, k, t.Ext)}
	if r.failed.Load() {
		return res, nil // checked for the report; nothing more is written
	}
	if err := r.storeInit(ctx, t, in, got.Init); err != nil {
		return res, err
	}
	meta := layout.SegmentAttrs{EPT: info.EPT, Duration: info.Duration, Timescale: in.Timescale, SegDur: t.SegDur,
		SHA256: info.SHA256, Init: layout.InitID(in.SHA256), Source: r.o.SourceName,
		Events: layout.EventsNotRecorded}.Map()
	r.mu.Lock()
	r.dirs[layout.SpliceDir(r.o.Channel, t.Rep, r.id)] = true
	r.mu.Unlock()
	if err := r.a.Store.Create(ctx, res.key, got.Data, meta); err != nil {
		return res, fmt.Errorf("splice: store %s: %w", res.key, err)
	}
	r.mu.Lock()
	r.keys = append(r.keys, res.key)
	r.mu.Unlock()
	return res, nil
}

// fail records why job j cannot be replaced; from now on nothing more is
// written.
func (r *spliceRun) fail(j spliceJob, it Item, class int, reason string) (spliced, error) {
	it.Reason = reason
	r.failed.Store(true)
	r.mu.Lock()
	r.bad[j.i], r.badCls[j.i] = it, class
	r.mu.Unlock()
	r.o.Log.Debug("splice: segment does not fit", "rep", it.Rep, "k", it.K, "from", it.From, "reason", reason)
	return spliced{}, nil
}

// checkJoins checks that consecutive replacements join exactly: a hole or
// an overlap of one tick between two of them is a glitch.
func (r *spliceRun) checkJoins(jobs []spliceJob, results []spliced) {
	for i := 1; i < len(jobs); i++ {
		a, b := jobs[i-1], jobs[i]
		ra, rb := results[a.i], results[b.i]
		if a.ti != b.ti || b.orig.K != a.orig.K+1 || !ra.ok || !rb.ok {
			continue
		}
		if end := ra.ept + ra.dur; end != rb.ept {
			t := r.tracks[b.ti].t
			r.fail(b, Item{Rep: t.Rep, K: b.orig.K, Time: t.KTime(b.orig.K)},
				classRejected, fmt.Sprintf("starts at EPT %d, but the replacement of K %d ends at %d (%+d ticks)", rb.ept, a.orig.K, end, int64(rb.ept)-int64(end)))
		}
	}
}

// storeInit makes sure the init segment in is in the store (create-only,
// content-addressed) and notes whether this splice created it.
func (r *spliceRun) storeInit(ctx context.Context, t index.Track, in *cmaf.InitInfo, data []byte) error {
	ref := initRef{t.ID, in.SHA256}
	r.mu.Lock()
	si := r.stored[ref]
	if si == nil {
		si = &storedInit{}
		r.stored[ref] = si
	}
	r.mu.Unlock()
	si.once.Do(func() {
		key := layout.InitKey(r.o.Channel, t.Rep, in.SHA256)
		si.row = index.SpliceInit{TrackID: t.ID, Hash: in.SHA256, ConfigHash: in.ConfigHash, Key: key, Size: int64(len(data))}
		err := r.a.Store.Create(ctx, key, data, layout.SourceAttrs(r.o.SourceName))
		switch {
		case err == nil:
			si.row.ObjectCreated = true
		case errors.Is(err, cloud.ErrExists):
		default:
			si.err = fmt.Errorf("splice: store init %s: %w", key, err)
		}
	})
	return si.err
}

// spliceInits lists the inits the replacements decode with, by track and
// hash.
func (r *spliceRun) spliceInits() []index.SpliceInit {
	var out []index.SpliceInit
	for _, si := range r.stored {
		if si.err == nil && si.row.Key != "" {
			out = append(out, si.row)
		}
	}
	slices.SortFunc(out, func(a, b index.SpliceInit) int {
		if a.TrackID != b.TrackID {
			return cmp.Compare(a.TrackID, b.TrackID)
		}
		return strings.Compare(a.Hash, b.Hash)
	})
	return out
}

// cleanup deletes every object this splice created (record first, then
// the replacements, then the init segments it created): a failed splice
// leaves the store as it found it.
func (r *spliceRun) cleanup(ctx context.Context) error {
	ctx = context.WithoutCancel(ctx)
	keys := slices.Clone(r.keys)
	slices.SortStableFunc(keys, func(a, b string) int { // the record first
		ra, rb := strings.HasSuffix(a, "."+layout.SpliceRecordExt), strings.HasSuffix(b, "."+layout.SpliceRecordExt)
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	for _, in := range r.spliceInits() {
		if in.ObjectCreated {
			keys = append(keys, in.Key)
		}
	}
	var errs []error
	for _, k := range keys {
		if err := r.a.Store.Delete(ctx, k); err != nil && !cloud.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	for d := range r.dirs {
		removeEmptyDir(r.a.Store, d)
	}
	if len(errs) > 0 {
		return fmt.Errorf("splice: cleaning up: %w", errors.Join(errs...))
	}
	r.keys = nil
	return nil
}

// removeEmptyDir removes the directory of prefix dir ("a/b/") on a file
// store once it is empty: object stores have no directories, and a file
// store's listing would otherwise still show it.
func removeEmptyDir(st *cloud.Store, dir string) {
	root, ok := st.LocalDir()
	if !ok {
		return
	}
	_ = os.Remove(filepath.Join(root, filepath.FromSlash(strings.TrimSuffix(dir, "/")))) // fails unless empty
}

// UndoOptions select the splice UndoSplice undoes: ID, or else the
// channel's latest active splice overlapping [From, To).
type UndoOptions struct {
	Channel  string
	ID       string
	From, To time.Time
	Log      *slog.Logger
}

// UndoSplice undoes a splice: in one index transaction the replaced
// segment rows are restored from the history and the splice is marked
// undone (the history is kept); then the splice's objects are deleted: its
// record first (the splice is no longer active in storage), its
// replacements and the init segments it created (unless something else
// decodes with them by now). Afterwards the store holds exactly the
// objects it held before the splice, and the segment rows are as they
// were. A splice that a newer active splice overlaps must wait until that
// one is undone. An undone splice gives an error wrapping
// index.ErrSpliceUndone, unless an interrupted undo left objects behind:
// those are deleted (Resumed).
func UndoSplice(ctx context.Context, a *archive.Archive, o UndoOptions) (*SpliceReport, error) {
	if o.Log == nil {
		o.Log = a.Log
	}
	ch, err := a.DB.Channel(ctx, o.Channel)
	if err != nil {
		return nil, fmt.Errorf("channel %q: %w", o.Channel, err)
	}
	sp, err := findSplice(ctx, a.DB, ch, o)
	if err != nil {
		return nil, err
	}
	tracks, err := a.DB.Tracks(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	rep := undoReport(ch, sp, tracks)
	ctx = context.WithoutCancel(ctx) // once the index changed, finish
	var deleteInits []index.SpliceInit
	if sp.Active() {
		deleteInits, err = undoIndex(ctx, a, sp, rep)
	} else {
		// Undone in the index: finish what an interrupted undo left.
		rep.Resumed, rep.UndoneAt = true, sp.UndoneAt
		deleteInits, err = unindexedInits(ctx, a.DB, sp.ID)
	}
	if err != nil {
		return nil, err
	}
	rep.Undone = true
	errs, err := deleteSpliceObjects(ctx, a.Store, ch, sp, tracks, deleteInits, rep)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("undo splice %s: the index is restored, but deleting its objects failed (run the undo again to finish): %w", sp.ID, errors.Join(errs...))
	}
	if rep.Resumed && rep.Deleted == 0 {
		return rep, undoneError(fmt.Sprintf("undo: splice %s of channel %s was undone at %s already: nothing to do", sp.ID, ch.Name, sp.UndoneAt.Format(time.RFC3339)))
	}
	o.Log.Info("splice undone", "channel", ch.Name, "id", sp.ID, "restored", rep.Restored, "deleted", rep.Deleted, "resumed", rep.Resumed)
	return rep, nil
}

// undoReport is the report of undoing splice sp of channel ch, before
// anything is done; its span is on the grid of the first timed track.
func undoReport(ch index.ChannelRow, sp index.Splice, tracks []index.Track) *SpliceReport {
	rep := &SpliceReport{ID: sp.ID, Channel: ch.Name, Source: sp.Source, SourceName: sp.SourceName, FromK: sp.FromK, ToK: sp.ToK,
		Record: sp.RecordKey, Created: sp.CreatedAt, Tracks: []SpliceTrack{}, InitsCreated: []string{}, Missing: []Item{}, Rejected: []Item{}}
	for _, t := range tracks {
		if t.Timescale > 0 && t.SegDur > 0 {
			rep.From, rep.To = t.KTime(sp.FromK), t.KTime(sp.ToK+1)
			break
		}
	}
	return rep
}

// undoIndex undoes active splice sp in the index and returns the init
// segments it created that nothing else decodes with now.
func undoIndex(ctx context.Context, a *archive.Archive, sp index.Splice, rep *SpliceReport) ([]index.SpliceInit, error) {
	res, err := a.DB.UndoSplice(ctx, sp.ID, a.Now().UTC())
	if err != nil {
		return nil, fmt.Errorf("undo splice %s: %w", sp.ID, err)
	}
	rep.Restored, rep.UndoneAt = res.Restored, res.Splice.UndoneAt
	kept := map[string]bool{}
	for _, in := range res.InitsKept {
		kept[in.Key] = true
	}
	var out []index.SpliceInit
	for _, in := range res.Inits {
		if in.ObjectCreated && !kept[in.Key] {
			out = append(out, in)
		}
	}
	return out, nil
}

// unindexedInits is, for a splice undone in the index already, the init
// segments it created that the index has no row for.
func unindexedInits(ctx context.Context, db *index.DB, spliceID string) ([]index.SpliceInit, error) {
	inits, err := db.SpliceInits(ctx, spliceID)
	if err != nil {
		return nil, err
	}
	var out []index.SpliceInit
	for _, in := range inits {
		if !in.ObjectCreated {
			continue
		}
		rows, err := db.Inits(ctx, in.TrackID)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(rows, func(r index.Init) bool { return r.Hash == in.Hash }) {
			out = append(out, in)
		}
	}
	return out, nil
}

// deleteSpliceObjects deletes splice sp's objects from st: the record
// first, so the splice is inactive in storage before its objects go, then
// its replacements and inits. It returns the failed deletions; err is a
// listing that failed.
func deleteSpliceObjects(ctx context.Context, st *cloud.Store, ch index.ChannelRow, sp index.Splice, tracks []index.Track,
	inits []index.SpliceInit, rep *SpliceReport) (errs []error, err error) {
	var keys []string
	for _, t := range tracks {
		dir := layout.SpliceDir(ch.Name, t.Rep, sp.ID)
		err := st.List(ctx, dir, func(at cloud.Attrs) error {
			keys = append(keys, at.Key)
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("undo splice %s: listing %s: %w", sp.ID, dir, err)
		}
	}
	for _, in := range inits {
		keys = append(keys, in.Key)
		rep.InitsCreated = append(rep.InitsCreated, in.Key)
	}
	for _, k := range append([]string{sp.RecordKey}, keys...) {
		err := st.Delete(ctx, k)
		switch {
		case err == nil:
			rep.Deleted++
		case !cloud.IsNotFound(err):
			errs = append(errs, err)
		}
	}
	for _, t := range tracks {
		removeEmptyDir(st, layout.SpliceDir(ch.Name, t.Rep, sp.ID))
	}
	return errs, nil
}

// undoneError says a splice was undone already; it wraps
// index.ErrSpliceUndone.
type undoneError string

func (e undoneError) Error() string { return string(e) }
func (e undoneError) Unwrap() error { return index.ErrSpliceUndone }

// findSplice picks the splice an undo is for.
func findSplice(ctx context.Context, db *index.DB, ch index.ChannelRow, o UndoOptions) (index.Splice, error) {
	if o.ID != "" {
		if err := layout.ValidSpliceID(o.ID); err != nil {
			return index.Splice{}, err
		}
		sp, err := db.SpliceByID(ctx, o.ID)
		if err != nil {
			return index.Splice{}, fmt.Errorf("undo: %w: no splice %s in the index (if the store has its record %s, an interrupted splice or another index made it: run reaparchive reindex, which records it, then undo)",
				ErrNoSplice, o.ID, layout.SpliceRecordKey(ch.Name, o.ID))
		}
		if sp.ChannelID != ch.ID {
			return index.Splice{}, fmt.Errorf("undo: %w: splice %s is not of channel %s", ErrNoSplice, o.ID, ch.Name)
		}
		return sp, nil
	}
	if o.From.IsZero() || o.To.IsZero() {
		return index.Splice{}, errors.New("undo: give the splice's id or a range it overlaps")
	}
	all, err := db.Splices(ctx, ch.ID)
	if err != nil {
		return index.Splice{}, err
	}
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		return index.Splice{}, err
	}
	fromK, toK := int64(math.MaxInt64), int64(math.MinInt64)
	for _, t := range tracks {
		if t.Timescale == 0 || t.SegDur == 0 {
			continue
		}
		f, l := KRange(t, o.From, o.To)
		fromK, toK = min(fromK, f), max(toK, l)
	}
	var undone *index.Splice
	for i := len(all) - 1; i >= 0; i-- {
		sp := all[i]
		if sp.FromK > toK || sp.ToK < fromK {
			continue
		}
		if sp.Active() {
			return sp, nil
		}
		if undone == nil {
			undone = &all[i]
		}
	}
	span := o.From.UTC().Format(time.RFC3339) + " to " + o.To.UTC().Format(time.RFC3339)
	if undone != nil {
		return index.Splice{}, fmt.Errorf("undo: %w of channel %s overlaps %s: the latest one, %s (from %s), was undone at %s already",
			ErrNoSplice, ch.Name, span, undone.ID, undone.Source, undone.UndoneAt.Format(time.RFC3339))
	}
	return index.Splice{}, fmt.Errorf("undo: %w of channel %s overlaps %s", ErrNoSplice, ch.Name, span)
}
