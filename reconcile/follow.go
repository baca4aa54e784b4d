package reconcile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

const (
	// followLate is how far behind a track's newest indexed segment, and
	// behind the clock, a fast pass lists: an object stored that much
	// later than its neighbours (a second recorder's late copy) is still
	// seen by the next fast pass; an older one by the next full pass.
	followLate = time.Minute
	// followAheadK is how many K past the clock's a fast pass lists
	// (encoders ahead of the follower's clock).
	followAheadK = 2
	// defaultFollowInterval is the interval between passes while the index
	// has no track with a segment duration.
	defaultFollowInterval = time.Second
)

// FollowOptions configure Follow.
type FollowOptions struct {
	Options
	// Interval is the time between passes; 0: half the shortest segment
	// duration of the followed channels' tracks.
	Interval time.Duration
	// FullEvery is how often a pass is a full one (a Reindex: every
	// channel of the store listed whole); 0: only the first pass, and the
	// pass after one that failed.
	FullEvery time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

func (o *FollowOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// FollowPass is what one pass of a Follower did.
type FollowPass struct {
	Pass      int64            `json:"pass"` // 1 for the first
	Full      bool             `json:"full"` // relisted every channel whole (Reindex)
	Started   time.Time        `json:"started"`
	Seconds   float64          `json:"seconds"`    // how long it took
	ListCalls int64            `json:"list_calls"` // List and ListDir calls of the store
	Listed    int64            `json:"listed"`     // keys the listings returned
	Indexed   int64            `json:"indexed"`    // segment rows added
	Splices   int              `json:"splices"`    // splices newly applied
	Undone    int              `json:"undone"`     // splices undone in the index: their records are gone
	Removed   int64            `json:"removed"`    // segment rows removed: retention expired them
	Problems  int              `json:"problems"`   // problems the channels below report
	Channels  []ReindexChannel `json:"channels"`   // the channels the pass indexed (fast passes: those with new objects)
}

// Follower keeps an index current from the store alone, one pass at a
// time: a full pass is a Reindex; a fast pass lists, per channel, <ch>/
// (I-MPDs, representations, splice records), and per representation only
// the keys of the K near its newest indexed segment and near the clock's
// K (a listing of <ch>/<rep>/ with the prefix of those K's common leading
// digits), then its init segments, and indexes what it had not seen the
// pass before, as Reindex does. A representation the index has no
// segment of yet is listed whole.
type Follower struct {
	st     *cloud.Store
	db     *index.DB
	opts   FollowOptions
	bodies *bodyCache

	pass     int64
	lastFull time.Time
	needFull bool
	// handled: per channel, the keys the last fast pass listed and
	// indexed (or reported); notChannels: top-level directories that hold
	// no archive object. Both are reset by a full pass.
	handled     map[string]map[string]bool
	notChannels map[string]bool
	// expired: per channel, the retention horizon whose expired rows the
	// index no longer has (settle); gaps: per track ID, its gaps that fast
	// passes list in turn (listGaps). Both are reset by a full pass.
	expired map[string]time.Time
	gaps    map[int64]*trackGaps
}

// NewFollower returns a Follower of the store into db; its first pass is
// a full one.
func NewFollower(st *cloud.Store, db *index.DB, opts FollowOptions) *Follower {
	return &Follower{st: st, db: db, opts: opts, needFull: true, expired: map[string]time.Time{}, gaps: map[int64]*trackGaps{}}
}

// Follow runs passes of a Follower until ctx ends (then it returns nil): the
// first at once (its error is returned: a store or channel that cannot be
// followed), then one every opts.Interval. onPass is called after each
// pass with what it did; a later pass's error goes to onPass, and the pass
// after it is a full one.
func Follow(ctx context.Context, st *cloud.Store, db *index.DB, opts FollowOptions, onPass func(FollowPass, error)) error {
	f := NewFollower(st, db, opts)
	p, err := f.Pass(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	onPass(p, nil)
	for {
		wait := opts.Interval
		if wait <= 0 {
			if wait, err = f.DefaultInterval(ctx); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		p, err := f.Pass(ctx)
		if ctx.Err() != nil {
			return nil
		}
		onPass(p, err)
	}
}

// DefaultInterval is half the shortest segment duration of the followed
// channels' tracks in the index (defaultFollowInterval if none says one).
func (f *Follower) DefaultInterval(ctx context.Context) (time.Duration, error) {
	chans, err := f.db.Channels(ctx)
	if err != nil {
		return 0, err
	}
	shortest := time.Duration(0)
	for _, ch := range chans {
		if f.opts.Channel != "" && ch.Name != f.opts.Channel {
			continue
		}
		tracks, err := f.db.Tracks(ctx, ch.ID)
		if err != nil {
			return 0, err
		}
		for _, t := range tracks {
			if t.SegDur == 0 || t.Timescale == 0 {
				continue
			}
			d := time.Duration(float64(t.SegDur) / float64(t.Timescale) * float64(time.Second))
			if d > 0 && (shortest == 0 || d < shortest) {
				shortest = d
			}
		}
	}
	if shortest == 0 {
		return defaultFollowInterval, nil
	}
	return shortest / 2, nil
}

// Pass runs one pass: a full one first, after a failed pass and every
// opts.FullEvery, else a fast one.
func (f *Follower) Pass(ctx context.Context) (FollowPass, error) {
	f.pass++
	start := f.opts.now()
	p := FollowPass{Pass: f.pass, Started: start.UTC(), Channels: []ReindexChannel{}}
	calls := f.st.ListCalls()
	var err error
	if f.needFull || (f.opts.FullEvery > 0 && start.Sub(f.lastFull) >= f.opts.FullEvery) {
		err = f.fullPass(ctx, &p)
	} else {
		err = f.fastPass(ctx, &p)
	}
	f.needFull = err != nil
	p.ListCalls = f.st.ListCalls() - calls
	p.Seconds = f.opts.now().Sub(start).Seconds()
	for _, c := range p.Channels {
		p.Indexed += c.Indexed
		p.Splices += c.Splices
		p.Problems += len(c.Problems)
	}
	return p, err
}

// fullPass is a Reindex; it forgets what fast passes saw.
func (f *Follower) fullPass(ctx context.Context, p *FollowPass) error {
	p.Full = true
	opts := f.opts.Options
	user := opts.Progress
	opts.Progress = func(pr Progress) {
		if pr.Final {
			p.Listed += pr.Listed
		}
		if user != nil {
			user(pr)
		}
	}
	res, err := Reindex(ctx, f.st, f.db, opts)
	p.Channels = append(p.Channels, res.Channels...)
	if err != nil {
		return err
	}
	f.lastFull = p.Started
	f.handled, f.notChannels = map[string]map[string]bool{}, map[string]bool{}
	f.bodies = &bodyCache{m: map[string][]byte{}} // forgets the inits and I-MPDs of channels gone since
	f.expired, f.gaps = map[string]time.Time{}, map[int64]*trackGaps{}
	for _, rc := range res.Channels {
		if err := f.settleChannel(ctx, rc.Name, p); err != nil {
			return fmt.Errorf("follow %s: %w", rc.Name, err)
		}
	}
	return nil
}

// settleChannel settles channel name after a full pass (which keeps the
// index's rows as they are): one more listing of <name>/ for its expiry
// markers and splice records.
func (f *Follower) settleChannel(ctx context.Context, name string, p *FollowPass) error {
	c := &chanScan{name: name}
	_, spliceKeys, err := c.listTop(ctx, f.st)
	if err != nil {
		return err
	}
	ch, err := f.db.Channel(ctx, name)
	if err != nil {
		return err
	}
	return f.settle(ctx, ch, c.horizon, spliceKeys, p)
}

// fastPass follows every channel (opts.Channel, or every one the store's
// top level lists).
func (f *Follower) fastPass(ctx context.Context, p *FollowPass) error {
	names := []string{f.opts.Channel}
	if f.opts.Channel == "" {
		var err error
		if names, err = storeChannels(ctx, f.st); err != nil {
			return fmt.Errorf("follow: %w", err)
		}
	}
	for _, name := range names {
		if f.notChannels[name] {
			continue
		}
		rc, listed, did, err := f.followChannel(ctx, name, p)
		p.Listed += listed
		if err != nil {
			return fmt.Errorf("follow %s: %w", name, err)
		}
		if did {
			p.Channels = append(p.Channels, rc)
		}
	}
	return nil
}

// followChannel lists what a fast pass lists of channel name, settles
// what the store let go since (settle, dropGoneInits) and indexes what the
// last pass did not list; did says there was something new.
func (f *Follower) followChannel(ctx context.Context, name string, p *FollowPass) (rc ReindexChannel, listed int64, did bool, err error) {
	c := &chanScan{name: name}
	repNames, spliceKeys, err := c.listTop(ctx, f.st)
	if err != nil {
		return rc, 0, false, err
	}
	ch, err := f.db.Channel(ctx, name)
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return rc, 0, false, err
	}
	for _, rep := range repNames {
		r, err := f.listRep(ctx, c, ch.ID, rep)
		if err != nil {
			return rc, c.listed, false, err
		}
		c.reps = append(c.reps, r)
	}
	if c.empty() && ch.ID == 0 {
		f.notChannels[name] = true // an export, say: until the next full pass
		return rc, c.listed, false, nil
	}
	if ch.ID != 0 {
		if err := f.settle(ctx, ch, c.horizon, spliceKeys, p); err != nil {
			return rc, c.listed, false, err
		}
		if err := f.dropGoneInits(ctx, ch, c); err != nil {
			return rc, c.listed, false, err
		}
	}
	seen, fresh := f.handled[name], c.keys(spliceKeys)
	c.problems = slices.DeleteFunc(c.problems, func(p Problem) bool { return seen[p.Key] }) // reported by the pass that first listed it
	if !c.dropHandled(seen) && !anyNew(spliceKeys, seen) && len(c.problems) == 0 {
		f.handled[name] = fresh
		return rc, c.listed, false, nil
	}
	var newSplices []string
	for _, k := range spliceKeys {
		if !seen[k] {
			newSplices = append(newSplices, k)
		}
	}
	if err := c.readSplices(ctx, f.st, newSplices); err != nil {
		return rc, c.listed, false, err
	}
	ix := &indexer{st: f.st, db: f.db, opts: &f.opts.Options, prog: newProgressor(nil, name), bodies: f.bodies}
	if rc, err = ix.channel(ctx, c); err != nil {
		return rc, c.listed, false, err
	}
	f.handled[name] = fresh
	return rc, c.listed, true, nil
}

// keys is the set of keys c lists, with the splice records' and those of
// its problems.
func (c *chanScan) keys(spliceKeys []string) map[string]bool {
	set := map[string]bool{}
	for _, p := range c.problems {
		set[p.Key] = true
	}
	for _, o := range c.impds {
		set[o.key] = true
	}
	for _, k := range spliceKeys {
		set[k] = true
	}
	for _, r := range c.reps {
		for _, o := range r.inits {
			set[o.key] = true
		}
		for _, o := range r.media {
			set[o.key] = true
		}
	}
	return set
}

// dropHandled removes from c's media objects those in seen, and says
// whether c lists any media object, init or I-MPD not in seen.
func (c *chanScan) dropHandled(seen map[string]bool) bool {
	news := false
	for _, o := range c.impds {
		news = news || !seen[o.key]
	}
	for _, r := range c.reps {
		for _, o := range r.inits {
			news = news || !seen[o.key]
		}
		out := r.media[:0]
		for _, o := range r.media {
			if !seen[o.key] {
				out = append(out, o)
			}
		}
		r.media = out
		news = news || len(out) > 0
	}
	return news
}

func anyNew(keys []string, seen map[string]bool) bool {
	for _, k := range keys {
		if !seen[k] {
			return true
		}
	}
	return false
}

// listRep lists what a fast pass lists of representation rep of channel
// c (index ID chID, 0 if none): the media keys of the K ranges followRanges
// gives, then the init segments (after: a listed segment's init was stored
// before it, LAYOUT.md, Read and write ordering); the whole of <ch>/<rep>/
// while the index has no segment of it.
func (f *Follower) listRep(ctx context.Context, c *chanScan, chID int64, rep string) (*repScan, error) {
	track, newest, ok, err := f.trackEdge(ctx, chID, rep)
	if err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return c.scanRep(ctx, f.st, rep, nil)
	}
	r := &repScan{rep: rep}
	dir := c.name + "/" + rep + "/"
	got := map[string]bool{}
	add := func(lo, hi int64) func(cloud.Attrs) error {
		return func(a cloud.Attrs) error {
			if a.Dir || got[a.Key] {
				return nil
			}
			c.listed++
			if o, err := layout.Parse(a.Key); err == nil && o.Kind == layout.KindMedia && (o.K < lo || o.K > hi) {
				return nil // a K of another digit count that shares the prefix
			}
			got[a.Key] = true
			c.addRepObject(r, a)
			return nil
		}
	}
	for _, kr := range followRanges(track, newest, f.opts.now()) {
		for _, prefix := range blockPrefixes(kr[0], kr[1]) {
			if err := f.st.ListDir(ctx, dir+prefix, add(kr[0], kr[1])); err != nil {
				return nil, err
			}
		}
	}
	if err := f.listGaps(ctx, c, dir, track, newest, add); err != nil {
		return nil, err
	}
	if err := f.st.ListDir(ctx, dir+"init-", add(0, -1)); err != nil {
		return nil, err
	}
	c.dropSecondCopies(r)
	return r, nil
}

// trackEdge is the index's track rep of channel chID and its newest K; ok
// is false when the index has no segment of it or no segment duration.
func (f *Follower) trackEdge(ctx context.Context, chID int64, rep string) (index.Track, int64, bool, error) {
	if chID == 0 {
		return index.Track{}, 0, false, nil
	}
	t, err := f.db.Track(ctx, chID, rep)
	if errors.Is(err, index.ErrNotFound) {
		return t, 0, false, nil
	}
	if err != nil || t.SegDur == 0 || t.Timescale == 0 {
		return t, 0, false, err
	}
	segs, err := f.db.SegmentsDown(ctx, t.ID, math.MaxInt64, 1)
	if err != nil || len(segs) == 0 {
		return t, 0, false, err
	}
	return t, segs[0].K, true, nil
}

// followRanges are the K ranges (inclusive) a fast pass lists of track t:
// followLate either side of its newest indexed K, and from followLate
// before the clock's K to followAheadK after it; merged when they overlap.
func followRanges(t index.Track, newest int64, now time.Time) [][2]int64 {
	d := float64(t.SegDur) / float64(t.Timescale) // seconds
	late := int64(math.Ceil(followLate.Seconds() / d))
	nowK := int64(math.Floor(float64(now.UnixNano()) / 1e9 / d))
	a := [2]int64{max(0, newest-late), newest + late}
	b := [2]int64{max(0, nowK-late), nowK + followAheadK}
	if b[0] < a[0] {
		a, b = b, a
	}
	if b[0] <= a[1]+1 {
		return [][2]int64{{a[0], max(a[1], b[1])}}
	}
	return [][2]int64{a, b}
}

// blockPrefixes are the key prefixes (below <ch>/<rep>/) whose listings
// hold every K of lo..hi: the common leading digits of blocks of 10^n K,
// n the smallest for which lo..hi spans at most two blocks; "" (the whole
// directory) when lo..hi starts in the first block.
func blockPrefixes(lo, hi int64) []string {
	p := int64(1)
	for hi/p-lo/p > 1 {
		p *= 10
	}
	if lo/p == 0 {
		return []string{""}
	}
	var out []string
	for b := lo / p; b <= hi/p; b++ {
		out = append(out, strconv.FormatInt(b, 10))
	}
	return out
}

// bodyCache keeps the bytes of immutable objects (init segments, I-MPDs:
// LAYOUT.md, principle 2) by key, so a Follower reads each once. A nil
// cache reads through.
type bodyCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *bodyCache) get(ctx context.Context, st *cloud.Store, key string) ([]byte, error) {
	if c == nil {
		return st.Get(ctx, key)
	}
	c.mu.Lock()
	data, ok := c.m[key]
	c.mu.Unlock()
	if ok {
		return data, nil
	}
	data, err := st.Get(ctx, key)
	if err == nil {
		c.mu.Lock()
		c.m[key] = data
		c.mu.Unlock()
	}
	return data, err
}
