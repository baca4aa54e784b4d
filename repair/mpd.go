package repair

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/internal/httpget"
	"github.com/reaparchive/reaparchive/manifest"
)

// MaxSegmentSize bounds a fetched segment (as record's default).
const MaxSegmentSize = 64 << 20

// MPD fills from a live or static MPD: an encoder or origin that still holds
// the segments (in its time-shift window). The MPD is read once, when the
// MPD is opened; K maps to a URL through its SegmentTemplate ($Number$, or
// the SegmentTimeline entry of K for $Time$).
type MPD struct {
	name, url string
	live      *manifest.Live
	client    *http.Client
	now       func() time.Time

	mu    sync.Mutex
	inits map[string]*fetchedInit // by init URL
}

type fetchedInit struct {
	once sync.Once
	data []byte
	err  error
}

// OpenMPD fetches and parses the MPD at mpdURL. name is the source name the
// repair records its deliveries under; client nil means a default client
// (30 s per request).
func OpenMPD(ctx context.Context, name, mpdURL string, client *http.Client) (*MPD, error) {
	u, err := url.Parse(mpdURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an http(s) MPD URL", mpdURL)
	}
	if client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 32
		client = &http.Client{Timeout: 30 * time.Second, Transport: tr}
	}
	m := &MPD{name: name, url: mpdURL, client: client, now: time.Now, inits: map[string]*fetchedInit{}}
	body, err := get(ctx, client, mpdURL, manifest.MaxMPDSize)
	if err != nil {
		return nil, fmt.Errorf("MPD: %w", err)
	}
	if m.live, err = manifest.ParseLiveContext(ctx, body, mpdURL); err != nil {
		return nil, fmt.Errorf("MPD %s: %w", mpdURL, err)
	}
	return m, nil
}

// Name implements Filler.
func (m *MPD) Name() string { return m.name }

// URL implements Filler: the MPD URL.
func (m *MPD) URL() string { return m.url }

// Live is the parsed MPD.
func (m *MPD) Live() *manifest.Live { return m.live }

// Locate implements Filler: the segment's URL, from the MPD alone.
func (m *MPD) Locate(_ context.Context, w Want) (string, error) {
	t := w.Track
	lt, ok := m.live.Track(t.Rep)
	if !ok {
		return "", fmt.Errorf("%w: the MPD has no Representation %s", ErrUnavailable, t.Rep)
	}
	d := t.SegmentDuration().Seconds()
	if lt.SegDur > 0 && lt.Timescale > 0 {
		if sd := float64(lt.SegDur) / float64(lt.Timescale); math.Abs(sd-d) > 0.001 {
			return "", fmt.Errorf("%w: the MPD's %s segments last %gs, the track's %gs", ErrMismatch, t.Rep, sd, d)
		}
	}
	if m.live.Type == "dynamic" {
		now := m.now()
		end := t.KTime(w.K + 1)
		if tsb := m.live.TimeShiftBufferDepth; tsb > 0 {
			// A segment stays available for the time-shift buffer depth
			// after it ends (one more segment of slack for clock skew and
			// servers that count from the segment's end).
			if oldest := now.Add(-time.Duration(tsb*float64(time.Second)) - t.SegmentDuration()); end.Before(oldest) {
				return "", fmt.Errorf("%w: K %d ended at %s, outside the source's %gs time-shift window", ErrUnavailable, w.K, end.Format(time.RFC3339), tsb)
			}
		}
		if end.Add(-time.Duration(lt.AvailabilityTimeOffset * float64(time.Second))).After(now) {
			return "", fmt.Errorf("%w: K %d is not available before %s", ErrUnavailable, w.K, end.Format(time.RFC3339))
		}
	}
	u, err := lt.MediaURL(w.K)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return u, nil
}

// Fetch implements Filler.
func (m *MPD) Fetch(ctx context.Context, w Want) (Fetched, error) {
	u, err := m.Locate(ctx, w)
	if err != nil {
		return Fetched{}, err
	}
	lt, _ := m.live.Track(w.Track.Rep)
	initURL := lt.InitURLFor(w.K) // the init of the Period that holds K
	if initURL == "" {
		return Fetched{From: u}, fmt.Errorf("%w: the MPD names no init segment for %s", ErrUnavailable, w.Track.Rep)
	}
	data, err := get(ctx, m.client, u, MaxSegmentSize)
	if err != nil {
		return Fetched{From: u}, err
	}
	init, err := m.init(ctx, initURL)
	if err != nil {
		return Fetched{From: u}, fmt.Errorf("init segment: %w", err)
	}
	return Fetched{Data: data, Init: init, From: u}, nil
}

// init fetches an init segment once.
func (m *MPD) init(ctx context.Context, u string) ([]byte, error) {
	m.mu.Lock()
	fi := m.inits[u]
	if fi == nil {
		fi = &fetchedInit{}
		m.inits[u] = fi
	}
	m.mu.Unlock()
	fi.once.Do(func() { fi.data, fi.err = get(ctx, m.client, u, MaxSegmentSize) })
	return fi.data, fi.err
}

// get fetches u, retrying transient failures twice. 404 and 410 give
// ErrUnavailable; other failures name the URL and the status.
func get(ctx context.Context, c *http.Client, u string, limit int64) ([]byte, error) {
	backoff := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		body, err := get1(ctx, c, u, limit)
		if err == nil || !httpget.Retryable(err) || attempt == 3 || ctx.Err() != nil {
			if httpget.Retryable(err) {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return body, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff *= 2
	}
}

// get1 fetches u once; 404 and 410 give ErrUnavailable.
func get1(ctx context.Context, c *http.Client, u string, limit int64) ([]byte, error) {
	body, err := httpget.Get(ctx, c, u, limit)
	var se *httpget.StatusError
	if errors.As(err, &se) && se.NotFound() {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return body, err
}

// NameFor derives a repair source name from a URL: "repair." and its host
// (or, for a store without one, its last path element), with every
// character a source name may not hold replaced by "-".
func NameFor(rawURL string) string {
	part := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		part = u.Host
		if part == "" {
			part = strings.TrimRight(u.Path, "/")
			if i := strings.LastIndexByte(part, '/'); i >= 0 {
				part = part[i+1:]
			}
		}
	}
	var b strings.Builder
	for _, c := range part {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-.")
	if s == "" {
		s = "source"
	}
	s = "repair." + s
	if len(s) > 128 {
		s = s[:128]
	}
	return s
}
