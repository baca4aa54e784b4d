// Package archive records: it takes segments delivered by redundant
// sources (pulled, pushed, spooled or repaired), keeps exactly one copy of
// each interchangeable segment (deduplicated by epoch index K), writes it
// to the blob store in the layout of package layout and records it in the
// index. Channel is the one door for recording: OfferInit, OfferMPD and
// OfferSegment; the adapters (archive/pull, archive/ingest, repair) go
// through it and touch neither the store nor the index themselves.
package archive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/archive/spool"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
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
	Info    index.ChannelRow
	segDurS float64 // nominal segment duration D in seconds, 0 until known

	mu      sync.Mutex
	tracks  map[string]*trackState
	sources map[string]index.SourceRow

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
	c := &Channel{a: a, Info: ch, segDurS: segDur.Seconds(), tracks: map[string]*trackState{}, sources: map[string]index.SourceRow{}}
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

// holdsBack says whether a first delivery of a K from source waits for the
// preferred source's copy: a preference is set and source is not it.
func (c *Channel) holdsBack(source string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prefer != "" && c.grace > 0 && source != c.prefer
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

// segDurSeconds is D in seconds, 0 while it is not known.
func (c *Channel) segDurSeconds() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.segDurS
}

// Source returns (creating if needed) the index row of a source.
func (c *Channel) Source(ctx context.Context, name, url string) (index.SourceRow, error) {
	if err := layout.ValidName("source", name); err != nil {
		return index.SourceRow{}, err
	}
	c.mu.Lock()
	s, ok := c.sources[name]
	c.mu.Unlock()
	if ok && (url == "" || s.URL == url) {
		return s, nil
	}
	s, err := c.a.DB.EnsureSource(ctx, c.Info.ID, name, url)
	if err != nil {
		return index.SourceRow{}, fmt.Errorf("source %s: %w", name, err)
	}
	c.mu.Lock()
	c.sources[name] = s
	c.mu.Unlock()
	return s, nil
}

// knownTrackState is trackState for a track that is in the index: nil if
// it is not (it is not created).
func (c *Channel) knownTrackState(ctx context.Context, rep string) (*trackState, error) {
	c.mu.Lock()
	state := c.tracks[rep]
	c.mu.Unlock()
	if state != nil {
		return state, nil
	}
	if _, err := c.a.DB.Track(ctx, c.Info.ID, rep); errors.Is(err, index.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("track %s: %w", rep, err)
	}
	return c.trackState(ctx, rep)
}

// Track is the index row of rep's track, false if the track is not in the
// index.
func (c *Channel) Track(ctx context.Context, rep string) (index.Track, bool, error) {
	state, err := c.knownTrackState(ctx, rep)
	if state == nil || err != nil {
		return index.Track{}, false, err
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	return state.track, true, nil
}

// Lacking lists the ranges of K in [fromK, toK] that rep's track has no
// stored segment for (index.DB.Lacking), creating the track if needed.
func (c *Channel) Lacking(ctx context.Context, rep string, fromK, toK int64) ([]index.Range, error) {
	state, err := c.trackState(ctx, rep)
	if err != nil {
		return nil, err
	}
	state.mu.Lock()
	id := state.track.ID
	state.mu.Unlock()
	return c.a.DB.Lacking(ctx, id, fromK, toK)
}

// CurrentInit is the init segment that source's segments of rep decode
// with: the one source offered last, else the track's current one (the
// newest offered by any source or, after a restart, the newest indexed),
// or nil while the track has none or is not in the index.
func (c *Channel) CurrentInit(ctx context.Context, source, rep string) (*cmaf.InitInfo, error) {
	state, err := c.knownTrackState(ctx, rep)
	if state == nil || err != nil {
		return nil, err
	}
	state.mu.Lock()
	defer state.mu.Unlock()
	if st := state.current[source]; st != nil {
		return st.info, nil
	}
	if st := state.latest; st != nil {
		return st.info, nil
	}
	return nil, nil
}

// HasVideo says whether the channel has a video track this writer knows
// of (one offered or looked up since it was opened).
func (c *Channel) HasVideo() bool {
	c.mu.Lock()
	states := make([]*trackState, 0, len(c.tracks))
	for _, state := range c.tracks {
		states = append(states, state)
	}
	c.mu.Unlock()
	for _, state := range states {
		state.mu.Lock()
		video := state.track.ContentType == "video"
		state.mu.Unlock()
		if video {
			return true
		}
	}
	return false
}

func (c *Channel) trackState(ctx context.Context, rep string) (*trackState, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if state, ok := c.tracks[rep]; ok {
		return state, nil
	}
	t, err := c.a.DB.Track(ctx, c.Info.ID, rep)
	if errors.Is(err, index.ErrNotFound) {
		t, err = c.a.DB.UpsertTrack(ctx, index.Track{ChannelID: c.Info.ID, Rep: rep})
	}
	if err != nil {
		return nil, fmt.Errorf("track %s: %w", rep, err)
	}
	state := &trackState{track: t, inits: map[string]*initState{}, current: map[string]*initState{}}
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
		state.inits[in.Hash] = &initState{info: info, row: in}
		state.latest = state.inits[in.Hash] // Inits lists oldest first
	}
	c.tracks[rep] = state
	return state, nil
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
