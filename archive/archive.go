// Package archive is the archive as a whole: it takes segments delivered by
// redundant sources (pulled or pushed), keeps exactly one copy of each
// interchangeable segment (deduplicated by epoch index K), writes it to the
// blob store in the layout of package layout and records it in the index.
package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/archive/cmaf"
	"github.com/reaparchive/reaparchive/archive/spool"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// ErrInvalid marks a delivery whose bytes are not a valid segment of the track.
var ErrInvalid = errors.New("invalid segment")

// DefaultMaxTimeSkew is the default Archive.MaxTimeSkew of a recorder.
const DefaultMaxTimeSkew = 24 * time.Hour

// ErrInitMismatch marks an init segment whose codec configuration differs from
// the one the track already has from another source.
var ErrInitMismatch = errors.New("init segment does not match the track")

// Archive ties a blob store and an index together.
type Archive struct {
	Store *cloud.Store
	DB    *index.DB
	Log   *slog.Logger
	Now   func() time.Time

	// Spool, if set, keeps segments the store cannot take (unreachable
	// after retries) until it is back: see RunSpool.
	Spool *spool.Spool

	// MaxTimeSkew, if positive, is how far a live delivery's time (its EPT)
	// may lie from Now; a segment further away is refused before anything
	// is written. Backfill offers (repair) are checked against the K they
	// fill instead. 0 turns the check off (record sets DefaultMaxTimeSkew).
	MaxTimeSkew time.Duration

	locks keyedMutex

	chMu  sync.Mutex
	chans map[string]*Channel // one writer per channel, shared by pull and push
}

// New returns an Archive over store and db.
func New(store *cloud.Store, db *index.DB, log *slog.Logger) *Archive {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Archive{Store: store, DB: db, Log: log, Now: time.Now}
}

// Channel is a writer for one channel of the archive. It caches track state
// and is safe for concurrent use.
type Channel struct {
	a       *Archive
	Info    index.Channel
	segDurS float64 // nominal segment duration D in seconds, 0 until known

	mu      sync.Mutex
	tracks  map[string]*trackState
	sources map[string]index.Source

	// The preferred source (README.md, "Preferred source": e.g. the
	// high-quality fiber feed) and how
	// long after the first delivery of a K its copy is waited for.
	prefer string
	grace  time.Duration
	waits  map[lockKey]*prefWait
}

// prefWait is one K some non-preferred source delivered first: it waits
// for the preferred source's copy until first+grace.
type prefWait struct {
	first time.Time
	done  chan struct{} // closed once the preferred copy was offered or K was stored
}

type trackState struct {
	mu    sync.Mutex
	track index.Track
	// inits by full hash
	inits map[string]*initState
	// current init per source
	current map[string]*initState
	// latest is the init most recently offered by any source (or, after a
	// restart, the newest indexed): the track's current configuration.
	latest *initState
}

type initState struct {
	info *cmaf.InitInfo
	row  index.Init
}

// OpenChannel returns a writer for the named channel, creating it in the
// index if needed. segDur is the channel's nominal segment duration D (0 if
// not known yet: it is then taken from the first segment).
//
// Every call for the same name returns the same writer, so pull and push
// sources of one channel share its track state (current inits, D).
func (a *Archive) OpenChannel(ctx context.Context, name string, segDur time.Duration) (*Channel, error) {
	if err := layout.ValidName("channel", name); err != nil {
		return nil, err
	}
	a.chMu.Lock()
	defer a.chMu.Unlock()
	if c, ok := a.chans[name]; ok {
		if segDur > 0 {
			c.SetSegmentDuration(segDur)
		}
		return c, nil
	}
	ch, err := a.DB.EnsureChannel(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("channel %s: %w", name, err)
	}
	c := &Channel{a: a, Info: ch, segDurS: segDur.Seconds(), tracks: map[string]*trackState{}, sources: map[string]index.Source{}}
	if a.chans == nil {
		a.chans = map[string]*Channel{}
	}
	a.chans[name] = c
	return c, nil
}

// SetSegmentDuration sets the nominal segment duration D if it is not known.
func (c *Channel) SetSegmentDuration(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.segDurS == 0 {
		c.segDurS = d.Seconds()
	}
}

// SetPreference names the channel's preferred source: when several sources
// deliver the same K, the preferred source's copy is kept if it arrives
// within grace of the first delivery, otherwise the first valid one. An
// empty source (or grace 0) turns the preference off.
// The preferred source's name is kept in the index (status shows it).
func (c *Channel) SetPreference(ctx context.Context, source string, grace time.Duration) error {
	if source != "" {
		if err := layout.ValidName("source", source); err != nil {
			return err
		}
	}
	if grace < 0 {
		return fmt.Errorf("preferred source grace %v is negative", grace)
	}
	if err := c.a.DB.SetPreferredSource(ctx, c.Info.ID, source); err != nil {
		return err
	}
	c.mu.Lock()
	c.Info.PreferredSource = source
	defer c.mu.Unlock()
	c.prefer, c.grace = source, grace
	return nil
}

// awaitPreferred holds a delivery of K from a non-preferred source until
// the preferred source has offered K, K is stored, or grace has passed
// since the first delivery of K. It returns a function to call once the
// caller has stored K (or given up on it), releasing other waiters.
func (c *Channel) awaitPreferred(ctx context.Context, source string, key lockKey, now time.Time) (release func(), err error) {
	c.mu.Lock()
	prefer, grace := c.prefer, c.grace
	if prefer == "" || grace <= 0 {
		c.mu.Unlock()
		return func() {}, nil
	}
	if source == prefer {
		c.mu.Unlock()
		return func() { c.preferDone(key) }, nil
	}
	if c.waits == nil {
		c.waits = map[lockKey]*prefWait{}
	}
	w := c.waits[key]
	if w == nil {
		w = &prefWait{first: now, done: make(chan struct{})}
		c.waits[key] = w
	}
	c.mu.Unlock()
	t := time.NewTimer(time.Until(w.first.Add(grace)))
	defer t.Stop()
	select {
	case <-w.done:
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return func() { c.preferDone(key) }, nil
}

// preferDone releases everyone waiting for the preferred copy of key.
func (c *Channel) preferDone(key lockKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if w := c.waits[key]; w != nil {
		close(w.done)
		delete(c.waits, key)
	}
}

// SegmentDuration returns the channel's nominal segment duration D, or 0
// while it is not known.
func (c *Channel) SegmentDuration() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Duration(c.segDurS * float64(time.Second))
}

// Source returns (creating if needed) the index row of a source.
func (c *Channel) Source(ctx context.Context, name, url string) (index.Source, error) {
	if err := layout.ValidName("source", name); err != nil {
		return index.Source{}, err
	}
	c.mu.Lock()
	s, ok := c.sources[name]
	c.mu.Unlock()
	if ok && (url == "" || s.URL == url) {
		return s, nil
	}
	s, err := c.a.DB.EnsureSource(ctx, c.Info.ID, name, url)
	if err != nil {
		return index.Source{}, fmt.Errorf("source %s: %w", name, err)
	}
	c.mu.Lock()
	c.sources[name] = s
	c.mu.Unlock()
	return s, nil
}

// TrackMeta is what a manifest says about a track; zero fields are unknown.
type TrackMeta struct {
	Rep         string
	ContentType string
	MimeType    string
	Codecs      string
	Lang        string
	Roles       string
	Label       string
	Width       int
	Height      int
	FrameRate   string
	SampleRate  int
	Channels    int
	Bandwidth   int
}

// TrackMetaOf is what the live MPD's track lt says of it.
func TrackMetaOf(lt *manifest.LiveTrack) TrackMeta {
	return TrackMeta{Rep: lt.Rep, ContentType: lt.ContentType, MimeType: lt.MimeType, Codecs: lt.Codecs,
		Lang: lt.Lang, Roles: strings.Join(lt.Roles, ","), Label: lt.Label, Width: lt.Width, Height: lt.Height,
		FrameRate: lt.FrameRate, SampleRate: lt.SampleRate, Channels: lt.Channels, Bandwidth: lt.Bandwidth}
}

// DescribeTrack merges manifest metadata into the track's index row.
func (c *Channel) DescribeTrack(ctx context.Context, m TrackMeta) error {
	if err := layout.ValidName("representation", m.Rep); err != nil {
		return err
	}
	ts, err := c.trackState(ctx, m.Rep)
	if err != nil {
		return err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	t := ts.track
	t.MimeType, t.Lang, t.Roles, t.Label, t.FrameRate = m.MimeType, m.Lang, m.Roles, m.Label, m.FrameRate
	t.Bandwidth = m.Bandwidth
	if t.ContentType == "" {
		t.ContentType = m.ContentType
	}
	if t.Codecs == "" {
		t.Codecs = m.Codecs
	}
	if t.Width == 0 {
		t.Width, t.Height = m.Width, m.Height
	}
	if t.SampleRate == 0 {
		t.SampleRate = m.SampleRate
	}
	if t.Channels == 0 {
		t.Channels = m.Channels
	}
	row, err := c.a.DB.UpsertTrack(ctx, t)
	if err != nil {
		return fmt.Errorf("track %s: %w", m.Rep, err)
	}
	ts.track = row
	return nil
}

func (c *Channel) trackState(ctx context.Context, rep string) (*trackState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ts, ok := c.tracks[rep]; ok {
		return ts, nil
	}
	t, err := c.a.DB.Track(ctx, c.Info.ID, rep)
	if errors.Is(err, index.ErrNotFound) {
		t, err = c.a.DB.UpsertTrack(ctx, index.Track{ChannelID: c.Info.ID, Rep: rep})
	}
	if err != nil {
		return nil, fmt.Errorf("track %s: %w", rep, err)
	}
	ts := &trackState{track: t, inits: map[string]*initState{}, current: map[string]*initState{}}
	inits, err := c.a.DB.Inits(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("track %s inits: %w", rep, err)
	}
	for _, in := range inits {
		data, err := c.a.Store.Get(ctx, in.Key)
		if err != nil {
			c.a.Log.Warn("indexed init segment unreadable", "key", in.Key, "err", err)
			continue
		}
		info, err := cmaf.ParseInit(data)
		if err != nil {
			c.a.Log.Warn("indexed init segment invalid", "key", in.Key, "err", err)
			continue
		}
		ts.inits[in.Hash] = &initState{info: info, row: in}
		ts.latest = ts.inits[in.Hash] // Inits lists oldest first
	}
	c.tracks[rep] = ts
	return ts, nil
}

// InitResult says what OfferInit did.
type InitResult struct {
	Info    *cmaf.InitInfo
	Key     string
	New     bool // a new init version for the track
	Changed bool // the codec configuration differs from the track's earlier init
}

// OfferInit takes an init segment from a source for a representation. It is
// validated, stored create-only under its content address and becomes the
// source's current init for the track. With strict set, an init whose codec
// configuration differs from the one the track already has is refused with
// ErrInitMismatch (push ingest); otherwise it starts a new init version (an
// encoder restart with a new configuration, pull mode).
func (c *Channel) OfferInit(ctx context.Context, source, rep string, data []byte, strict bool) (InitResult, error) {
	info, err := cmaf.ParseInit(data)
	if err != nil {
		return InitResult{}, fmt.Errorf("%w: init from %s for %s: %w", ErrInvalid, source, rep, err)
	}
	ts, err := c.trackState(ctx, rep)
	if err != nil {
		return InitResult{}, err
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	res := InitResult{Info: info}
	if st, ok := ts.inits[info.SHA256]; ok {
		ts.current[source] = st
		ts.latest = st
		res.Key = st.row.Key
		return res, nil
	}
	// Compare with the track's current configuration: the newest init
	// version (after an encoder restart with new settings, the old ones
	// are history, not the reference).
	if st := ts.latest; st != nil {
		if st.info.ConfigHash != info.ConfigHash || st.info.Timescale != info.Timescale || st.info.TrackID != info.TrackID {
			res.Changed = true
			if strict {
				return InitResult{}, fmt.Errorf("%w: %s init from %s has codecs %s, timescale %d, track %d; the track has %s, timescale %d, track %d",
					ErrInitMismatch, rep, source, info.Codecs, info.Timescale, info.TrackID, st.info.Codecs, st.info.Timescale, st.info.TrackID)
			}
		}
	}
	t := ts.track
	if t.ContentType != "" && t.ContentType != info.ContentType {
		return InitResult{}, fmt.Errorf("%w: %s init from %s is %s, the track is %s", ErrInitMismatch, rep, source, info.ContentType, t.ContentType)
	}
	ext := layout.Ext(info.ContentType)
	key := layout.InitKey(c.Info.Name, rep, info.SHA256)
	if err := c.a.Store.Create(ctx, key, data, layout.SourceAttrs(source)); err != nil && !errors.Is(err, cloud.ErrExists) {
		return InitResult{}, fmt.Errorf("store init %s: %w", key, err)
	}
	row, err := c.a.DB.AddInit(ctx, index.Init{TrackID: t.ID, Hash: info.SHA256, ConfigHash: info.ConfigHash, Key: key, Size: int64(len(data)), FirstK: math.MaxInt64})
	if err != nil {
		return InitResult{}, fmt.Errorf("index init %s: %w", key, err)
	}
	// The init is the truth for codec and timing parameters of the track.
	t.ContentType, t.Timescale, t.Ext = info.ContentType, info.Timescale, ext
	if info.Codecs != "" {
		t.Codecs = info.Codecs
	}
	if info.Width > 0 {
		t.Width, t.Height = info.Width, info.Height
	}
	if info.SampleRate > 0 {
		t.SampleRate = info.SampleRate
	}
	if info.Channels > 0 {
		t.Channels = info.Channels
	}
	if t.Lang == "" && info.Lang != "" && info.Lang != "und" {
		t.Lang = info.Lang
	}
	if t.Bandwidth == 0 && info.Bitrate > 0 {
		t.Bandwidth = info.Bitrate
	}
	c.mu.Lock()
	d := c.segDurS
	c.mu.Unlock()
	if d > 0 && t.SegDur == 0 {
		t.SegDur = uint64(math.Round(d * float64(info.Timescale)))
	}
	if t, err = c.a.DB.UpsertTrack(ctx, t); err != nil {
		return InitResult{}, fmt.Errorf("track %s: %w", rep, err)
	}
	ts.track = t
	st := &initState{info: info, row: row}
	ts.inits[info.SHA256] = st
	ts.current[source] = st
	ts.latest = st
	res.Key, res.New = key, true
	if res.Changed {
		c.a.Log.Warn("init segment changed: new init version", "channel", c.Info.Name, "rep", rep, "source", source, "codecs", info.Codecs, "key", key)
	}
	return res, nil
}

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
func (c *Channel) OfferSegment(ctx context.Context, o Offer) (Result, error) {
	src, err := c.Source(ctx, o.Source, "")
	if err != nil {
		return Result{}, err
	}
	ts, err := c.trackState(ctx, o.Rep)
	if err != nil {
		return Result{}, err
	}
	ts.mu.Lock()
	cur := ts.inits[o.InitSHA256]
	if cur == nil {
		cur = ts.current[o.Source]
	}
	if cur == nil {
		for _, st := range ts.inits { // a source that sent no init yet: use any compatible one
			cur = st
			break
		}
	}
	track := ts.track
	ts.mu.Unlock()
	now := c.a.Now()
	reject := func(k int64, format string, args ...any) (Result, error) {
		detail := fmt.Sprintf(format, args...)
		if k >= 0 && track.ID != 0 {
			_ = c.a.DB.Record(context.WithoutCancel(ctx), nil, index.Delivery{TrackID: track.ID, K: k, SourceID: src.ID, Outcome: index.Rejected, Size: int64(len(o.Data)), ReceivedAt: now, Detail: detail})
		}
		return Result{K: k, Outcome: index.Rejected, Detail: detail}, fmt.Errorf("%w: %s %s from %s: %s", ErrInvalid, c.Info.Name, o.Rep, o.Source, detail)
	}
	if cur == nil {
		return reject(o.ExpectK, "no init segment for the track yet")
	}
	info, err := cmaf.ParseSegment(o.Data, cur.info)
	if err != nil {
		return reject(o.ExpectK, "%v", err)
	}
	if detail := c.a.checkTime(o, info.EPT, cur.info.Timescale, now); detail != "" {
		return reject(o.ExpectK, "%s", detail)
	}
	if track.SegDur == 0 {
		// The track's D*T is not set yet: use the channel's D when it is
		// known (an I-MPD that came after the init), else (push without
		// I-MPD) take it from this segment, in ms.
		d := c.SegmentDuration().Seconds()
		if d == 0 {
			d = math.Round(float64(info.Duration)/float64(cur.info.Timescale)*1000) / 1000
		}
		if d <= 0 {
			return reject(o.ExpectK, "segment has zero duration")
		}
		c.SetSegmentDuration(time.Duration(d * float64(time.Second)))
		ts.mu.Lock()
		ts.track.SegDur = uint64(math.Round(d * float64(cur.info.Timescale)))
		if ts.track, err = c.a.DB.UpsertTrack(ctx, ts.track); err != nil {
			ts.mu.Unlock()
			return Result{}, fmt.Errorf("track %s: %w", o.Rep, err)
		}
		track = ts.track
		ts.mu.Unlock()
	}
	k := track.EpochIndex(info.EPT)
	if !track.KFits(k) {
		return reject(o.ExpectK, "EPT %d is epoch index %d: its time K×D overflows 64 bits", info.EPT, k)
	}
	if !track.OnGrid(info.EPT, track.SegDur/2) {
		return reject(o.ExpectK, "EPT %d is not on the segment grid", info.EPT)
	}
	if o.ExpectK >= 0 && k != o.ExpectK {
		return reject(o.ExpectK, "EPT %d is epoch index %d, requested as %d", info.EPT, k, o.ExpectK)
	}
	if !info.StartsWithSync && track.ContentType == "video" {
		return reject(k, "segment %d does not start with a sync sample", k)
	}
	c.mu.Lock()
	waitPreferred := c.prefer != "" && c.grace > 0
	c.mu.Unlock()
	if waitPreferred {
		_, stored, err := c.a.DB.Segment(ctx, track.ID, k)
		if err != nil {
			return Result{}, fmt.Errorf("index lookup %s %d: %w", o.Rep, k, err)
		}
		if !stored { // else this delivery is a duplicate or conflict: no wait
			release, err := c.awaitPreferred(ctx, o.Source, lockKey{track.ID, k}, now)
			if err != nil {
				return Result{}, err
			}
			defer release()
		}
	}
	unlock := c.a.locks.lock(lockKey{track.ID, k})
	defer unlock()
	// Once we start writing, finish: storage and index must agree.
	wctx := context.WithoutCancel(ctx)
	del := index.Delivery{TrackID: track.ID, K: k, SourceID: src.ID, EPT: info.EPT, Duration: info.Duration, Size: int64(info.Size), SHA256: info.SHA256, ReceivedAt: now, Filler: info.Filler}
	key := layout.MediaKey(c.Info.Name, o.Rep, k, track.Ext)
	res := Result{K: k, Key: key, Info: info}

	stored, ok, err := c.a.DB.Segment(ctx, track.ID, k)
	if err != nil {
		return Result{}, fmt.Errorf("index lookup %s: %w", key, err)
	}
	if !ok && c.a.Spool != nil {
		// A spooled K counts as stored: later copies are duplicates.
		if e, found := c.a.Spool.Pending(key); found {
			if stored, ok = spooledSegment(e); !ok {
				return Result{}, fmt.Errorf("spooled %s: unreadable metadata", key)
			}
		}
	}
	if !ok {
		if err := ctx.Err(); err != nil {
			return Result{}, err
		}
		meta := segmentMeta(info, cur, track, o.Source)
		seg := index.Segment{TrackID: track.ID, K: k, EPT: info.EPT, Duration: info.Duration, Size: int64(info.Size), SHA256: info.SHA256, Key: key, InitID: cur.row.ID, SourceID: src.ID, ReceivedAt: now,
			Filler: info.Filler, Last: info.LastSegment}
		var err error
		if c.a.Spool != nil && c.a.Spool.Len() > 0 {
			// Segments are spooled: the store was unreachable. Queue
			// behind them, so that they reach the store in order.
			err = errSpoolFirst
		} else {
			err = c.a.Store.Create(ctx, key, o.Data, meta)
		}
		if err != nil && !errors.Is(err, cloud.ErrExists) && c.a.Spool != nil && ctx.Err() == nil {
			sdel := del
			sdel.Outcome, sdel.Identical, sdel.TimingEqual = index.Stored, true, true
			if serr := c.a.spoolSegment(key, o.Data, meta, seg, sdel, cur.row, err); serr != nil {
				if errors.Is(err, errSpoolFirst) {
					return Result{}, serr
				}
				return Result{}, fmt.Errorf("store %s: %w; %w", key, err, serr)
			}
			if err := c.indexSegment(wctx, track, k, o.Data, info, cur); err != nil {
				return Result{}, err
			}
			res.Outcome, res.Detail = index.Stored, "spooled"
			return res, nil
		}
		switch {
		case err == nil:
			// Events and text issues first: a failure leaves the segment
			// unindexed, and the source's retry completes both
			// (completeStored).
			if err := c.indexSegment(wctx, track, k, o.Data, info, cur); err != nil {
				return Result{}, err
			}
			del.Outcome, del.Identical, del.TimingEqual = index.Stored, true, true
			err := c.a.DB.Record(wctx, &seg, del)
			if errors.Is(err, index.ErrExists) {
				// Another recorder on this index lost the Create race and
				// indexed our object from storage first: the row describes
				// this very object, so only our delivery is left to record.
				err = c.a.DB.Record(wctx, nil, del)
			}
			if err != nil {
				return Result{}, fmt.Errorf("index %s: %w", key, err)
			}
			if err := c.lowerFirstK(wctx, ts, cur, k); err != nil {
				return Result{}, fmt.Errorf("index init first K %s: %w", key, err)
			}
			res.Outcome = index.Stored
			return res, nil
		case errors.Is(err, cloud.ErrExists):
			// Another recorder (or an earlier run whose index lost it) stored K:
			// the object in storage is the truth.
			seg, from, aerr := c.storedObject(wctx, track, k, key, cur.row.ID)
			if aerr != nil {
				return Result{}, aerr
			}
			if from == o.Source && seg.SHA256 == info.SHA256 {
				// This source's own earlier attempt, stored but not indexed
				// (the index write failed, the source got an error and
				// retried): this delivery completes it.
				if err := c.indexSegment(wctx, track, k, o.Data, info, cur); err != nil {
					return Result{}, err
				}
				if res, err = c.completeStored(wctx, res, seg, src.ID, del); err != nil {
					return Result{}, err
				}
				if err := c.lowerFirstK(wctx, ts, cur, k); err != nil {
					return Result{}, fmt.Errorf("index init first K %s: %w", key, err)
				}
				return res, nil
			}
			if err := c.a.DB.Record(wctx, &seg); err != nil && !errors.Is(err, index.ErrExists) {
				return Result{}, fmt.Errorf("index %s: %w", key, err)
			}
			stored = seg
		default:
			return Result{}, fmt.Errorf("store %s: %w", key, err)
		}
	}
	if stored.Filler && !info.Filler {
		// K is stored as an encoder's filler; this is a real copy.
		return c.replaceFiller(wctx, o, res, stored, cur, track, del)
	}
	return c.recordCopy(wctx, res, stored, del)
}

// recordCopy records del, a later delivery of a K whose stored copy is
// stored, as a duplicate (same timing) or a conflict.
func (c *Channel) recordCopy(ctx context.Context, res Result, stored index.Segment, del index.Delivery) (Result, error) {
	info := res.Info
	del.Identical = stored.SHA256 == info.SHA256
	del.TimingEqual = stored.EPT == info.EPT && stored.Duration == info.Duration
	if del.TimingEqual {
		del.Outcome = index.Duplicate
	} else {
		del.Outcome = index.Conflict
		del.Detail = fmt.Sprintf("stored EPT %d duration %d, this delivery EPT %d duration %d", stored.EPT, stored.Duration, info.EPT, info.Duration)
		c.a.Log.Warn("conflicting delivery", "channel", c.Info.Name, "key", res.Key, "source_id", del.SourceID, "detail", del.Detail)
	}
	if err := c.a.DB.Record(ctx, nil, del); err != nil {
		return Result{}, fmt.Errorf("index delivery %s: %w", res.Key, err)
	}
	res.Outcome, res.Detail = del.Outcome, del.Detail
	return res, nil
}

// indexEvents records the events (emsg boxes) of the stored segment K of
// track. An event whose start is no exact time is logged and left out: the
// segment is kept as sent.
func (c *Channel) indexEvents(ctx context.Context, track index.Track, k int64, info *cmaf.SegmentInfo, trackTS uint32) error {
	if len(info.Events) == 0 {
		return nil
	}
	evs, err := info.ResolvedEvents(trackTS)
	if err != nil {
		c.a.Log.Warn("event not indexed", "channel", c.Info.Name, "rep", track.Rep, "k", k, "err", err)
	}
	rows := make([]index.Event, len(evs))
	for i, e := range evs {
		rows[i] = eventRow(track.ID, k, e)
	}
	if err := c.a.DB.AddEvents(ctx, rows); err != nil {
		return fmt.Errorf("index events of %s %d: %w", track.Rep, k, err)
	}
	return nil
}

// eventRow is the index row of event e (resolved: cmaf.SegmentInfo.
// ResolvedEvents) carried by segment K of a track.
func eventRow(trackID, k int64, e cmaf.Emsg) index.Event {
	return index.Event{TrackID: trackID, Scheme: e.SchemeIDURI, Value: e.Value, ID: e.ID, K: k, Version: int(e.Version),
		Timescale: e.Timescale, PresentationTime: e.PresentationTime, Duration: e.EventDuration, Message: e.Message}
}

// segmentMeta is the attributes (LAYOUT.md) of a media object: info's,
// decoding with cur, of track, delivered by source.
func segmentMeta(info *cmaf.SegmentInfo, cur *initState, track index.Track, source string) map[string]string {
	return layout.SegmentAttrs{EPT: info.EPT, Duration: info.Duration, Timescale: cur.info.Timescale, SegDur: track.SegDur,
		SHA256: info.SHA256, Init: layout.InitID(cur.row.Hash), Source: source, Events: len(info.Events),
		Filler: info.Filler, Last: info.LastSegment}.Map()
}

// replaceFiller makes o, a real copy of a K whose stored copy filler is an
// encoder's filler (slat), the archive's copy without overwriting anything
// (LAYOUT.md, Encoder fillers): the real copy is written create-only to
// layout.RealKey first, then the index row is switched to it. If the real
// key exists already (an earlier attempt, another recorder), that object is
// the real copy and this delivery is recorded against it.
func (c *Channel) replaceFiller(ctx context.Context, o Offer, res Result, filler index.Segment, cur *initState, track index.Track, del index.Delivery) (Result, error) {
	info := res.Info
	key := layout.RealKey(c.Info.Name, o.Rep, res.K, track.Ext)
	cp := index.Segment{TrackID: track.ID, K: res.K, EPT: info.EPT, Duration: info.Duration, Size: int64(info.Size), SHA256: info.SHA256, Key: key,
		InitID: cur.row.ID, SourceID: del.SourceID, ReceivedAt: del.ReceivedAt, Last: info.LastSegment}
	err := c.a.Store.Create(ctx, key, o.Data, segmentMeta(info, cur, track, o.Source))
	if errors.Is(err, cloud.ErrExists) {
		theirs, from, aerr := c.storedObject(ctx, track, res.K, key, cur.row.ID)
		if aerr != nil {
			return Result{}, aerr
		}
		if from != o.Source || theirs.SHA256 != info.SHA256 {
			// Another source's real copy: it replaces the filler, and
			// this delivery is a copy of it.
			theirs.Last = info.LastSegment && theirs.SHA256 == info.SHA256
			if err := c.a.DB.ReplaceFiller(ctx, theirs, nil); err != nil && !errors.Is(err, index.ErrExists) {
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
	if err := c.indexSegment(ctx, track, res.K, o.Data, info, cur); err != nil {
		return Result{}, err
	}
	del.Outcome, del.Identical, del.TimingEqual = index.Stored, true, true
	del.Detail = "replaces the encoder filler " + filler.Key
	if err := c.a.DB.ReplaceFiller(ctx, cp, &del); errors.Is(err, index.ErrExists) {
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
	ts, err := c.trackState(ctx, rep)
	if err != nil {
		return err
	}
	ts.mu.Lock()
	id := ts.track.ID
	ts.mu.Unlock()
	return c.a.DB.Record(context.WithoutCancel(ctx), nil, index.Delivery{TrackID: id, K: k, SourceID: src.ID, Outcome: index.Missing, ReceivedAt: c.a.Now(), Detail: detail})
}

// lowerFirstK notes that the init cur decodes K of track ts. The init's
// first K only ever moves down: one index write per new minimum, not one
// per segment.
func (c *Channel) lowerFirstK(ctx context.Context, ts *trackState, cur *initState, k int64) error {
	ts.mu.Lock()
	lower := k < cur.row.FirstK
	row := cur.row
	ts.mu.Unlock()
	if !lower {
		return nil
	}
	got, err := c.a.DB.AddInit(ctx, index.Init{TrackID: row.TrackID, Hash: row.Hash, ConfigHash: row.ConfigHash, Key: row.Key, Size: row.Size, FirstK: k})
	if err != nil {
		return err
	}
	ts.mu.Lock()
	cur.row.FirstK = min(cur.row.FirstK, got.FirstK)
	ts.mu.Unlock()
	return nil
}

// completeStored indexes seg, the object a source's earlier attempt stored,
// with del as that source's stored delivery.
func (c *Channel) completeStored(ctx context.Context, res Result, seg index.Segment, sourceID int64, del index.Delivery) (Result, error) {
	seg.SourceID = sourceID
	del.Outcome, del.Identical, del.TimingEqual = index.Stored, true, true
	err := c.a.DB.Record(ctx, &seg, del)
	if errors.Is(err, index.ErrExists) {
		err = c.a.DB.Record(ctx, nil, del) // another recorder indexed it meanwhile
	}
	if err != nil {
		return Result{}, fmt.Errorf("index %s: %w", seg.Key, err)
	}
	res.Outcome, res.Detail = index.Stored, "stored by an earlier attempt of this source"
	return res, nil
}

// segmentFromStorage builds the index row of an object that exists in
// storage, from its metadata (or, lacking it, from its bytes).
func (c *Channel) segmentFromStorage(ctx context.Context, track index.Track, k int64, key string, initID int64) (index.Segment, error) {
	seg, _, err := c.storedObject(ctx, track, k, key, initID)
	return seg, err
}

// storedObject is segmentFromStorage, and the source the object's
// attributes name ("" if none).
func (c *Channel) storedObject(ctx context.Context, track index.Track, k int64, key string, initID int64) (index.Segment, string, error) {
	at, err := c.a.Store.Attributes(ctx, key)
	if err != nil {
		return index.Segment{}, "", fmt.Errorf("read existing %s: %w", key, err)
	}
	attrs, aerr := layout.ParseSegmentAttrs(at.Meta)
	from := attrs.Source
	seg := index.Segment{TrackID: track.ID, K: k, Size: at.Size, Key: key, InitID: initID, ReceivedAt: at.ModTime,
		Filler: attrs.Filler, Last: attrs.Last}
	if aerr == nil {
		seg.EPT, seg.Duration, seg.SHA256 = attrs.EPT, attrs.Duration, attrs.SHA256
		return seg, from, nil
	}
	data, err := c.a.Store.Get(ctx, key)
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

// maxUnixSecond is 9999-12-31T23:59:59Z: later times are not representable
// (RFC 3339 years have four digits).
const maxUnixSecond = 253402300799

// EPTTime is the wall-clock time of a presentation time ept in timescale
// units since the epoch, or an error if it is no representable time: over
// 2^63-1 (the index stores signed 64-bit integers) or after year 9999.
func EPTTime(ept uint64, timescale uint32) (time.Time, error) {
	if timescale == 0 {
		return time.Time{}, errors.New("timescale 0")
	}
	if ept > math.MaxInt64 {
		return time.Time{}, fmt.Errorf("EPT %d is over 2^63-1: not a representable time", ept)
	}
	sec, rem := ept/uint64(timescale), ept%uint64(timescale)
	if sec > maxUnixSecond {
		return time.Time{}, fmt.Errorf("EPT %d (timescale %d) is after the year 9999: not a representable time", ept, timescale)
	}
	return time.Unix(int64(sec), int64(rem*uint64(time.Second)/uint64(timescale))).UTC(), nil
}

// checkTime says why a delivery's EPT is not a plausible time, or "": it
// must be representable and, for a live delivery (not Backfill), lie within
// MaxTimeSkew of now.
func (a *Archive) checkTime(o Offer, ept uint64, timescale uint32, now time.Time) string {
	t, err := EPTTime(ept, timescale)
	if err != nil {
		return err.Error()
	}
	skew := a.MaxTimeSkew
	if o.Backfill && o.ExpectK < 0 {
		return "a backfill delivery must name the K it fills"
	}
	if o.Backfill || skew <= 0 {
		return ""
	}
	if d := t.Sub(now); d > skew || -d > skew {
		return fmt.Sprintf("EPT %d (timescale %d) is %s, more than %v from the recorder's clock (%s)",
			ept, timescale, t.Format(time.RFC3339), skew, now.UTC().Format(time.RFC3339))
	}
	return ""
}

// EpochIndex is K = round(EPT / segDur), the REaP epoch index of a segment:
// index.Track.EpochIndex for a D·T that is not (yet) a track's.
func EpochIndex(ept, segDur uint64) int64 {
	return index.Track{SegDur: segDur}.EpochIndex(ept)
}

type lockKey struct {
	track int64
	k     int64
}

// keyedMutex serialises work on one (track, K) without a global lock.
type keyedMutex struct {
	mu sync.Mutex
	m  map[lockKey]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (km *keyedMutex) lock(k lockKey) func() {
	km.mu.Lock()
	if km.m == nil {
		km.m = map[lockKey]*refMutex{}
	}
	m := km.m[k]
	if m == nil {
		m = &refMutex{}
		km.m[k] = m
	}
	m.refs++
	km.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		km.mu.Lock()
		m.refs--
		if m.refs == 0 {
			delete(km.m, k)
		}
		km.mu.Unlock()
	}
}
