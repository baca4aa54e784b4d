package origin

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"slices"
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
func (c *cache) newBuilt(body []byte, contentType, cacheControl string) *built {
	gz := c.gzip(body)
	return &built{body: body, gz: gz, etag: strongETag(body), gzETag: strongETag(gz),
		contentType: contentType, cache: cacheControl}
}

// gzip is body compressed, by a writer kept for the next body: making one
// allocates about a megabyte, more than the rest of a live build. The
// writers are kept in a free list of their own, not a sync.Pool: a
// garbage collection empties a pool, and under load (many clients,
// several collections a second) each build then made a new writer,
// whose megabyte started the next collection in the middle of the build.
func (c *cache) gzip(body []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(body)/4 + 64)
	var zw *gzip.Writer
	select {
	case zw = <-c.zips:
		zw.Reset(&buf)
	default:
		zw, _ = gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	}
	zw.Write(body) //nolint:errcheck // a bytes.Buffer does not fail
	zw.Close()     //nolint:errcheck
	select {
	case c.zips <- zw:
	default: // as many are kept as builds ran at once, up to keptZips
	}
	return buf.Bytes()
}

// keptZips is how many gzip writers a cache keeps for the next builds.
const keptZips = 4

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
	zips  chan *gzip.Writer // free list, up to keptZips
}

func newCache() *cache {
	return &cache{built: map[int64]map[string]*built{}, zips: make(chan *gzip.Writer, keptZips)}
}

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

// runMemo remembers, per channel, gap mode and set of tracks, where the
// run of the live window's first K began (export.Deps.WalkRun), for the
// latest two such Ks, and the index change log's seq each is current to:
// a build walks back only over what the window slid over since, and reads
// no row when the window's first K did not move and the log names no
// change at or below it. It is a pure function of the index, kept to make
// it cheap: a change of rows a track's walk read makes that track be
// walked again (as a new origin walks it), but prune, which deletes the
// oldest rows, moves where it begins (export.Deps.FollowRun).
type runMemo struct {
	mu sync.Mutex
	m  map[string]*runEntry
}

// runEntry is runMemo's walks of one channel, gap mode and set of
// tracks; mu is held while they are brought to the index.
type runEntry struct {
	mu    sync.Mutex
	slots []runSlot // by K, the latest runSlots: a build of an earlier second (the next one's was built ahead) walks from the one before
}

// runSlots is how many walks a runEntry keeps.
const runSlots = 2

// runSlot is a walk and the change log's seq it is current to.
type runSlot struct {
	seq  int64
	walk *export.RunWalk
}

func newRunMemo() *runMemo { return &runMemo{m: map[string]*runEntry{}} }

// entry is the entry of key, made when there is none.
func (rm *runMemo) entry(key string) *runEntry {
	rm.mu.Lock()
	defer rm.mu.Unlock()
	e := rm.m[key]
	if e == nil {
		e = &runEntry{}
		rm.m[key] = e
	}
	return e
}

// start is where the live Period (of gap mode mode) holding K k of l
// began, and whether only the beginning of the recording bounds it
// (export.RunWalk.Unbounded).
func (rm *runMemo) start(ctx context.Context, d export.Deps, l *export.Loaded, k int64, mode export.GapMode) (int64, bool, error) {
	e := rm.entry(fmt.Sprint(l.Channel.Name, "\x00", mode, l.TrackIDs()))
	e.mu.Lock()
	defer e.mu.Unlock()
	held, head, err := e.follow(ctx, d, k)
	if err != nil {
		return 0, false, err
	}
	w, err := d.WalkRun(ctx, l, k, mode, held)
	if err != nil {
		return 0, false, err
	}
	e.keep(runSlot{head, &w})
	return w.Start(), w.Unbounded(), nil
}

// follow brings the walk of e from the highest K at or below k to the
// index's change log head (export.Deps.FollowRun), and returns it (nil:
// none) and that head.
func (e *runEntry) follow(ctx context.Context, d export.Deps, k int64) (*export.RunWalk, int64, error) {
	i := len(e.slots) - 1
	for i >= 0 && e.slots[i].walk.K > k {
		i--
	}
	if i < 0 {
		_, head, err := d.FollowRun(ctx, nil, 0)
		return nil, head, err
	}
	w, head, err := d.FollowRun(ctx, e.slots[i].walk, e.slots[i].seq)
	if err != nil || w == nil {
		e.slots = slices.Delete(e.slots, i, i+1)
		return nil, head, err
	}
	e.slots[i] = runSlot{head, w}
	return w, head, nil
}

// keep keeps s among e's slots, in place of one of its K, and the latest
// runSlots.
func (e *runEntry) keep(s runSlot) {
	i, found := slices.BinarySearchFunc(e.slots, s.walk.K, func(x runSlot, k int64) int { return cmp.Compare(x.walk.K, k) })
	if found {
		e.slots[i] = s
	} else {
		e.slots = slices.Insert(e.slots, i, s)
	}
	if n := len(e.slots); n > runSlots {
		e.slots = slices.Delete(e.slots, 0, n-runSlots)
	}
}

// seqMemo remembers, per channel and set of tracks, the live Periods of
// the archive (export.Deps.LiveRuns) from its first K every track has up
// to the last K asked about, and the index change log's seq they are
// current to, so that numbering a window's HLS segments and
// discontinuities reads only what the window slid over since, and no row
// when it did not slide and the log names no change at or below it: a
// pure function of the index, kept to make it cheap. A change of rows
// below the archive's first K every track has (prune) keeps the Periods
// after it; one in the Periods makes those it can change be read again
// (seqEntry.follow); one that moves that first K otherwise drops them
// (they are read again, as a new origin does).
type seqMemo struct {
	mu sync.Mutex
	m  map[string]*seqEntry
}

// seqEntry is seqMemo's Periods of one channel and set of tracks; mu is
// held while they are brought to the index.
type seqEntry struct {
	mu   sync.Mutex
	seq  int64 // the change log's seq lr is current to
	held bool  // lr holds Periods
	lr   liveRuns
}

// liveRuns are the live Periods over [from, to]; from, the archive's first
// K every track has, begins the first.
type liveRuns struct {
	from, to int64
	runs     []export.KRun
}

func newSeqMemo() *seqMemo { return &seqMemo{m: map[string]*seqEntry{}} }

// entry is the entry of key, made when there is none.
func (sm *seqMemo) entry(key string) *seqEntry {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	e := sm.m[key]
	if e == nil {
		e = &seqEntry{}
		sm.m[key] = e
	}
	return e
}

// hlsSeq are the numbers of a live HLS playlist: EXT-X-DISCONTINUITY-
// SEQUENCE, and how many Ks before its first entry no Period holds (the
// holes; EXT-X-MEDIA-SEQUENCE is the first entry's K less them).
type hlsSeq struct{ disc, holes uint64 }

// seq is the hlsSeq of a playlist whose first entry is K k of l: counted
// from the archive's first K every track of l has, so each segment and
// each discontinuity keeps its number as the window slides. Prune moving
// that first K past a hole lowers the discontinuity numbers by one and
// raises the media sequence numbers by the hole (README, serve).
//
// With gaps filled (mode GapsFill) every K is listed, and each hole
// between two Periods is a Period of fillers of its own.
func (sm *seqMemo) seq(ctx context.Context, d export.Deps, l *export.Loaded, k int64, mode export.GapMode) (hlsSeq, error) {
	e := sm.entry(fmt.Sprint(l.Channel.Name, l.TrackIDs())) // Periods over other tracks are others
	e.mu.Lock()
	defer e.mu.Unlock()
	first, ok, err := e.follow(ctx, d, l)
	if err != nil || !ok || k < first {
		e.held = e.held && first == e.lr.from // a moved first K is followed in update
		return hlsSeq{}, err
	}
	lr, err := e.lr.update(ctx, d, l, e.held, first, k)
	if err != nil {
		return hlsSeq{}, err
	}
	e.lr, e.held = lr, true
	if mode == export.GapsFill {
		return lr.fillNumbers(k), nil
	}
	return lr.numbers(k), nil
}

// follow brings e to the index's change log head and returns the
// archive's first K every track of l has (ok false: none): e's Periods are
// kept when the log names no change at or below their last K but below
// that first K (the K itself read only when the log names a change), read
// again where a change can have moved them when that first K did not move
// (liveRuns.reread), and dropped otherwise.
func (e *seqEntry) follow(ctx context.Context, d export.Deps, l *export.Loaded) (first int64, ok bool, err error) {
	seq := e.seq
	if !e.held {
		seq = -1
	}
	c, err := d.DB.SegmentChangeSpan(ctx, seq, l.TrackIDs(), e.lr.to)
	if err != nil {
		return 0, false, err
	}
	e.seq, e.held = c.Head, e.held && c.Complete
	if e.held && len(c.High) == 0 {
		return e.lr.from, true, nil
	}
	if first, ok, err = d.FirstCommonK(ctx, l, math.MinInt64); err != nil || !ok {
		e.held = false
		return 0, false, err
	}
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	for id, h := range c.High {
		lo, hi = min(lo, c.Low[id]), max(hi, h)
	}
	switch {
	case !e.held || hi < first: // none, or kept: prune moved the first K (update drops what is before it)
	case first == e.lr.from:
		e.lr, err = e.lr.reread(ctx, d, l, max(lo, first), hi)
		e.held = err == nil
	default:
		e.held = false
	}
	return first, true, err
}

// reread brings lr to changes of the rows of Ks [lo, hi] (within [from,
// to]) by reading again the Periods that reach into [lo-1, hi+1]: the
// others keep their rows and the Ks around their ends (not every track
// has the K before and after a Period, or its configuration differs
// there), so the changes can neither move, join nor split them.
func (lr liveRuns) reread(ctx context.Context, d export.Deps, l *export.Loaded, lo, hi int64) (liveRuns, error) {
	i := slices.IndexFunc(lr.runs, func(r export.KRun) bool { return r.To >= lo-1 })
	if i < 0 {
		i = len(lr.runs)
	}
	j := i + slices.IndexFunc(lr.runs[i:], func(r export.KRun) bool { return r.From > hi+1 })
	if j < i {
		j = len(lr.runs)
	}
	a, b := lo, hi
	if i < j {
		a, b = min(a, lr.runs[i].From), max(b, lr.runs[j-1].To)
	}
	more, err := d.LiveRuns(ctx, l, a, b)
	if err != nil {
		return liveRuns{}, err
	}
	runs := slices.Clone(lr.runs[:i])
	if n := len(runs); n > 0 && len(more) > 0 && more[0].From == a-1 && runs[n-1].To == a-1 {
		more = more[1:] // the Period before, which ends at a-1
	}
	lr.runs = append(append(runs, more...), lr.runs[j:]...)
	return lr, nil
}

// fillNumbers is the hlsSeq of K k, which lr covers, when the holes
// between its Periods are filled: no hole, and as many discontinuities
// before k's Period as Periods (of segments, and of fillers between them)
// begin before it.
func (lr liveRuns) fillNumbers(k int64) hlsSeq {
	begun := uint64(0) // Periods that begin at or before k
	for i, r := range lr.runs {
		if i > 0 && lr.runs[i-1].To+1 < r.From && lr.runs[i-1].To+1 <= k {
			begun++ // the fillers of the hole before r
		}
		if r.From > k {
			break
		}
		begun++
	}
	return hlsSeq{disc: max(begun, 1) - 1}
}

// numbers is the hlsSeq of K k, which lr covers.
func (lr liveRuns) numbers(k int64) hlsSeq {
	var n hlsSeq
	listed := int64(0) // Ks in the Periods before k's
	for i, r := range lr.runs {
		if r.From > k {
			break
		}
		n = hlsSeq{disc: uint64(i), holes: uint64(r.From - lr.from - listed)}
		listed += r.To - r.From + 1
	}
	return n
}

// update brings lr (held says it is one) to the archive that begins at
// first and up to K k: read again when the archive begins before lr or
// where lr has no Period (a late copy filled a hole; or lr is none), the
// Periods before first dropped when prune moved it, the Ks after lr.to
// read.
func (lr liveRuns) update(ctx context.Context, d export.Deps, l *export.Loaded, held bool, first, k int64) (liveRuns, error) {
	i := slices.IndexFunc(lr.runs, func(r export.KRun) bool { return r.To >= first })
	if !held || first < lr.from || first > lr.to || i < 0 || lr.runs[i].From > first {
		lr, i = liveRuns{from: first, to: first - 1}, 0
	}
	if first > lr.from {
		lr.runs = slices.Clone(lr.runs[i:])
		lr.runs[0].From = max(lr.runs[0].From, first)
		lr.from = first
	}
	if k <= lr.to {
		return lr, nil
	}
	more, err := d.LiveRuns(ctx, l, lr.to+1, k)
	if err != nil {
		return liveRuns{}, err
	}
	lr.runs = slices.Clone(lr.runs)
	if n := len(lr.runs); n > 0 && len(more) > 0 && more[0].From == lr.to && lr.runs[n-1].To == lr.to {
		lr.runs[n-1].To = more[0].To // a Period that goes on
		more = more[1:]
	}
	lr.runs = append(lr.runs, more...)
	lr.to = k
	return lr, nil
}
