package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// Offer is one delivery of a media segment.
type Offer struct {
	Source string
	Rep    string
	Data   []byte
	// ExpectK is the epoch index the source addressed the segment as (pull:
	// the number requested), or -1 when unknown (push: identity comes from
	// the bytes only).
	ExpectK int64
	// InitSHA256, when set, names an init already offered for the track
	// that the segment goes with (pull: the init of the source Period that
	// holds K); otherwise the source's current init is used.
	InitSHA256 string
	// Backfill marks a delivery that fills K = ExpectK, a K the archive
	// knows it lacks (repair): its time is checked against that K, not
	// against the recorder's clock (Archive.MaxTimeSkew).
	Backfill bool
	// SHA256, when set, is the SHA-256 of Data (lower-case hex) that the
	// adapter computed while the bytes streamed in (push): Data is then not
	// hashed a second time. It must be Data's digest; empty: computed here.
	// Ignored for a streamed segment (Body).
	SHA256 string
	// Body, when set, streams the rest of the segment (see
	// Archive.StreamsSegments): Data is then the segment's head, every
	// byte up to and including the header of its mdat, which must be its
	// last box, and Body yields that mdat's payload, BodySize bytes.
	// OfferSegment reads Body at most once, hashing it as it passes, and
	// writes it to the object as it arrives (or, for a later copy of a
	// stored K, only hashes it). A Body that fails or ends early gives an
	// error wrapping ErrBody; nothing of it is stored or indexed.
	Body     io.Reader
	BodySize int64
}

// Result says what happened to an offered segment.
type Result struct {
	K       int64
	Key     string
	Outcome index.Outcome
	Info    *cmaf.SegmentInfo
	Detail  string
}

// OfferSegment validates a media segment and keeps it if it is the first
// valid copy of its epoch index; later copies are counted as duplicates (same
// timing) or conflicts (different timing) and never overwrite. It returns
// after the object is durable and indexed.
//
// Its steps: validate → await the preferred source → claim (track, K) →
// store → record → classify a later copy.
func (c *Channel) OfferSegment(ctx context.Context, o Offer) (Result, error) {
	d, res, err := c.validate(ctx, o)
	if err != nil {
		return res, err
	}
	if err := c.streamOrBuffer(d); err != nil {
		return Result{}, err
	}
	cl, err := c.claim(ctx, d)
	if err != nil {
		return Result{}, err
	}
	defer cl.release()
	res = Result{K: d.k, Key: d.key, Info: d.info}
	// Once we start writing, finish: storage and index must agree.
	wctx := context.WithoutCancel(ctx)
	stored := cl.stored
	if !cl.found {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		var done bool
		if res, stored, done, err = c.store(ctx, d, res); err != nil || done {
			return res, err
		}
	} else if err := c.hashUnwritten(d, stored); err != nil {
		return Result{}, err
	}
	return c.classify(wctx, d, res, stored)
}

// offered is one delivery while OfferSegment works on it.
type offered struct {
	o     Offer
	body  *segmentBody // o.Body, while streamed; nil: buffered
	src   index.SourceRow
	state *trackState
	cur   *initState // the init the segment decodes with
	track index.Track
	info  *cmaf.SegmentInfo
	now   time.Time
	k     int64
	key   string
}

// delivery is d's delivery row, before its outcome is known.
func (d *offered) delivery() index.Delivery {
	return index.Delivery{TrackID: d.track.ID, K: d.k, SourceID: d.src.ID, EPT: d.info.EPT, Duration: d.info.Duration,
		Size: int64(d.info.Size), SHA256: d.info.SHA256, ReceivedAt: d.now, Filler: d.info.Filler}
}

// segment is the index row of d's segment stored under key.
func (d *offered) segment(key string) index.Segment {
	return index.Segment{TrackID: d.track.ID, K: d.k, EPT: d.info.EPT, Duration: d.info.Duration, Size: int64(d.info.Size),
		SHA256: d.info.SHA256, Key: key, InitID: d.cur.row.ID, SourceID: d.src.ID, ReceivedAt: d.now,
		Filler: d.info.Filler, Last: d.info.LastSegment}
}

// validate is OfferSegment's first step: it finds the segment's init,
// parses the segment and checks its time, grid and epoch index. A segment
// that fails is recorded as rejected (when its K is known) and the error
// wraps ErrInvalid.
func (c *Channel) validate(ctx context.Context, o Offer) (*offered, Result, error) {
	d, err := c.prepare(ctx, o)
	if err != nil {
		return nil, Result{}, err
	}
	if o.Body != nil {
		d.body = newSegmentBody(o)
	}
	if d.cur == nil {
		return c.reject(ctx, d, o.ExpectK, "no init segment for the track yet")
	}
	if d.info, err = parseOffer(o, d.cur.info); err != nil {
		return c.reject(ctx, d, o.ExpectK, "%v", err)
	}
	if detail := c.a.checkTime(o, d.info.EPT, d.cur.info.Timescale, d.now); detail != "" {
		return c.reject(ctx, d, o.ExpectK, "%s", detail)
	}
	if d.track.SegDur == 0 {
		if ok, err := c.learnSegmentDuration(ctx, d); err != nil {
			return nil, Result{}, err
		} else if !ok {
			return c.reject(ctx, d, o.ExpectK, "segment has zero duration")
		}
	}
	d.k = d.track.EpochIndex(d.info.EPT)
	switch ept := d.info.EPT; {
	case !d.track.KFits(d.k):
		return c.reject(ctx, d, o.ExpectK, "EPT %d is epoch index %d: its time K×D overflows 64 bits", ept, d.k)
	case !d.track.OnGrid(ept, d.track.SegDur/2):
		return c.reject(ctx, d, o.ExpectK, "EPT %d is not on the segment grid", ept)
	case o.ExpectK >= 0 && d.k != o.ExpectK:
		return c.reject(ctx, d, o.ExpectK, "EPT %d is epoch index %d, requested as %d", ept, d.k, o.ExpectK)
	case !d.info.StartsWithSync && d.track.ContentType == "video":
		return c.reject(ctx, d, d.k, "segment %d does not start with a sync sample", d.k)
	}
	d.key = layout.MediaKey(c.Info.Name, o.Rep, d.k, d.track.Ext)
	return d, Result{}, nil
}

// prepare looks up o's source and track and picks the init o decodes with:
// the one o names, else the source's current one, else (a source that sent
// no init yet) any of the track's.
func (c *Channel) prepare(ctx context.Context, o Offer) (*offered, error) {
	src, err := c.Source(ctx, o.Source, "")
	if err != nil {
		return nil, err
	}
	state, err := c.trackState(ctx, o.Rep)
	if err != nil {
		return nil, err
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	cur := state.inits[o.InitSHA256]
	if cur == nil {
		cur = state.current[o.Source]
	}
	if cur == nil {
		for _, st := range state.inits {
			cur = st
			break
		}
	}
	return &offered{o: o, src: src, state: state, cur: cur, track: state.track, now: c.a.Now()}, nil
}

// reject records d as rejected for K k (if k is known) and returns the
// ErrInvalid error that says why.
func (c *Channel) reject(ctx context.Context, d *offered, k int64, format string, args ...any) (*offered, Result, error) {
	detail := fmt.Sprintf(format, args...)
	if k >= 0 && d.track.ID != 0 {
		_ = c.a.DB.Record(context.WithoutCancel(ctx), nil, index.Delivery{TrackID: d.track.ID, K: k, SourceID: d.src.ID,
			Outcome: index.Rejected, Size: d.o.size(), ReceivedAt: d.now, Detail: detail})
	}
	return nil, Result{K: k, Outcome: index.Rejected, Detail: detail},
		fmt.Errorf("%w: %s %s from %s: %s", ErrInvalid, c.Info.Name, d.o.Rep, d.o.Source, detail)
}

// learnSegmentDuration sets the track's D·T, not set yet: from the
// channel's D when it is known (an I-MPD that came after the init), else
// (push without I-MPD) from d's segment, in ms. It is false if that
// segment has zero duration.
func (c *Channel) learnSegmentDuration(ctx context.Context, d *offered) (bool, error) {
	timescale := d.cur.info.Timescale
	dur := c.SegmentDuration().Seconds()
	if dur == 0 {
		dur = math.Round(float64(d.info.Duration)/float64(timescale)*1000) / 1000
	}
	if dur <= 0 {
		return false, nil
	}
	c.SetSegmentDuration(time.Duration(dur * float64(time.Second)))
	state := d.state
	state.mu.Lock()
	defer state.mu.Unlock()
	state.track.SegDur = uint64(math.Round(dur * float64(timescale)))
	row, err := c.a.DB.UpsertTrack(ctx, state.track)
	if err != nil {
		return false, fmt.Errorf("track %s: %w", d.o.Rep, err)
	}
	state.track, d.track = row, row
	return true, nil
}

// claimed is K of a track held by one delivery, and its stored copy if any.
type claimed struct {
	stored  index.Segment
	found   bool
	release func() // unlocks K, then releases deliveries waiting for the preferred copy
}

// claim holds K for d: it locks (track, K) and looks up K's stored copy, in
// the index or the spool. A delivery from a source other than the channel's
// preferred one that finds K not stored first waits for the preferred
// copy (awaitPreferred) and then looks again.
func (c *Channel) claim(ctx context.Context, d *offered) (claimed, error) {
	key := lockKey{d.track.ID, d.k}
	if !c.holdsBack(d.o.Source) {
		release, err := c.awaitPreferred(ctx, d.o.Source, key, d.now) // returns at once
		if err != nil {
			return claimed{}, err
		}
		return c.lockAndLookUp(ctx, d, key, release)
	}
	cl, err := c.lockAndLookUp(ctx, d, key, func() {})
	if err != nil || cl.found {
		return cl, err
	}
	cl.release()
	release, err := c.awaitPreferred(ctx, d.o.Source, key, d.now)
	if err != nil {
		return claimed{}, err
	}
	return c.lockAndLookUp(ctx, d, key, release)
}

// lockAndLookUp locks key and looks up d's K; release runs after the
// unlock.
func (c *Channel) lockAndLookUp(ctx context.Context, d *offered, key lockKey, release func()) (claimed, error) {
	unlock := c.a.locks.lock(key)
	stored, found, err := c.storedCopy(ctx, d)
	if err != nil {
		unlock()
		release()
		return claimed{}, err
	}
	return claimed{stored: stored, found: found, release: func() { unlock(); release() }}, nil
}

// storedCopy is the stored copy of d's K: its index row or, while it waits
// in the spool, what its spooled entry says (a spooled K counts as stored:
// later copies are duplicates).
func (c *Channel) storedCopy(ctx context.Context, d *offered) (index.Segment, bool, error) {
	stored, ok, err := c.a.DB.Segment(ctx, d.track.ID, d.k)
	if err != nil {
		return index.Segment{}, false, fmt.Errorf("index lookup %s: %w", d.key, err)
	}
	if ok || c.a.Spool == nil {
		return stored, ok, nil
	}
	e, found := c.a.Spool.Pending(d.key)
	if !found {
		return index.Segment{}, false, nil
	}
	if stored, ok = spooledSegment(e); !ok {
		return index.Segment{}, false, fmt.Errorf("spooled %s: unreadable metadata", d.key)
	}
	return stored, true, nil
}

// store writes d's segment create-only under its key and records it. If
// the store cannot take it, it is spooled; if the key exists, the object
// there is K's stored copy (or this source's own earlier attempt, which
// this delivery completes). done says res is final; otherwise stored is
// the copy d is a later delivery of.
func (c *Channel) store(ctx context.Context, d *offered, res Result) (_ Result, stored index.Segment, done bool, _ error) {
	wctx := context.WithoutCancel(ctx)
	var err error
	if c.a.Spool != nil && c.a.Spool.Len() > 0 {
		// Segments are spooled: the store was unreachable. Queue
		// behind them, so that they reach the store in order.
		err = errSpoolFirst
	} else {
		err = c.createObject(ctx, d, d.key)
	}
	switch {
	case err != nil && !errors.Is(err, cloud.ErrExists) && c.a.Spool != nil && ctx.Err() == nil && d.body == nil:
		res, err = c.spool(wctx, d, res, segmentMeta(d.info, d.cur, d.track, d.o.Source), err)
		return res, index.Segment{}, true, err
	case err == nil:
		res, err = c.record(wctx, d, res)
		return res, index.Segment{}, true, err
	case errors.Is(err, cloud.ErrExists):
		return c.storedMeanwhile(wctx, d, res)
	default:
		return Result{}, index.Segment{}, true, fmt.Errorf("store %s: %w", d.key, err)
	}
}

// spool keeps d's segment in the spool, the store having refused it with
// cause, and indexes what the segment holds besides its row.
func (c *Channel) spool(ctx context.Context, d *offered, res Result, meta map[string]string, cause error) (Result, error) {
	del := d.delivery()
	del.Outcome, del.Identical, del.TimingEqual = index.Stored, true, true
	if err := c.a.spoolSegment(d.key, d.o.Data, meta, d.segment(d.key), del, d.cur.row, cause); err != nil {
		if errors.Is(cause, errSpoolFirst) {
			return Result{}, err
		}
		return Result{}, fmt.Errorf("store %s: %w; %w", d.key, cause, err)
	}
	cont, err := c.contents(ctx, d.track, d.k, d.o.Data, d.info, d.cur)
	if err != nil {
		return Result{}, err
	}
	if err := c.a.DB.AddContents(ctx, *cont); err != nil {
		return Result{}, fmt.Errorf("index %s: %w", d.key, err)
	}
	res.Outcome, res.Detail = index.Stored, "spooled"
	return res, nil
}

// record indexes d's segment, just stored, its contents and its delivery,
// in one index transaction. A failure leaves the segment unindexed, and
// the source's retry completes it (completeStored).
func (c *Channel) record(ctx context.Context, d *offered, res Result) (Result, error) {
	cont, err := c.contents(ctx, d.track, d.k, d.o.Data, d.info, d.cur)
	if err != nil {
		return Result{}, err
	}
	seg := d.segment(d.key)
	del := d.delivery()
	del.Outcome, del.Identical, del.TimingEqual = index.Stored, true, true
	err = c.a.DB.RecordWith(ctx, &seg, cont, del)
	if errors.Is(err, index.ErrExists) {
		// Another recorder on this index lost the Create race and
		// indexed our object from storage first: the row describes
		// this very object, so only our delivery (and the contents) are
		// left to record.
		err = c.a.DB.RecordWith(ctx, nil, cont, del)
	}
	if err != nil {
		return Result{}, fmt.Errorf("index %s: %w", d.key, err)
	}
	if err := c.lowerFirstK(ctx, d.state, d.cur, d.k); err != nil {
		return Result{}, fmt.Errorf("index init first K %s: %w", d.key, err)
	}
	res.Outcome = index.Stored
	return res, nil
}

// storedMeanwhile handles d's key existing in storage: another recorder
// (or an earlier run whose index lost it) stored K, and the object in
// storage is the truth. If it is this source's own earlier attempt, stored
// but not indexed (the index write failed, the source got an error and
// retried), this delivery completes it (done); otherwise the object is
// indexed and returned as K's stored copy.
func (c *Channel) storedMeanwhile(ctx context.Context, d *offered, res Result) (_ Result, stored index.Segment, done bool, _ error) {
	seg, from, err := c.a.storedObject(ctx, d.track.ID, d.k, d.key, d.cur.row.ID)
	if err != nil {
		return Result{}, index.Segment{}, true, err
	}
	if from == d.o.Source && seg.SHA256 == d.info.SHA256 {
		cont, err := c.contents(ctx, d.track, d.k, d.o.Data, d.info, d.cur)
		if err != nil {
			return Result{}, index.Segment{}, true, err
		}
		if res, err = c.completeStored(ctx, res, seg, cont, d.src.ID, d.delivery()); err != nil {
			return Result{}, index.Segment{}, true, err
		}
		if err := c.lowerFirstK(ctx, d.state, d.cur, d.k); err != nil {
			return Result{}, index.Segment{}, true, fmt.Errorf("index init first K %s: %w", d.key, err)
		}
		return res, index.Segment{}, true, nil
	}
	if err := c.a.DB.Record(ctx, &seg); err != nil && !errors.Is(err, index.ErrExists) {
		return Result{}, index.Segment{}, true, fmt.Errorf("index %s: %w", d.key, err)
	}
	return res, seg, false, nil
}

// classify records d, a later delivery of K whose copy stored is kept, as
// a duplicate or conflict, unless stored is an encoder's filler and d a
// real copy, which then replaces it.
func (c *Channel) classify(ctx context.Context, d *offered, res Result, stored index.Segment) (Result, error) {
	if stored.Filler && !d.info.Filler {
		return c.replaceFiller(ctx, d, res, stored)
	}
	return c.recordCopy(ctx, res, stored, d.delivery())
}

// recordCopy records del, a later delivery of a K whose stored copy is
// stored, as a duplicate (same timing) or a conflict.
func (c *Channel) recordCopy(ctx context.Context, res Result, stored index.Segment, del index.Delivery) (Result, error) {
	del = judgeCopy(stored, del)
	if del.Outcome == index.Conflict {
		c.a.Log.Warn("conflicting delivery", "channel", c.Info.Name, "key", res.Key, "source_id", del.SourceID, "detail", del.Detail)
	}
	if err := c.a.DB.Record(ctx, nil, del); err != nil {
		return Result{}, fmt.Errorf("index delivery %s: %w", res.Key, err)
	}
	res.Outcome, res.Detail = del.Outcome, del.Detail
	return res, nil
}

// judgeCopy is del, a later delivery of a K whose copy stored is kept, with
// its outcome: a duplicate if its timing equals the stored copy's,
// otherwise a conflict.
func judgeCopy(stored index.Segment, del index.Delivery) index.Delivery {
	del.Identical = stored.SHA256 == del.SHA256
	del.TimingEqual = stored.EPT == del.EPT && stored.Duration == del.Duration
	if del.TimingEqual {
		del.Outcome = index.Duplicate
		return del
	}
	del.Outcome = index.Conflict
	del.Detail = fmt.Sprintf("stored EPT %d duration %d, this delivery EPT %d duration %d", stored.EPT, stored.Duration, del.EPT, del.Duration)
	return del
}

// eventRows is the index rows of the events (emsg boxes) of the stored
// segment K of track. An event whose start is no exact time is logged and
// left out: the segment is kept as sent.
func (c *Channel) eventRows(track index.Track, k int64, info *cmaf.SegmentInfo, trackTS uint32) []index.Event {
	if len(info.Events) == 0 {
		return nil
	}
	evs, err := info.ResolvedEvents(trackTS)
	if err != nil {
		c.a.Log.Warn("event not indexed", "channel", c.Info.Name, "rep", track.Rep, "k", k, "err", err)
	}
	rows := make([]index.Event, len(evs))
	for i, e := range evs {
		rows[i] = index.EmsgEvent(track.ID, k, e)
	}
	return rows
}

// segmentMeta is the attributes (LAYOUT.md) of a media object: info's,
// decoding with cur, of track, delivered by source.
func segmentMeta(info *cmaf.SegmentInfo, cur *initState, track index.Track, source string) map[string]string {
	return layout.SegmentAttrs{EPT: info.EPT, Duration: info.Duration, Timescale: cur.info.Timescale, SegDur: track.SegDur,
		SHA256: info.SHA256, Init: layout.InitID(cur.row.Hash), Source: source, Events: len(info.Events),
		Filler: info.Filler, Last: info.LastSegment}.Map()
}

// replaceFiller makes d, a real copy of a K whose stored copy filler is an
// encoder's filler (slat), the archive's copy without overwriting anything
// (LAYOUT.md, Encoder fillers): the real copy is written create-only to
// layout.RealKey first, then the index row is switched to it. If the real
// key exists already (an earlier attempt, another recorder), that object is
// the real copy and this delivery is recorded against it.
func (c *Channel) replaceFiller(ctx context.Context, d *offered, res Result, filler index.Segment) (Result, error) {
	info, o, cur, track := d.info, d.o, d.cur, d.track
	key := layout.RealKey(c.Info.Name, o.Rep, res.K, track.Ext)
	err := c.createObject(ctx, d, key)
	del := d.delivery() // streamed: its SHA-256 is known once written
	cp := d.segment(key)
	cp.Filler = false // a real copy
	if errors.Is(err, cloud.ErrExists) {
		theirs, from, aerr := c.a.storedObject(ctx, track.ID, res.K, key, cur.row.ID)
		if aerr != nil {
			return Result{}, aerr
		}
		if from != o.Source || theirs.SHA256 != info.SHA256 {
			// Another source's real copy: it replaces the filler, and
			// this delivery is a copy of it.
			theirs.Last = info.LastSegment && theirs.SHA256 == info.SHA256
			if err := c.a.DB.ReplaceFiller(ctx, theirs, nil, nil); err != nil && !errors.Is(err, index.ErrExists) {
				return Result{}, fmt.Errorf("index %s: %w", key, err)
			}
			res.Key = key
			return c.recordCopy(ctx, res, theirs, del)
		}
		err = nil // this source's own earlier attempt: complete it
	}
	if err != nil {
		return Result{}, fmt.Errorf("store %s: %w", key, err)
	}
	cont, err := c.contents(ctx, track, res.K, o.Data, info, cur)
	if err != nil {
		return Result{}, err
	}
	del.Outcome, del.Identical, del.TimingEqual = index.Stored, true, true
	del.Detail = "replaces the encoder filler " + filler.Key
	if err := c.a.DB.ReplaceFiller(ctx, cp, cont, &del); errors.Is(err, index.ErrExists) {
		// Switched meanwhile (another recorder on this index): a copy.
		now, _, lerr := c.a.DB.Segment(ctx, track.ID, res.K)
		if lerr != nil {
			return Result{}, fmt.Errorf("index lookup %s: %w", key, lerr)
		}
		del.Detail = ""
		res.Key = now.Key
		return c.recordCopy(ctx, res, now, del)
	} else if err != nil {
		return Result{}, fmt.Errorf("index %s: %w", key, err)
	}
	c.a.Log.Info("encoder filler replaced by a real copy", "channel", c.Info.Name, "rep", o.Rep, "k", res.K, "source", o.Source, "filler", filler.Key, "key", key)
	res.Key, res.Outcome, res.Detail = key, index.Stored, del.Detail
	return res, nil
}

// RecordMissing notes that a source did not deliver segment K of rep.
func (c *Channel) RecordMissing(ctx context.Context, source, rep string, k int64, detail string) error {
	src, err := c.Source(ctx, source, "")
	if err != nil {
		return err
	}
	state, err := c.trackState(ctx, rep)
	if err != nil {
		return err
	}
	state.mu.Lock()
	id := state.track.ID
	state.mu.Unlock()
	return c.a.DB.Record(context.WithoutCancel(ctx), nil, index.Delivery{TrackID: id, K: k, SourceID: src.ID, Outcome: index.Missing, ReceivedAt: c.a.Now(), Detail: detail})
}

// lowerFirstK notes that the init cur decodes K of the track of state. The init's
// first K only ever moves down: one index write per new minimum, not one
// per segment.
func (c *Channel) lowerFirstK(ctx context.Context, state *trackState, cur *initState, k int64) error {
	state.mu.Lock()
	lower := k < cur.row.FirstK
	row := cur.row
	state.mu.Unlock()
	if !lower {
		return nil
	}
	got, err := c.a.DB.AddInit(ctx, index.Init{TrackID: row.TrackID, Hash: row.Hash, ConfigHash: row.ConfigHash, Key: row.Key, Size: row.Size, FirstK: k})
	if err != nil {
		return err
	}
	state.mu.Lock()
	cur.row.FirstK = min(cur.row.FirstK, got.FirstK)
	state.mu.Unlock()
	return nil
}

// completeStored indexes seg, the object a source's earlier attempt stored,
// and its contents cont, with del as that source's stored delivery.
func (c *Channel) completeStored(ctx context.Context, res Result, seg index.Segment, cont *index.Contents, sourceID int64, del index.Delivery) (Result, error) {
	seg.SourceID = sourceID
	del.Outcome, del.Identical, del.TimingEqual = index.Stored, true, true
	err := c.a.DB.RecordWith(ctx, &seg, cont, del)
	if errors.Is(err, index.ErrExists) {
		err = c.a.DB.RecordWith(ctx, nil, cont, del) // another recorder indexed it meanwhile
	}
	if err != nil {
		return Result{}, fmt.Errorf("index %s: %w", seg.Key, err)
	}
	res.Outcome, res.Detail = index.Stored, "stored by an earlier attempt of this source"
	return res, nil
}

// storedObject is the index row of K of a track (initID: the init to
// record it with) from the object that exists in storage under key, from
// its attributes (or, lacking them, from its bytes), and the source the
// attributes name ("" if none).
func (a *Archive) storedObject(ctx context.Context, trackID, k int64, key string, initID int64) (index.Segment, string, error) {
	at, err := a.Store.Attributes(ctx, key)
	if err != nil {
		return index.Segment{}, "", fmt.Errorf("read existing %s: %w", key, err)
	}
	attrs, aerr := layout.ParseSegmentAttrs(at.Meta)
	from := attrs.Source
	seg := index.Segment{TrackID: trackID, K: k, Size: at.Size, Key: key, InitID: initID, ReceivedAt: at.ModTime,
		Filler: attrs.Filler, Last: attrs.Last}
	if aerr == nil {
		seg.EPT, seg.Duration, seg.SHA256 = attrs.EPT, attrs.Duration, attrs.SHA256
		return seg, from, nil
	}
	data, err := a.Store.Get(ctx, key)
	if err != nil {
		return index.Segment{}, "", fmt.Errorf("read existing %s: %w", key, err)
	}
	info, err := cmaf.ParseSegment(data, nil)
	if err != nil {
		return index.Segment{}, "", fmt.Errorf("existing object %s is not a valid segment: %w", key, err)
	}
	seg.EPT, seg.Duration, seg.SHA256 = info.EPT, info.Duration, info.SHA256
	seg.Filler, seg.Last = info.Filler, info.LastSegment
	return seg, from, nil
}
