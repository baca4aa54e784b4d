package origin

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/reaparchive/reaparchive/export"
)

// built is a manifest ready to send, plain and gzip-compressed.
type built struct {
	body, gz           []byte
	etag, gzETag       string
	contentType, cache string
}

// newBuilt compresses body (compress/gzip writes no name or time, so
// equal bodies give equal bytes) and names both forms by their sha256.
func newBuilt(body []byte, contentType, cacheControl string) *built {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	zw.Write(body) //nolint:errcheck // a bytes.Buffer does not fail
	zw.Close()     //nolint:errcheck
	return &built{body: body, gz: buf.Bytes(), etag: strongETag(body), gzETag: strongETag(buf.Bytes()),
		contentType: contentType, cache: cacheControl}
}

func strongETag(b []byte) string {
	h := sha256.Sum256(b)
	return `"` + hex.EncodeToString(h[:]) + `"`
}

// send writes b, compressed when the client accepts gzip; HEAD,
// conditional requests and ranges are http.ServeContent's.
func (b *built) send(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", b.contentType)
	h.Set("Cache-Control", b.cache)
	h.Add("Vary", "Accept-Encoding")
	body, etag := b.body, b.etag
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = b.gz, b.gzETag
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("ETag", etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether an Accept-Encoding allows gzip (q > 0).
func acceptsGzip(ae string) bool {
	for _, part := range strings.Split(ae, ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(name), "gzip") {
			continue
		}
		q = strings.TrimSpace(q)
		if v, ok := strings.CutPrefix(q, "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			return err == nil && f > 0
		}
		return true
	}
	return false
}

// cache keeps the manifests built for the current second and the next
// (Prebuild): a manifest is a function of the request and the second, so
// every request of a second is answered with the bytes built for it
// (concurrent ones wait for that build).
type cache struct {
	mu    sync.Mutex
	built map[int64]map[string]*built // by second
	group singleflight.Group
}

func newCache() *cache { return &cache{built: map[int64]map[string]*built{}} }

// get returns the manifest key of the second of now, building it once;
// hit says it was not built for this request.
func (c *cache) get(now time.Time, key string, build func() (*built, error)) (*built, bool, error) {
	sec := now.Unix()
	c.mu.Lock()
	b := c.built[sec][key]
	c.mu.Unlock()
	if b != nil {
		return b, true, nil
	}
	v, err, shared := c.group.Do(strconv.FormatInt(sec, 10)+"\x00"+key, func() (any, error) {
		b, err := build()
		if err != nil {
			return nil, err
		}
		c.put(sec, key, b)
		return b, nil
	})
	if err != nil {
		return nil, false, err
	}
	return v.(*built), shared, nil
}

// put keeps b as key's manifest of second sec, and forgets the seconds
// before the one before sec.
func (c *cache) put(sec int64, key string, b *built) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for s := range c.built {
		if s < sec-1 {
			delete(c.built, s)
		}
	}
	if c.built[sec] == nil {
		c.built[sec] = map[string]*built{}
	}
	c.built[sec][key] = b
}

// runMemo remembers, per channel, where the run of the live window's
// first K began (export.Deps.RunStart), so that the walk back only covers
// what the window slid over since: a pure function of the index, kept to
// make it cheap.
type runMemo struct {
	mu sync.Mutex
	m  map[string][2]int64 // channel and gap mode: {a K of the run, where the run began}
}

func newRunMemo() *runMemo { return &runMemo{m: map[string][2]int64{}} }

// start is where the live Period (of gap mode mode) holding K k of l
// began.
func (rm *runMemo) start(ctx context.Context, d export.Deps, l *export.Loaded, k int64, mode export.GapMode) (int64, error) {
	ch := l.Channel.Name + "\x00" + string(mode)
	rm.mu.Lock()
	memo, ok := rm.m[ch]
	rm.mu.Unlock()
	floor := int64(0)
	if ok && memo[0] <= k {
		floor = memo[0]
	}
	start, reached, err := d.RunStart(ctx, l, k, floor, mode)
	if err != nil {
		return 0, err
	}
	if reached && ok && memo[0] <= k {
		start = memo[1]
	}
	rm.mu.Lock()
	if cur, ok := rm.m[ch]; !ok || cur[0] < k {
		rm.m[ch] = [2]int64{k, start}
	}
	rm.mu.Unlock()
	return start, nil
}
