package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// defaultBatchSize is the number of segment rows read and inserted at a
// time: an interrupted Reindex keeps every batch it committed, and the next
// run skips them.
const defaultBatchSize = 5000

// ReindexResult is what Reindex did, per channel.
type ReindexResult struct {
	Channels []ReindexChannel `json:"channels"`
}

// ReindexChannel is what Reindex did for one channel.
type ReindexChannel struct {
	Name           string `json:"name"`
	Tracks         int    `json:"tracks"`
	Inits          int    `json:"inits"`           // init segments in the store
	NewInits       int    `json:"new_inits"`       // of which newly indexed
	Objects        int64  `json:"objects"`         // media objects in the store
	Indexed        int64  `json:"indexed"`         // segment rows added
	AlreadyIndexed int64  `json:"already_indexed"` // media objects the index had
	BodiesRead     int64  `json:"bodies_read"`     // media objects read because their attributes were incomplete, counted emsg boxes or they are text (cue check)
	AttributesRead int64  `json:"attributes_read"` // media objects whose attributes were read (one HEAD each on S3 and GCS)
	// IndexObjects is the index objects read (LAYOUT.md, Index objects),
	// FromIndexObjects the media objects whose attributes they gave.
	IndexObjects     int       `json:"index_objects"`
	FromIndexObjects int64     `json:"from_index_objects"`
	Events           int64     `json:"events"`      // emsg boxes of indexed segments (repeats of an event included)
	TextIssues       int64     `json:"text_issues"` // what the cue check found in indexed text segments
	Splices          int       `json:"splices"`     // active splices newly recorded in the index
	Problems         []Problem `json:"problems"`    // objects not indexed (or indexed with a guess), and why
}

// Reindex builds the index from the store alone, or brings an existing index
// up to date: for every channel (opts.Channel, or every one in the store) it
// lists the store by prefix, one level at a time and paged, reads every init
// segment (small) and the newest I-MPD that describes each representation,
// and for every media object the index does not have yet, its attributes
// (reap-ept, reap-dur, reap-sha256, reap-init, reap-segdur), reading and
// parsing the object only when they are missing, when reap-events counts
// emsg boxes, whose events it indexes, or when it is a segment of a text
// track, whose cues it checks as the recorder does (cmaf.CheckText, the
// epoch grid and the segment before; index text_issues). Segment rows are
// inserted
// in batches; an interrupted run keeps what it inserted, and running it again
// continues where it stopped (already indexed K are skipped, not re-read).
//
// Rows already in the index are kept as they are (Verify finds where they
// disagree with the store). Per-source delivery history cannot be rebuilt
// from storage: rebuilt segment rows name no source.
func Reindex(ctx context.Context, st *cloud.Store, db *index.DB, opts Options) (ReindexResult, error) {
	names := []string{opts.Channel}
	if opts.Channel == "" {
		var err error
		if names, err = storeChannels(ctx, st); err != nil {
			return ReindexResult{}, fmt.Errorf("reindex: %w", err)
		}
	} else if err := layout.ValidName("channel", opts.Channel); err != nil {
		return ReindexResult{}, err
	}
	res := ReindexResult{Channels: []ReindexChannel{}}
	for _, name := range names {
		prog := newProgressor(opts.Progress, name)
		scan, err := scanChannel(ctx, st, name, true, prog.setListed)
		if err != nil {
			return res, fmt.Errorf("reindex %s: %w", name, err)
		}
		if scan.empty() {
			if opts.Channel != "" {
				return res, fmt.Errorf("reindex: the store holds no object of channel %q", name)
			}
			continue // a top-level directory that is not a channel (an export, say)
		}
		ix := &indexer{st: st, db: db, opts: &opts, prog: prog}
		rc, err := ix.channel(ctx, scan)
		prog.finish()
		if err != nil {
			return res, fmt.Errorf("reindex %s: %w", name, err)
		}
		res.Channels = append(res.Channels, rc)
	}
	return res, nil
}

// indexer indexes what the store holds of one channel.
type indexer struct {
	st   *cloud.Store
	db   *index.DB
	opts *Options
	prog *progressor
	// readData: read and parse every object to be indexed, and refuse
	// those whose bytes contradict their attributes (Verify's repair with
	// ReadData).
	readData bool
	// exclude: keys not to index (known corrupt).
	exclude map[string]bool

	// knownSplices are the channel's active splices the index has (by id);
	// reps the representations' indexers, for applying the others.
	knownSplices map[string]bool
	reps         map[string]*repIndexer
	// bodies, if set, keeps the immutable objects read (inits, I-MPDs) by
	// key across passes (Follower).
	bodies *bodyCache

	mu  sync.Mutex
	res ReindexChannel
}

func (ix *indexer) problem(p Problem) {
	ix.mu.Lock()
	ix.res.Problems = append(ix.res.Problems, p)
	ix.mu.Unlock()
}

func (ix *indexer) channel(ctx context.Context, scan *chanScan) (ReindexChannel, error) {
	ix.res = ReindexChannel{Name: scan.name, Problems: slices.Clone(scan.problems)}
	if ix.res.Problems == nil {
		ix.res.Problems = []Problem{}
	}
	if scan.empty() {
		return ix.res, nil
	}
	meta, segDurS := ix.impdMeta(ctx, scan)
	ch, err := ix.db.EnsureChannel(ctx, scan.name)
	if err != nil {
		return ix.res, err
	}
	ix.knownSplices, ix.reps = map[string]bool{}, map[string]*repIndexer{}
	for _, sp := range scan.splices {
		_, err := ix.db.SpliceByID(ctx, sp.rec.ID)
		switch {
		case err == nil:
			ix.knownSplices[sp.rec.ID] = true
		case !errors.Is(err, index.ErrNotFound):
			return ix.res, err
		}
	}
	for _, r := range scan.reps {
		if len(r.inits) == 0 && len(r.media) == 0 {
			continue
		}
		ix.res.Tracks++
		if err := ix.rep(ctx, ch, r, meta[r.rep], segDurS); err != nil {
			return ix.res, fmt.Errorf("%s: %w", r.rep, err)
		}
	}
	for _, sp := range scan.splices {
		if !ix.knownSplices[sp.rec.ID] {
			if err := ix.applySplice(ctx, ch, sp); err != nil {
				return ix.res, fmt.Errorf("splice %s: %w", sp.rec.ID, err)
			}
		}
	}
	if err := ix.markStart(ctx, ch, ix.opts.horizon(scan)); err != nil {
		return ix.res, err
	}
	sortProblems(ix.res.Problems)
	return ix.res, nil
}

// applySplice records in the index an active splice the index does not
// have, as `reaparchive splice` would have: the rows of the K it lists
// (indexed from the originals) move to the index's history and point at
// its replacements, so the index shows what the store's readers see and
// `splice --undo` works on a rebuilt index. A splice that cannot be
// applied (a replacement that is not a valid segment, a K without an
// original) is reported and left out: its K keep their originals.
func (ix *indexer) applySplice(ctx context.Context, ch index.ChannelRow, sp spliceScan) error {
	rec := sp.rec
	skip := func(rep string, k int64, why string) error {
		ix.problem(Problem{Kind: Unreadable, Rep: rep, K: kp(k), Key: sp.key, Detail: "splice " + rec.ID + " not indexed: " + why})
		return nil
	}
	var segs []index.SpliceSegment
	var inits []index.SpliceInit
	haveInit := map[string]bool{}
	for _, t := range rec.Tracks {
		ri := ix.reps[t.Rep]
		if ri == nil {
			return skip(t.Rep, rec.FromK, "the store has no segment of "+t.Rep)
		}
		for _, k := range t.Ks {
			key := layout.SpliceKey(ch.Name, t.Rep, rec.ID, k, t.Ext)
			row, err := ri.segmentRow(ctx, mediaObject{object: object{key: key}, k: k, ext: t.Ext})
			if err != nil {
				return err
			}
			if row == nil {
				return skip(t.Rep, k, "its replacement "+key+" is not a valid segment (see its problem)")
			}
			cur, ok, err := ix.db.Segment(ctx, ri.track.ID, k)
			if err != nil {
				return err
			}
			if !ok {
				return skip(t.Rep, k, "the K it replaces has no segment in the store")
			}
			var in *initRec
			for _, r := range ri.inits {
				if r.row.ID == row.InitID {
					in = r
				}
			}
			if in == nil {
				return skip(t.Rep, k, "its replacement names no init segment in the store")
			}
			segs = append(segs, index.SpliceSegment{TrackID: ri.track.ID, K: k, EPT: row.EPT, Duration: row.Duration, Size: row.Size,
				SHA256: row.SHA256, Key: key, InitHash: in.row.Hash, Replaces: cur.SHA256})
			if !haveInit[in.row.Key] {
				haveInit[in.row.Key] = true
				inits = append(inits, index.SpliceInit{TrackID: ri.track.ID, Hash: in.row.Hash, ConfigHash: in.row.ConfigHash,
					Key: in.row.Key, Size: in.row.Size, ObjectCreated: slices.Contains(rec.InitsCreated, in.row.Key)})
			}
		}
	}
	if len(segs) == 0 {
		return nil
	}
	err := ix.db.ApplySplice(ctx, index.Splice{ID: rec.ID, ChannelID: ch.ID, FromK: rec.FromK, ToK: rec.ToK, Source: rec.Source,
		SourceName: rec.SourceName, RecordKey: sp.key, CreatedAt: rec.Created}, inits, segs)
	if err != nil {
		return err
	}
	for _, ri := range ix.reps {
		if err := ri.flushEvents(ctx); err != nil {
			return err
		}
		if err := ri.flushTexts(ctx); err != nil {
			return err
		}
	}
	ix.mu.Lock()
	ix.res.Splices++
	ix.mu.Unlock()
	return nil
}

// impdMeta reads the channel's I-MPDs, newest first, until every
// representation in the store is described (I-MPDs are few: one per change
// of what a source's MPD describes). It returns each representation's entry
// of the newest I-MPD that has it, and the newest segment duration D.
func (ix *indexer) impdMeta(ctx context.Context, scan *chanScan) (map[string]manifest.LiveTrack, float64) {
	impds := slices.Clone(scan.impds)
	slices.SortStableFunc(impds, func(a, b object) int {
		if c := b.modTime.Compare(a.modTime); c != 0 {
			return c
		}
		return strings.Compare(a.key, b.key)
	})
	meta := map[string]manifest.LiveTrack{}
	var segDurS float64
	need := 0
	for _, r := range scan.reps {
		if len(r.inits) > 0 || len(r.media) > 0 {
			need++
		}
	}
	for _, o := range impds {
		if len(meta) >= need && segDurS > 0 {
			break
		}
		data, err := ix.bodies.get(ctx, ix.st, o.key)
		if err != nil {
			ix.problem(Problem{Kind: Unreadable, Key: o.key, Detail: err.Error()})
			continue
		}
		live, err := manifest.ParseLive(data, "")
		if err != nil {
			ix.problem(Problem{Kind: Unreadable, Key: o.key, Detail: err.Error()})
			continue
		}
		if segDurS == 0 && live.SegDurSeconds > 0 {
			segDurS = live.SegDurSeconds
		}
		for _, t := range live.Tracks {
			if _, ok := meta[t.Rep]; !ok {
				meta[t.Rep] = t
			}
		}
	}
	return meta, segDurS
}

// initRec is one init segment of a track: parsed, and its index row.
type initRec struct {
	obj  initObject
	info *cmaf.InitInfo
	row  index.Init
}

// repIndexer indexes one representation.
type repIndexer struct {
	*indexer
	track  index.Track
	inits  map[string]*initRec // by h16
	latest *initRec            // the newest init (by modification time)
	// seenSegDur and seenTimescale are the first that objects' attributes
	// gave, for a track that had none (guarded by mu).
	seenSegDur    uint64
	seenTimescale uint32
	// missingInits: the K of objects whose reap-init names an init that
	// is not in the store, by that init's h16 (guarded by mu).
	missingInits map[string][]int64
	// events: the events of rows segmentRow built, not yet in the index
	// (guarded by mu).
	events []index.Event
	// texts: the cue checks of text rows segmentRow built, not yet in the
	// index (guarded by mu).
	texts []textCheck
	// cached: what the index objects read say of media objects, by key
	// (read-only once read).
	cached map[string]cachedAttrs
}

// textCheck is what the cue check of text segment K found in its bytes,
// and its timing for the checks against the grid and the segment before.
type textCheck struct {
	k      int64
	issues []cmaf.TextIssue
	timing cmaf.SegmentInfo // EPT, Duration, SampleDuration
}

// flushTexts indexes the text issues segmentRow collected, adding those of
// each segment's timing: off its slot on the grid, or overlapping the
// indexed segment K-1 (each overlap is reported once, on the later K).
func (ri *repIndexer) flushTexts(ctx context.Context) error {
	ri.mu.Lock()
	texts := ri.texts
	ri.texts = nil
	ri.mu.Unlock()
	return ri.indexTexts(ctx, ri.track, texts)
}

// indexTexts indexes the text issues of texts, cue checks of segments of
// track, adding those of each segment's timing (as flushTexts says).
func (ri *repIndexer) indexTexts(ctx context.Context, track index.Track, texts []textCheck) error {
	for _, tc := range texts {
		var prevEnd *uint64
		prev, ok, err := ri.db.Segment(ctx, track.ID, tc.k-1)
		if err != nil {
			return err
		}
		if ok {
			end := prev.EPT + prev.Duration
			prevEnd = &end
		}
		issues := append(tc.issues, cmaf.TextTimingIssues(tc.k, track.SegDur, &tc.timing, prevEnd, nil)...)
		rows := make([]index.TextIssue, len(issues))
		for i, is := range issues {
			rows[i] = index.TextIssue{TrackID: track.ID, K: tc.k, Kind: is.Kind, Detail: is.Detail}
		}
		if err := ri.db.SetTextIssues(ctx, track.ID, tc.k, rows); err != nil {
			return err
		}
		ri.mu.Lock()
		ri.res.TextIssues += int64(len(rows))
		ri.mu.Unlock()
	}
	return nil
}

// flushEvents indexes the events segmentRow collected.
func (ri *repIndexer) flushEvents(ctx context.Context) error {
	ri.mu.Lock()
	evs := ri.events
	ri.events = nil
	ri.mu.Unlock()
	return ri.db.AddEvents(ctx, evs)
}

// rep indexes one representation r of channel ch: its inits, its track
// row (m is what the I-MPD says of it, segDurS the I-MPD's segment duration
// in seconds), then the media objects the index does not have yet.
func (ix *indexer) rep(ctx context.Context, ch index.ChannelRow, r *repScan, m manifest.LiveTrack, segDurS float64) error {
	track, err := ix.db.Track(ctx, ch.ID, r.rep)
	exists := err == nil
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return err
	}
	ri := &repIndexer{indexer: ix, track: track, inits: map[string]*initRec{}}
	ix.reps[r.rep] = ri
	if err := ri.readInits(ctx, r, exists); err != nil {
		return err
	}
	t := ri.trackRow(ch, r, m, segDurS, exists)
	if ri.track, err = ix.db.UpsertTrack(ctx, t); err != nil {
		return err
	}
	if err := ri.addInitRows(ctx); err != nil {
		return err
	}
	todo, err := ri.unindexed(ctx, r, exists)
	if err != nil {
		return err
	}
	if err := ri.indexAll(ctx, todo, ri.neededIndexObjects(r, todo)); err != nil {
		return err
	}
	ri.reportMissingInits(ch, r.rep)
	return nil
}

// readInits reads and parses all init segments of r (they are small and
// few), reporting those that are gone, corrupt or not at their key; exists
// says the index has the track already (its inits are not new).
func (ri *repIndexer) readInits(ctx context.Context, r *repScan, exists bool) error {
	ix := ri.indexer
	indexed := map[string]bool{}
	if exists {
		rows, err := ix.db.Inits(ctx, ri.track.ID)
		if err != nil {
			return err
		}
		for _, in := range rows {
			indexed[in.Hash] = true
		}
	}
	for _, o := range r.inits {
		if ix.exclude[o.key] {
			continue
		}
		data, err := ix.bodies.get(ctx, ix.st, o.key)
		if cloud.IsNotFound(err) {
			ix.problem(Problem{Kind: Unreadable, Rep: r.rep, Key: o.key, Detail: "listed, but not found when read: " + err.Error()})
			continue
		}
		if err != nil {
			return err
		}
		info, err := cmaf.ParseInit(data)
		if err != nil {
			ix.problem(Problem{Kind: Corrupt, Rep: r.rep, Key: o.key, Detail: "not an init segment: " + err.Error()})
			continue
		}
		if layout.InitID(info.SHA256) != o.h16 {
			ix.problem(Problem{Kind: Corrupt, Rep: r.rep, Key: o.key, Detail: fmt.Sprintf("content hashes to %s, the key says %s", layout.InitID(info.SHA256), o.h16)})
			continue
		}
		rec := &initRec{obj: o, info: info}
		ri.inits[o.h16] = rec
		if ri.latest == nil || o.modTime.After(ri.latest.obj.modTime) {
			ri.latest = rec
		}
		ix.mu.Lock()
		ix.res.Inits++
		if !indexed[info.SHA256] {
			ix.res.NewInits++
		}
		ix.mu.Unlock()
		ix.prog.add(1)
	}
	return nil
}

// trackRow is the track row of r: codec and timing parameters from the
// newest init, what the I-MPD (m) says about the rest, the extension from
// the media keys; the segment duration only where the index has none.
func (ri *repIndexer) trackRow(ch index.ChannelRow, r *repScan, m manifest.LiveTrack, segDurS float64, exists bool) index.Track {
	t := index.Track{ChannelID: ch.ID, Rep: r.rep}
	if l := ri.latest; l != nil {
		in := l.info
		t.ContentType, t.Timescale, t.Codecs = in.ContentType, in.Timescale, in.Codecs
		t.Width, t.Height, t.SampleRate, t.Channels = in.Width, in.Height, in.SampleRate, in.Channels
		if in.Lang != "und" {
			t.Lang = in.Lang
		}
		t.Bandwidth = in.Bitrate
	}
	if m.Rep != "" {
		t = index.TrackMetaOf(&m).Apply(t)
	}
	t.Ext = commonExt(r.media)
	if t.Ext == "" && !exists {
		t.Ext = layout.Ext(t.ContentType)
	}
	if !exists || ri.track.SegDur == 0 {
		switch {
		case m.SegDur > 0 && (m.Timescale == t.Timescale || t.Timescale == 0):
			t.SegDur = m.SegDur
		case segDurS > 0 && t.Timescale > 0:
			t.SegDur = uint64(math.Round(segDurS * float64(t.Timescale)))
		}
	}
	return t
}

// addInitRows indexes the inits readInits found.
func (ri *repIndexer) addInitRows(ctx context.Context) error {
	for _, rec := range ri.inits {
		row, err := ri.db.AddInit(ctx, index.Init{TrackID: ri.track.ID, Hash: rec.info.SHA256, ConfigHash: rec.info.ConfigHash,
			Key: rec.obj.key, Size: rec.obj.size, FirstK: math.MaxInt64})
		if err != nil {
			return err
		}
		rec.row = row
	}
	return nil
}

// unindexed is the media objects of r the index does not have (exists:
// the index has the track), a spliced K's replacement where the index has
// the splice: r.media itself when it is all of them.
func (ri *repIndexer) unindexed(ctx context.Context, r *repScan, exists bool) ([]mediaObject, error) {
	ix := ri.indexer
	ix.mu.Lock()
	ix.res.Objects += int64(len(r.media))
	ix.mu.Unlock()
	if !exists && len(ix.exclude) == 0 && len(r.spliced) == 0 {
		return r.media, nil
	}
	todo := make([]mediaObject, 0, len(r.media))
	for _, o := range r.media {
		if ix.exclude[o.key] {
			ix.prog.add(1)
			continue
		}
		if exists {
			if _, ok, err := ix.db.Segment(ctx, ri.track.ID, o.k); err != nil {
				return nil, err
			} else if ok {
				ix.mu.Lock()
				ix.res.AlreadyIndexed++
				ix.mu.Unlock()
				ix.prog.add(1)
				continue
			}
		}
		if sp, ok := r.spliced[o.k]; ok && ix.knownSplices[sp.splice] {
			// The index has the splice: its row (deleted by verify
			// --repair-index, say) is the replacement's. A splice the
			// index does not have is applied after the originals.
			o = sp.mediaObject
		}
		todo = append(todo, o)
	}
	return todo, nil
}

// reportMissingInits reports each init that media objects name and the
// store does not have.
func (ri *repIndexer) reportMissingInits(ch index.ChannelRow, rep string) {
	for h, ks := range ri.missingInits {
		slices.Sort(ks)
		ri.problem(Problem{Kind: InitMissing, Rep: rep, K: kp(ks[0]), Key: layout.InitKey(ch.Name, rep, h),
			Detail: fmt.Sprintf("named by the reap-init of %d media objects (K %d..%d), not in the store; they were indexed with the newest init", len(ks), ks[0], ks[len(ks)-1])})
	}
}

// commonExt is the most common extension of the media objects.
func commonExt(media []mediaObject) string {
	count := map[string]int{}
	best := ""
	for _, m := range media {
		count[m.ext]++
		if count[m.ext] > count[best] || (count[m.ext] == count[best] && m.ext < best) {
			best = m.ext
		}
	}
	return best
}

// segmentRow builds the index row of a media object from its attributes,
// or from its bytes where they are missing (or with readData); nil and a
// problem when the object is not a valid segment of the track at its K.
func (ri *repIndexer) segmentRow(ctx context.Context, o mediaObject) (*index.Segment, error) {
	oa, ok, err := ri.attrsOf(ctx, o)
	if !ok || err != nil {
		return nil, err
	}
	attrs, attrsErr := oa.attrs, oa.err
	f := segFacts{ept: attrs.EPT, dur: attrs.Duration, segDur: attrs.SegDur, timescale: uint64(attrs.Timescale),
		filler: attrs.Filler, last: attrs.Last, size: oa.size, sum: attrs.SHA256}
	rec := ri.initOf(o, attrs.Init)
	isText := rec != nil && rec.info.ContentType == "text"
	if attrsErr != nil || ri.readData || attrs.Events > 0 || isText {
		ok, err := ri.readBody(ctx, o, rec, attrs.SHA256, &f)
		if !ok || err != nil {
			return nil, err
		}
	}
	if detail := ri.checkTiming(o, &f); detail != "" {
		ri.corrupt(o, "%s", detail)
		return nil, nil
	}
	var initID int64
	if rec != nil {
		initID = rec.row.ID
	}
	ri.mu.Lock()
	if ri.seenSegDur == 0 {
		ri.seenSegDur, ri.seenTimescale = f.segDur, uint32(f.timescale)
	}
	ri.mu.Unlock()
	if f.info != nil {
		ri.collectEvents(o, f.info, uint32(f.timescale))
	}
	if isText {
		ri.mu.Lock()
		ri.texts = append(ri.texts, textCheck{k: o.k, issues: f.textIssues,
			timing: cmaf.SegmentInfo{EPT: f.info.EPT, Duration: f.info.Duration, SampleDuration: f.info.SampleDuration}})
		ri.mu.Unlock()
	}
	return &index.Segment{TrackID: ri.track.ID, K: o.k, EPT: f.ept, Duration: f.dur, Size: f.size, SHA256: f.sum,
		Key: o.key, InitID: initID, ReceivedAt: oa.modTime, Filler: f.filler, Last: f.last}, nil
}

// segFacts is what segmentRow knows of a media object: from its
// attributes, then from its bytes where it read them (info, textIssues).
type segFacts struct {
	ept, dur, segDur uint64
	timescale        uint64 // ticks a second of the segment's times
	filler, last     bool
	size             int64
	sum              string // SHA-256 of the bytes, hex
	info             *cmaf.SegmentInfo
	textIssues       []cmaf.TextIssue
}

// gone reports object o as listed but no longer there.
func (ri *repIndexer) gone(o mediaObject, err error) {
	ri.problem(Problem{Kind: Unreadable, Rep: ri.track.Rep, K: kp(o.k), Key: o.key, Detail: "listed, but not found when read: " + err.Error()})
}

// corrupt reports object o as not a valid segment of the track at its K.
func (ri *repIndexer) corrupt(o mediaObject, format string, args ...any) {
	ri.problem(Problem{Kind: Corrupt, Rep: ri.track.Rep, K: kp(o.k), Key: o.key, Detail: fmt.Sprintf(format, args...)})
}

// initOf is the init that object o's reap-init (h16) names, noting a
// named init the store does not have; else the newest init.
func (ri *repIndexer) initOf(o mediaObject, h16 string) *initRec {
	if h16 != "" && ri.inits[h16] == nil {
		ri.mu.Lock()
		if ri.missingInits == nil {
			ri.missingInits = map[string][]int64{}
		}
		ri.missingInits[h16] = append(ri.missingInits[h16], o.k)
		ri.mu.Unlock()
	}
	return ri.initFor(h16)
}

// initFor is the init that a reap-init (h16) names, else the newest init.
func (ri *repIndexer) initFor(h16 string) *initRec {
	if rec := ri.inits[h16]; rec != nil {
		return rec
	}
	return ri.latest
}

// readBody reads and parses the bytes of o (decoding with rec, if any)
// into f, checking them against metaSHA (the reap-sha256 attribute, or
// ""); false when o is gone or not a valid segment (reported).
func (ri *repIndexer) readBody(ctx context.Context, o mediaObject, rec *initRec, metaSHA string, f *segFacts) (bool, error) {
	data, err := ri.st.Get(ctx, o.key)
	if cloud.IsNotFound(err) {
		ri.gone(o, err)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ri.mu.Lock()
	ri.res.BodiesRead++
	ri.mu.Unlock()
	h := sha256.Sum256(data)
	f.sum, f.size = hex.EncodeToString(h[:]), int64(len(data))
	if metaSHA != "" && metaSHA != f.sum {
		ri.corrupt(o, "the bytes hash to %s, the object's reap-sha256 says %s", short(f.sum), short(metaSHA))
		return false, nil
	}
	var initInfo *cmaf.InitInfo
	if rec != nil {
		initInfo = rec.info
	}
	if f.info, err = cmaf.ParseSegment(data, initInfo); err != nil {
		ri.corrupt(o, "not a valid segment: %v", err)
		return false, nil
	}
	f.textIssues = cmaf.CheckText(data, initInfo, f.info)
	f.ept, f.dur, f.filler, f.last = f.info.EPT, f.info.Duration, f.info.Filler, f.info.LastSegment
	if initInfo != nil && f.timescale == 0 {
		f.timescale = uint64(initInfo.Timescale)
	}
	return true, nil
}

// checkTiming completes f's timescale and segment duration (from the
// track, else as the recorder does without an I-MPD) and says why f's
// times do not index o at its K, or "".
func (ri *repIndexer) checkTiming(o mediaObject, f *segFacts) string {
	if f.timescale == 0 {
		f.timescale = uint64(ri.track.Timescale)
	}
	if f.segDur == 0 {
		f.segDur = ri.track.SegDur
	}
	if f.segDur == 0 && f.timescale > 0 && f.dur > 0 {
		// As the recorder does without an I-MPD: D from the duration, in ms.
		d := math.Round(float64(f.dur)/float64(f.timescale)*1000) / 1000
		f.segDur = uint64(math.Round(d * float64(f.timescale)))
	}
	if f.segDur == 0 {
		return "no segment duration: no reap-segdur attribute, no I-MPD and no init segment say it"
	}
	if reason := unrepresentable(f.ept, f.dur, f.segDur, o.k); reason != "" {
		return reason
	}
	if k := (index.Track{SegDur: f.segDur}).EpochIndex(f.ept); k != o.k {
		return fmt.Sprintf("EPT %d is epoch index %d (D*T %d), not the K of its key", f.ept, k, f.segDur)
	}
	return ""
}

// collectEvents notes the events of segment info, the object o, for
// flushEvents; an event with no exact start is reported and left out.
func (ri *repIndexer) collectEvents(o mediaObject, info *cmaf.SegmentInfo, trackTS uint32) {
	evs, err := info.ResolvedEvents(trackTS)
	if err != nil {
		ri.problem(Problem{Kind: Corrupt, Rep: ri.track.Rep, K: kp(o.k), Key: o.key, Detail: "event not indexed: " + err.Error()})
	}
	ri.mu.Lock()
	defer ri.mu.Unlock()
	ri.res.Events += int64(len(info.Events))
	for _, e := range evs {
		ri.events = append(ri.events, index.EmsgEvent(ri.track.ID, o.k, e))
	}
}

// unrepresentable says why a segment's times cannot be indexed (the index
// holds signed 64-bit integers), or "": an EPT or duration over 2^63-1 (an
// object a recorder before the time checks stored), or a K whose start K*D
// overflows.
func unrepresentable(ept, dur, segDur uint64, k int64) string {
	switch {
	case ept > math.MaxInt64:
		return fmt.Sprintf("EPT %d is over 2^63-1: not a representable time", ept)
	case dur > math.MaxInt64:
		return fmt.Sprintf("duration %d is over 2^63-1", dur)
	case !(index.Track{SegDur: segDur}).KFits(k):
		return fmt.Sprintf("epoch index %d at D*T %d is not a representable time", k, segDur)
	}
	return ""
}

func short(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}

// markStart records in the index where the channel's archive starts when
// retention has let go of what was before horizon (zero: nothing): the K
// before it are then no gaps (LAYOUT.md, Retention and deletion order).
func (ix *indexer) markStart(ctx context.Context, ch index.ChannelRow, horizon time.Time) error {
	if horizon.IsZero() {
		return nil
	}
	tracks, err := ix.db.Tracks(ctx, ch.ID)
	if err != nil {
		return err
	}
	for _, t := range tracks {
		if t.SegDur == 0 || t.Timescale == 0 {
			continue
		}
		k, _ := t.KAt(horizon)
		if err := ix.db.MarkExpiring(ctx, t.ID, k, horizon); err != nil {
			return err
		}
	}
	return nil
}
