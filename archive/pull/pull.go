// Package pull is the pull recorder: it follows the live MPDs of a
// channel's pull sources (encoders or origins) and hands every init
// segment, I-MPD and media segment they publish to the archive's one door
// for recording, archive.Channel (OfferInit, StoreMPD/DescribeMPD,
// OfferSegment), fetching what the archive lacks after a start or an
// outage.
package pull

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/internal/httpget"
	"github.com/reaparchive/reaparchive/manifest"
	"golang.org/x/sync/errgroup"
)

// MPDSource is a source the recorder pulls from: an encoder's or origin's
// live MPD.
type MPDSource struct {
	Name   string
	MPDURL string
}

// Options configure a pull recording of one channel.
type Options struct {
	Channel string
	Sources []MPDSource
	// For bounds the recording: segments that become available within For of
	// the start are recorded, then the recorder finishes in-flight fetches
	// and returns. 0 records until ctx is done.
	For time.Duration
	// SegmentTimeout is how long after its availability time a segment is
	// retried before it is recorded as missing from a source. Default 3*D,
	// at least 6 s.
	SegmentTimeout time.Duration
	// MaxSegmentSize bounds a response body (default 64 MiB).
	MaxSegmentSize int64
	// Client is the HTTP client (default: 10 s timeout per request).
	Client *http.Client
	// Stats, if set, is updated as segments arrive.
	Stats *Stats
	// MaxTracks bounds the Representations one source's MPD may declare
	// (default 256); an MPD with more is refused, naming the count.
	MaxTracks int
}

// Bounds of the pull recorder's concurrent work per source.
const (
	defaultMaxTracks = 256
	// initConcurrency is how many init segments are fetched at once.
	initConcurrency = 8
	// catchUpConcurrency is how many lacking segments are fetched at once
	// after a start or a rejoin.
	catchUpConcurrency = 4
	// maxCatchUp bounds, per track, how many K before the live edge a
	// catch-up looks at (also bounded by the source's time-shift window).
	maxCatchUp = 1800
	// catchUpRetry is how long a catch-up fetch of a past segment is retried.
	catchUpRetry = 2 * time.Second
)

// Stats are counters of a recording, safe to read concurrently.
type Stats struct {
	Stored, Duplicates, Conflicts, Rejected, Missing atomic.Int64

	mu      sync.Mutex
	lastErr map[string]string // source -> its latest error
}

// setSourceError records err as source's latest error.
func (s *Stats) setSourceError(source string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr == nil {
		s.lastErr = map[string]string{}
	}
	s.lastErr[source] = err.Error()
}

// SourceErrors returns each source's latest error (a source absent had
// none).
func (s *Stats) SourceErrors() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.lastErr)
}

// errNotYet is a fetch of something the source does not have (yet).
var errNotYet = errors.New("not available")

// Record records a channel of a from its pull sources until ctx is done or
// opts.For has elapsed. Every source is followed concurrently; a source that
// is down is retried and rejoins by itself.
func Record(ctx context.Context, a *archive.Archive, opts Options) error {
	if len(opts.Sources) == 0 {
		return errors.New("record: no sources")
	}
	if opts.Client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 64 // many tracks × in-flight segments per source
		opts.Client = &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	if opts.MaxSegmentSize == 0 {
		opts.MaxSegmentSize = 64 << 20
	}
	if opts.Stats == nil {
		opts.Stats = &Stats{}
	}
	if opts.MaxTracks <= 0 {
		opts.MaxTracks = defaultMaxTracks
	}
	ch, err := a.OpenChannel(ctx, opts.Channel, 0)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, s := range opts.Sources {
		if seen[s.Name] {
			return fmt.Errorf("record: source %q given twice", s.Name)
		}
		seen[s.Name] = true
		if _, err := ch.Source(ctx, s.Name, s.MPDURL); err != nil {
			return err
		}
	}
	// scheduling stops at deadline; in-flight fetches finish on their own
	// bounded retry windows, and stop at once when ctx is cancelled.
	sched := ctx
	if opts.For > 0 {
		var cancel context.CancelFunc
		sched, cancel = context.WithTimeout(ctx, opts.For)
		defer cancel()
	}
	var wg sync.WaitGroup
	for _, s := range opts.Sources {
		p := &puller{a: a, ch: ch, src: s, opts: opts, log: a.Log.With("channel", opts.Channel, "source", s.Name)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run(ctx, sched)
		}()
	}
	wg.Wait()
	return ctx.Err()
}

type puller struct {
	a    *archive.Archive
	ch   *archive.Channel
	src  MPDSource
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	live     *manifest.Live
	fetched  time.Time
	impdSeen map[string]bool
	down     bool
	inits    map[initRef]string // (rep, init URL) fetched -> the init's sha256
	pending  map[segRef]bool    // segments being fetched (live or catch-up)
	// rejoined is signalled when the source comes back after being down.
	rejoined chan struct{}
}

// segRef names segment K of a Representation.
type segRef struct {
	rep string
	k   int64
}

// run follows one source: it gets its MPD and inits, fetches what the
// archive lacks within the source's time-shift window, then schedules every
// new segment of every Representation; after an outage it catches up again.
func (p *puller) run(ctx, sched context.Context) {
	p.impdSeen = map[string]bool{}
	p.inits = map[initRef]string{}
	p.pending = map[segRef]bool{}
	p.rejoined = make(chan struct{}, 1)
	var inflight sync.WaitGroup
	defer inflight.Wait()

	live, ok := p.awaitFirstMPD(sched)
	if !ok {
		return
	}
	d := time.Duration(live.SegDurSeconds * float64(time.Second))
	if d <= 0 {
		p.log.Error("source MPD has no segment duration")
		p.opts.Stats.setSourceError(p.src.Name, errors.New("source MPD has no segment duration"))
		return
	}
	p.ch.SetSegmentDuration(d)
	timeout := p.opts.SegmentTimeout
	if timeout == 0 {
		timeout = max(3*d, 6*time.Second)
	}
	// The first segment followed live is the newest one available at the start.
	next := int64(math.Floor(float64(p.a.Now().UnixNano())/float64(d))) - 1
	p.log.Info("following source", "mpd", p.src.MPDURL, "tracks", len(live.Tracks), "segment_duration", d, "first_k", next)
	select {
	case <-p.rejoined: // the first MPD after a failed attempt is not a rejoin
	default:
	}
	p.catchUp(ctx, sched, &inflight, next-1, d)
	p.follow(ctx, sched, &inflight, next, d, timeout)
}

// awaitFirstMPD loads the MPD until it succeeds (the source may be down
// when we start) or sched is done.
func (p *puller) awaitFirstMPD(sched context.Context) (*manifest.Live, bool) {
	for {
		live, err := p.loadMPD(sched)
		if err == nil {
			return live, true
		}
		if sched.Err() != nil {
			return nil, false
		}
		p.setDown(err)
		select {
		case <-sched.Done():
			return nil, false
		case <-time.After(time.Second):
		}
	}
}

// follow schedules segment next, next+1, … of every track as each becomes
// available, until sched is done; a rejoin starts a catch-up.
func (p *puller) follow(ctx, sched context.Context, inflight *sync.WaitGroup, next int64, d, timeout time.Duration) {
	for {
		if sched.Err() != nil {
			return
		}
		avail := time.Unix(0, (next+1)*int64(d))
		wait := time.NewTimer(time.Until(avail))
		select {
		case <-sched.Done():
			wait.Stop()
			return
		case <-p.rejoined:
			wait.Stop()
			p.catchUp(ctx, sched, inflight, next-1, d)
			continue
		case <-wait.C:
		}
		live := p.current()
		for i := range live.Tracks {
			if !live.Tracks[i].Holds(next) { // its Period ended (a Representation the next Period renamed)
				continue
			}
			ref := segRef{live.Tracks[i].Rep, next}
			if !p.claim(ref) {
				continue
			}
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				defer p.release(ref)
				p.fetchSegment(ctx, ref.rep, ref.k, avail.Add(timeout))
			}()
		}
		next++
	}
}

// catchUp fetches, with bounded concurrency, the segments up to K hi that
// the archive lacks and the source should still have: within its
// time-shift window (timeShiftBufferDepth) and at most maxCatchUp per
// track. Segments already being fetched are skipped. New fetches stop
// when sched is done.
func (p *puller) catchUp(ctx, sched context.Context, inflight *sync.WaitGroup, hi int64, d time.Duration) {
	refs, lo, err := p.lacking(sched, hi, d)
	if err != nil {
		if sched.Err() == nil {
			p.log.Error("catch-up: reading the index", "err", err)
		}
		return
	}
	if len(refs) == 0 {
		return
	}
	p.log.Info("catching up with segments the archive lacks", "segments", len(refs), "from_k", lo, "to_k", hi)
	inflight.Add(1)
	go func() {
		defer inflight.Done()
		sem := make(chan struct{}, catchUpConcurrency)
		var wg sync.WaitGroup
		defer wg.Wait()
		for _, ref := range refs {
			select {
			case <-sched.Done():
				return
			case sem <- struct{}{}:
			}
			if !p.claim(ref) {
				<-sem
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				defer p.release(ref)
				if p.stillLacks(ctx, ref) {
					p.fetchSegment(ctx, ref.rep, ref.k, time.Now().Add(catchUpRetry))
				}
			}()
		}
	}()
}

// lacking lists, oldest first, the segments of the source's tracks with
// K in [lo, hi] that the index has no row for; lo is the oldest K inside
// the source's time-shift window (one segment of margin) and at most
// maxCatchUp before hi. A source whose MPD has no timeShiftBufferDepth
// offers nothing to catch up.
func (p *puller) lacking(ctx context.Context, hi int64, d time.Duration) ([]segRef, int64, error) {
	live := p.current()
	if live == nil || live.TimeShiftBufferDepth <= 0 {
		return nil, 0, nil
	}
	window := time.Duration(live.TimeShiftBufferDepth * float64(time.Second))
	oldest := int64(math.Ceil(float64(p.a.Now().Add(-window).UnixNano())/float64(d))) + 1
	lo := max(oldest, hi-maxCatchUp+1)
	var refs []segRef
	for i := range live.Tracks {
		rep := live.Tracks[i].Rep
		ranges, err := p.ch.Lacking(ctx, rep, lo, hi)
		if err != nil {
			return nil, lo, fmt.Errorf("track %s: %w", rep, err)
		}
		for _, r := range ranges {
			for k := r.From; k <= r.To; k++ {
				if live.Tracks[i].Holds(k) {
					refs = append(refs, segRef{rep, k})
				}
			}
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].k < refs[j].k })
	return refs, lo, nil
}

// stillLacks is whether the archive still has no row for ref. The live
// follower may have fetched and stored it between the catch-up's index read
// and its claim, and a second fetch would be a second delivery of K from
// this source. On an index error it fetches (a duplicate is harmless, a
// missed segment is not).
func (p *puller) stillLacks(ctx context.Context, ref segRef) bool {
	ranges, err := p.ch.Lacking(ctx, ref.rep, ref.k, ref.k)
	return err != nil || len(ranges) > 0
}

// claim marks a segment as being fetched; false if it already is.
func (p *puller) claim(ref segRef) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pending[ref] {
		return false
	}
	p.pending[ref] = true
	return true
}

func (p *puller) release(ref segRef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.pending, ref)
}

func (p *puller) current() *manifest.Live {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

func (p *puller) setDown(err error) {
	p.opts.Stats.setSourceError(p.src.Name, fmt.Errorf("source down: %w", err))
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.down {
		p.log.Warn("source down", "err", err)
		p.down = true
		p.inits = map[initRef]string{} // fetch inits again when it rejoins
	}
}

func (p *puller) setUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		p.log.Info("source rejoined")
		p.down = false
		select {
		case p.rejoined <- struct{}{}:
		default:
		}
	}
}

// loadMPD fetches and parses the source's MPD, stores it as the channel's
// I-MPD when its description changed, and refreshes the inits.
func (p *puller) loadMPD(ctx context.Context) (*manifest.Live, error) {
	body, err := p.get(ctx, p.src.MPDURL, manifest.MaxMPDSize)
	if err != nil {
		return nil, err
	}
	live, err := manifest.ParseLiveContext(ctx, body, p.src.MPDURL)
	if err != nil {
		return nil, fmt.Errorf("MPD %s: %w", p.src.MPDURL, err)
	}
	if live.SegDurSeconds <= 0 {
		return nil, fmt.Errorf("MPD %s: no segment duration", p.src.MPDURL)
	}
	if n := len(live.Tracks); n > p.opts.MaxTracks {
		return nil, fmt.Errorf("MPD %s declares %d Representations; at most %d are recorded from one source", p.src.MPDURL, n, p.opts.MaxTracks)
	}
	if err := p.storeIMPD(ctx, body, live); err != nil {
		p.log.Warn("could not store I-MPD", "err", err)
	}
	if err := p.ch.DescribeMPD(ctx, live); err != nil {
		return nil, err
	}
	if err := p.fetchInits(ctx, live); err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.live, p.fetched = live, time.Now()
	p.mu.Unlock()
	p.setUp()
	return live, nil
}

// initRef names an init segment of a track: a multi-Period source has one
// per Period (the same URL in each when the encoder did not change).
type initRef struct{ rep, url string }

// fetchInits fetches, initConcurrency tracks at a time, the init segments
// of every track not fetched yet (oldest Period first, so the last is the
// source's current one), and offers each to the archive. The first
// failure (or ctx) stops the rest.
func (p *puller) fetchInits(ctx context.Context, live *manifest.Live) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(initConcurrency)
	for i := range live.Tracks {
		t := &live.Tracks[i]
		var urls []string
		for _, pt := range t.Periods {
			urls = append(urls, pt.Track.InitURL)
		}
		urls = append(urls, t.InitURL)
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			for _, u := range urls {
				if err := p.fetchInit(gctx, initRef{t.Rep, u}); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// fetchInit fetches and offers one init segment unless this puller did
// already (since the source was last down) and records its sha256.
func (p *puller) fetchInit(ctx context.Context, ref initRef) error {
	p.mu.Lock()
	_, have := p.inits[ref]
	p.mu.Unlock()
	if have {
		return nil
	}
	data, err := p.get(ctx, ref.url, p.opts.MaxSegmentSize)
	if err != nil {
		return fmt.Errorf("init %s: %w", ref.url, err)
	}
	res, err := p.ch.OfferInit(ctx, p.src.Name, ref.rep, data, false)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.inits[ref] = res.Info.SHA256
	p.mu.Unlock()
	return nil
}

// initOf is the sha256 of the fetched init of the source Period that
// holds K, "" if not fetched (the source's current init is used).
func (p *puller) initOf(t *manifest.LiveTrack, k int64) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inits[initRef{t.Rep, t.InitURLFor(k)}]
}

// storeIMPD keeps the source's MPD as received (Channel.StoreMPD) whenever
// what it describes changes (publishTime and timelines change on every fetch and are ignored).
func (p *puller) storeIMPD(ctx context.Context, body []byte, live *manifest.Live) error {
	h := sha256.New()
	for _, t := range live.Tracks {
		fmt.Fprintf(h, "%s|%s|%s|%s|%d|%s|%d|%d|%s|%s\n", t.Rep, t.ContentType, t.Codecs, t.Lang, t.Bandwidth, t.InitURL, t.Mode, t.SegDur, strings.Join(t.Roles, ","), t.Label)
	}
	desc := hex.EncodeToString(h.Sum(nil))
	p.mu.Lock()
	seen := p.impdSeen[desc]
	p.impdSeen[desc] = true
	p.mu.Unlock()
	if seen {
		return nil
	}
	_, err := p.ch.StoreMPD(ctx, p.src.Name, body)
	return err
}

// refreshMPD reloads the MPD at most once per half segment duration; used
// when a $Time$ source's timeline does not list K yet. The reload gives up
// at deadline (the calling fetch's retry window).
func (p *puller) refreshMPD(ctx context.Context, deadline time.Time) *manifest.Live {
	p.mu.Lock()
	fresh := time.Since(p.fetched) < time.Duration(p.live.SegDurSeconds*float64(time.Second)/2)
	live := p.live
	p.mu.Unlock()
	if fresh {
		return live
	}
	p.mu.Lock()
	p.fetched = time.Now() // also while the source is down: one reload per half segment, not one per waiting segment
	p.mu.Unlock()
	lctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	l, err := p.loadMPD(lctx)
	if err != nil {
		if lctx.Err() == nil { // not a source failure when our own deadline or ctx cut it short
			p.setDown(err)
		}
		return live
	}
	return l
}

// fetchSegment gets segment K of rep from the source, retrying until
// deadline, and offers it to the archive.
func (p *puller) fetchSegment(ctx context.Context, rep string, k int64, deadline time.Time) {
	backoff := 100 * time.Millisecond
	var lastErr error
	for attempt := 0; ; attempt++ {
		if ctx.Err() != nil {
			return
		}
		live := p.current()
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down || attempt > 0 {
			// After a failure, a fresh MPD may list K (timelines) or the source may be back.
			live = p.refreshMPD(ctx, deadline)
		}
		t, ok := live.Track(rep)
		if !ok {
			lastErr = fmt.Errorf("representation %s no longer in the MPD", rep)
		} else if url, err := t.MediaURL(k); err != nil {
			lastErr = err
		} else if data, err := p.get(ctx, url, p.opts.MaxSegmentSize); err != nil {
			lastErr = err
			if !errors.Is(err, errNotYet) {
				p.setDown(err)
			}
		} else {
			p.setUp()
			p.offer(ctx, rep, k, url, data, p.initOf(t, k))
			return
		}
		if time.Now().Add(backoff).After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, time.Second)
	}
	p.opts.Stats.Missing.Add(1)
	p.opts.Stats.setSourceError(p.src.Name, fmt.Errorf("%s K %d missing: %v", rep, k, lastErr))
	p.log.Info("segment missing from source", "rep", rep, "k", k, "err", lastErr)
	if err := p.ch.RecordMissing(ctx, p.src.Name, rep, k, fmt.Sprint(lastErr)); err != nil {
		p.log.Error("index missing delivery", "rep", rep, "k", k, "err", err)
	}
}

func (p *puller) offer(ctx context.Context, rep string, k int64, url string, data []byte, initSHA string) {
	res, err := p.ch.OfferSegment(ctx, archive.Offer{Source: p.src.Name, Rep: rep, Data: data, ExpectK: k, InitSHA256: initSHA})
	if err != nil {
		if errors.Is(err, archive.ErrInvalid) {
			p.opts.Stats.Rejected.Add(1)
			p.opts.Stats.setSourceError(p.src.Name, fmt.Errorf("%s K %d rejected: %w", rep, k, err))
			p.log.Error("segment rejected", "rep", rep, "k", k, "url", url, "err", err)
			return
		}
		if ctx.Err() == nil {
			p.opts.Stats.setSourceError(p.src.Name, fmt.Errorf("%s K %d not recorded: %w", rep, k, err))
			p.log.Error("segment not recorded", "rep", rep, "k", k, "err", err)
		}
		return
	}
	switch res.Outcome {
	case "stored":
		p.opts.Stats.Stored.Add(1)
		p.log.Debug("segment stored", "rep", rep, "k", k, "key", res.Key)
	case "duplicate":
		p.opts.Stats.Duplicates.Add(1)
	case "conflict":
		p.opts.Stats.Conflicts.Add(1)
	}
}

// get fetches url; 404/410 give errNotYet, other failures an error naming
// the URL and status.
func (p *puller) get(ctx context.Context, url string, limit int64) ([]byte, error) {
	body, err := httpget.Get(ctx, p.opts.Client, url, limit)
	var se *httpget.StatusError
	if errors.As(err, &se) && se.NotFound() {
		return nil, fmt.Errorf("%w: %w", err, errNotYet)
	}
	return body, err
}
