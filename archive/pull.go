package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// PullSource is a source the recorder pulls from: an encoder's or origin's
// live MPD.
type PullSource struct {
	Name   string
	MPDURL string
}

// PullOptions configure a pull recording of one channel.
type PullOptions struct {
	Channel string
	Sources []PullSource
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
	Stats *PullStats
}

// PullStats are counters of a recording, safe to read concurrently.
type PullStats struct {
	Stored, Duplicates, Conflicts, Rejected, Missing atomic.Int64

	mu      sync.Mutex
	lastErr map[string]string // source -> its latest error
}

// setSourceError records err as source's latest error.
func (s *PullStats) setSourceError(source string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastErr == nil {
		s.lastErr = map[string]string{}
	}
	s.lastErr[source] = err.Error()
}

// SourceErrors returns each source's latest error (a source absent had
// none).
func (s *PullStats) SourceErrors() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.lastErr)
}

// errNotYet is a fetch of something the source does not have (yet).
var errNotYet = errors.New("not available")

// RecordPull records a channel from its pull sources until ctx is done or
// opts.For has elapsed. Every source is followed concurrently; a source that
// is down is retried and rejoins by itself.
func (a *Archive) RecordPull(ctx context.Context, opts PullOptions) error {
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
		opts.Stats = &PullStats{}
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
	a    *Archive
	ch   *Channel
	src  PullSource
	opts PullOptions
	log  *slog.Logger

	mu       sync.Mutex
	live     *manifest.Live
	fetched  time.Time
	impdSeen map[string]bool
	down     bool
	inits    map[string]string // rep -> init URL fetched
}

// run follows one source: it gets its MPD and inits, then schedules every
// new segment of every Representation.
func (p *puller) run(ctx, sched context.Context) {
	p.impdSeen = map[string]bool{}
	p.inits = map[string]string{}
	var inflight sync.WaitGroup
	defer inflight.Wait()

	// Wait for a first MPD (the source may be down when we start).
	var live *manifest.Live
	for live == nil {
		l, err := p.loadMPD(ctx)
		if err == nil {
			live = l
			break
		}
		p.setDown(err)
		select {
		case <-sched.Done():
			return
		case <-time.After(time.Second):
		}
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
	// The first segment recorded is the newest one available at the start.
	now := p.a.Now()
	next := int64(math.Floor(float64(now.UnixNano())/float64(d))) - 1
	p.log.Info("following source", "mpd", p.src.MPDURL, "tracks", len(live.Tracks), "segment_duration", d, "first_k", next)
	for {
		avail := time.Unix(0, (next+1)*int64(d))
		if wait := time.Until(avail); wait > 0 {
			select {
			case <-sched.Done():
				return
			case <-time.After(wait):
			}
		} else if sched.Err() != nil {
			return
		}
		k := next
		live := p.current()
		for i := range live.Tracks {
			rep := live.Tracks[i].Rep
			inflight.Add(1)
			go func() {
				defer inflight.Done()
				p.fetchSegment(ctx, rep, k, avail.Add(timeout))
			}()
		}
		next++
	}
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
		p.inits = map[string]string{} // fetch inits again when it rejoins
	}
}

func (p *puller) setUp() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		p.log.Info("source rejoined")
		p.down = false
	}
}

// loadMPD fetches and parses the source's MPD, stores it as the channel's
// I-MPD when its description changed, and refreshes the inits.
func (p *puller) loadMPD(ctx context.Context) (*manifest.Live, error) {
	body, err := p.get(ctx, p.src.MPDURL, 16<<20)
	if err != nil {
		return nil, err
	}
	live, err := manifest.ParseLive(body, p.src.MPDURL)
	if err != nil {
		return nil, fmt.Errorf("MPD %s: %w", p.src.MPDURL, err)
	}
	if live.SegDurSeconds <= 0 {
		return nil, fmt.Errorf("MPD %s: no segment duration", p.src.MPDURL)
	}
	p.ch.SetSegmentDuration(time.Duration(live.SegDurSeconds * float64(time.Second)))
	if err := p.storeIMPD(ctx, body, live); err != nil {
		p.log.Warn("could not store I-MPD", "err", err)
	}
	for i := range live.Tracks {
		t := &live.Tracks[i]
		if err := p.ch.DescribeTrack(ctx, TrackMeta{Rep: t.Rep, ContentType: t.ContentType, MimeType: t.MimeType, Codecs: t.Codecs,
			Lang: t.Lang, Roles: strings.Join(t.Roles, ","), Width: t.Width, Height: t.Height, FrameRate: t.FrameRate,
			SampleRate: t.SampleRate, Channels: t.Channels, Bandwidth: t.Bandwidth}); err != nil {
			return nil, err
		}
		p.mu.Lock()
		have := p.inits[t.Rep] == t.InitURL
		p.mu.Unlock()
		if have {
			continue
		}
		data, err := p.get(ctx, t.InitURL, p.opts.MaxSegmentSize)
		if err != nil {
			return nil, fmt.Errorf("init %s: %w", t.InitURL, err)
		}
		if _, err := p.ch.OfferInit(ctx, p.src.Name, t.Rep, data, false); err != nil {
			return nil, err
		}
		p.mu.Lock()
		p.inits[t.Rep] = t.InitURL
		p.mu.Unlock()
	}
	p.mu.Lock()
	p.live, p.fetched = live, time.Now()
	p.mu.Unlock()
	p.setUp()
	return live, nil
}

// storeIMPD keeps the source's MPD as received whenever what it describes
// changes (publishTime and timelines change on every fetch and are ignored).
func (p *puller) storeIMPD(ctx context.Context, body []byte, live *manifest.Live) error {
	h := sha256.New()
	for _, t := range live.Tracks {
		fmt.Fprintf(h, "%s|%s|%s|%s|%d|%s|%d|%d|%s\n", t.Rep, t.ContentType, t.Codecs, t.Lang, t.Bandwidth, t.InitURL, t.Mode, t.SegDur, strings.Join(t.Roles, ","))
	}
	desc := hex.EncodeToString(h.Sum(nil))
	p.mu.Lock()
	seen := p.impdSeen[desc]
	p.impdSeen[desc] = true
	p.mu.Unlock()
	if seen {
		return nil
	}
	sum := sha256.Sum256(body)
	key := layout.IMPDKey(p.ch.Info.Name, hex.EncodeToString(sum[:]))
	err := p.a.Store.Create(ctx, key, body, map[string]string{layout.MetaSource: p.src.Name})
	if err != nil && !errors.Is(err, cloud.ErrExists) {
		return err
	}
	return nil
}

// refreshMPD reloads the MPD at most once per half segment duration; used
// when a $Time$ source's timeline does not list K yet.
func (p *puller) refreshMPD(ctx context.Context) *manifest.Live {
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
	l, err := p.loadMPD(ctx)
	if err != nil {
		p.setDown(err)
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
			live = p.refreshMPD(ctx)
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
			p.offer(ctx, rep, k, url, data)
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

func (p *puller) offer(ctx context.Context, rep string, k int64, url string, data []byte) {
	res, err := p.ch.OfferSegment(ctx, Offer{Source: p.src.Name, Rep: rep, Data: data, ExpectK: k})
	if err != nil {
		if errors.Is(err, ErrInvalid) {
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "reaparchive")
	resp, err := p.opts.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("GET %s: %s: %w", url, resp.Status, errNotYet)
	case resp.StatusCode != http.StatusOK:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("GET %s: %d bytes is over the %d byte limit", url, resp.ContentLength, limit)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: reading body: %w", url, err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("GET %s: body over the %d byte limit", url, limit)
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, fmt.Errorf("GET %s: truncated body: %d of %d bytes", url, len(body), resp.ContentLength)
	}
	return body, nil
}
