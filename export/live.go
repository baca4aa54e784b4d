package export

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// DefaultReread is how many of the newest Ks LoadLive reads again on each
// call besides those the index's change log names (late copies from a
// second encoder, repairs of recent gaps reach it through the log): the
// newest held K only.
const DefaultReread = 1

// maxChanges is the most index changes (index.DB.SegmentChanges) LoadLive
// reads in one call (a prune deletes many rows, mostly older than the
// windows), and maxPending the most changes of held rows it keeps for a
// track until that track's next window: with more, it reads the rows
// again.
const (
	maxChanges = 65536
	maxPending = 1024
)

// LiveRows holds the index rows of live windows between calls of
// LoadLive, so that each call reads only the newest rows and those the
// index's change log says changed. It is safe for concurrent use.
type LiveRows struct {
	// Reread is how many of the newest held Ks are read again on each
	// call; 0 is DefaultReread.
	Reread int64

	mu     sync.Mutex
	tracks map[int64]*heldRows // by track ID
	stamps map[int64]string    // by channel ID: index.DB.SpliceStamp
	inits  map[string]heldInit // by init hash
	// seq is the index change log's seq the held rows are current to
	// (but for the Ks in pending); -1: none read yet.
	seq     int64
	pending map[int64][]int64 // by track ID: Ks that changed since, not yet applied
}

// heldRows are a track's rows of [from, to].
type heldRows struct {
	t         index.Track
	from, to  int64
	segs      []expSeg
	elsewhere map[int64]string // K: key of a row not at <ch>/<rep>/<K>.<ext> (a splice's replacement)
	dir       string           // <ch>/<rep>/
}

// heldInit is a parsed init: its codec configuration's name and info.
type heldInit struct {
	config string
	info   *cmaf.InitInfo
}

// NewLiveRows is an empty LiveRows.
func NewLiveRows() *LiveRows {
	return &LiveRows{tracks: map[int64]*heldRows{}, stamps: map[int64]string{}, inits: map[string]heldInit{},
		seq: -1, pending: map[int64][]int64{}}
}

// LoadLive is Load of a live window [from, to): the same Loaded, read from
// the rows lr holds and the index rows that changed since. The index's
// change log (index.DB.SegmentChanges) names the held rows that changed
// (a repair, a late copy, a deletion): only those are read again, and all
// of them when the log no longer reaches back to the last call, or a
// splice was applied or undone on the channel since.
func (d Deps) LoadLive(ctx context.Context, lr *LiveRows, channel string, from, to time.Time) (*Loaded, error) {
	ch, err := d.DB.Channel(ctx, channel)
	if err != nil {
		return nil, fmt.Errorf("export: channel %q: %w", channel, err)
	}
	tracks, err := d.DB.Tracks(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	stamp, err := d.DB.SpliceStamp(ctx, ch.ID)
	if err != nil {
		return nil, err
	}
	lr.mu.Lock()
	defer lr.mu.Unlock()
	if err := lr.follow(ctx, d); err != nil {
		return nil, err
	}
	stale := lr.stamps[ch.ID] != stamp
	lr.stamps[ch.ID] = stamp
	l := &Loaded{Channel: ch, From: from, To: to, inits: map[int64]index.Init{}, configs: map[int64]string{}, infos: map[int64]*cmaf.InitInfo{}}
	for _, t := range tracks {
		if t.Timescale == 0 || t.SegDur == 0 {
			continue
		}
		fromK, toK := kRange(t, from, to)
		h, err := lr.update(ctx, d, ch, t, fromK, toK, stale)
		if err != nil {
			return nil, err
		}
		x, err := h.window(fromK, toK)
		if err != nil {
			return nil, err
		}
		if len(x.segs) > 0 {
			l.tracks = append(l.tracks, x)
			l.Gaps += holes(x.segs)
		}
	}
	if err := l.checkNotEmpty(); err != nil {
		return nil, err
	}
	return l, lr.loadInits(ctx, d, l)
}

// follow reads the index's changes since the last call and notes, per
// held track, the Ks that changed; when the log no longer has them all,
// it forgets every held row.
func (lr *LiveRows) follow(ctx context.Context, d Deps) error {
	c, err := d.DB.SegmentChanges(ctx, lr.seq, maxChanges)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	lr.seq = c.Head
	if !c.Complete {
		clear(lr.tracks)
		clear(lr.pending)
		return nil
	}
	for _, ch := range c.List {
		h, ok := lr.tracks[ch.TrackID]
		if !ok {
			continue // not held
		}
		from, to := max(ch.K, h.from), min(ch.ToK, h.to)
		if from > to {
			continue // not held; new Ks are read anyway
		}
		if int64(len(lr.pending[ch.TrackID]))+to-from >= maxPending {
			delete(lr.tracks, ch.TrackID) // read again
			delete(lr.pending, ch.TrackID)
			continue
		}
		for k := from; k <= to; k++ {
			lr.pending[ch.TrackID] = append(lr.pending[ch.TrackID], k)
		}
	}
	return nil
}

// kRange is the K range of t's segments that overlap [from, to).
func kRange(t index.Track, from, to time.Time) (int64, int64) {
	fromK, _ := t.KAt(from)
	toK, exact := t.KAt(to)
	if exact {
		toK--
	}
	return fromK, toK
}

// update brings t's held rows to [fromK, toK]: the held ones still valid,
// those the index changed since and the newest read again, the new ones
// read.
func (lr *LiveRows) update(ctx context.Context, d Deps, ch index.ChannelRow, t index.Track, fromK, toK int64, stale bool) (*heldRows, error) {
	h := lr.tracks[t.ID]
	if stale || h == nil || h.t != t || fromK < h.from || toK < h.to {
		h = &heldRows{t: t, from: fromK, to: fromK - 1, elsewhere: map[int64]string{}, dir: ch.Name + "/" + t.Rep + "/"}
		lr.tracks[t.ID] = h
		delete(lr.pending, t.ID)
	}
	h.dropBelow(fromK)
	reread := lr.Reread
	if reread <= 0 {
		reread = DefaultReread
	}
	r0 := max(h.from, h.to-reread+1)
	if err := h.apply(ctx, d, lr.pending[t.ID], r0); err != nil {
		return nil, err
	}
	delete(lr.pending, t.ID)
	h.cutFrom(r0)
	err := d.DB.ForEachSegment(ctx, t.ID, r0, toK, func(g index.Segment) error {
		h.segs = append(h.segs, heldSeg(g))
		h.noteKey(g)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("export: %s: %w", t.Rep, err)
	}
	h.to = toK
	return h, nil
}

// heldSeg is what a held row keeps of an index row.
func heldSeg(g index.Segment) expSeg {
	return expSeg{K: g.K, EPT: g.EPT, Duration: g.Duration, Size: g.Size, InitID: g.InitID}
}

// noteKey notes g's key when it is not at <ch>/<rep>/<K>.<ext>.
func (h *heldRows) noteKey(g index.Segment) {
	if rest, ok := strings.CutPrefix(g.Key, h.dir); !ok || strings.Contains(rest, "/") {
		h.elsewhere[g.K] = g.Key
	}
}

// apply reads again the held rows below r0 whose Ks changed in the
// index (those from r0 on are read again anyway).
func (h *heldRows) apply(ctx context.Context, d Deps, changed []int64, r0 int64) error {
	slices.Sort(changed)
	for _, k := range slices.Compact(changed) {
		if k < h.from || k >= r0 {
			continue
		}
		g, ok, err := d.DB.Segment(ctx, h.t.ID, k)
		if err != nil {
			return fmt.Errorf("export: %s: %w", h.t.Rep, err)
		}
		h.patch(k, g, ok)
	}
	return nil
}

// patch makes the held row of K what the index has now: g, or none (!ok).
func (h *heldRows) patch(k int64, g index.Segment, ok bool) {
	i, found := slices.BinarySearchFunc(h.segs, k, func(s expSeg, k int64) int { return cmpK(s.K, k) })
	delete(h.elsewhere, k)
	switch {
	case found && !ok:
		h.segs = slices.Delete(h.segs, i, i+1)
	case found:
		h.segs[i] = heldSeg(g)
	case ok:
		h.segs = slices.Insert(h.segs, i, heldSeg(g))
	}
	if ok {
		h.noteKey(g)
	}
}

// below is how many held rows have K < k.
func (h *heldRows) below(k int64) int {
	i, _ := slices.BinarySearchFunc(h.segs, k, func(s expSeg, k int64) int { return cmpK(s.K, k) })
	return i
}

func cmpK(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dropBelow forgets the rows below k (the window slid past them).
func (h *heldRows) dropBelow(k int64) {
	if i := h.below(k); i > 0 {
		h.segs = h.segs[i:] // the rows before are freed when an append moves the rest
	}
	for kk := range h.elsewhere {
		if kk < k {
			delete(h.elsewhere, kk)
		}
	}
	h.from = max(h.from, k)
}

// cutFrom forgets the rows from k on (to be read again).
func (h *heldRows) cutFrom(k int64) {
	h.segs = h.segs[:h.below(k)] // windows handed out are copies (window)
	for kk := range h.elsewhere {
		if kk >= k {
			delete(h.elsewhere, kk)
		}
	}
}

// window is the track's rows of [fromK, toK], as loadTrack reads them.
func (h *heldRows) window(fromK, toK int64) (trackSegs, error) {
	x := trackSegs{t: h.t, segs: slices.Clone(h.segs[h.below(fromK):h.below(toK+1)])}
	ks := make([]int64, 0, len(h.elsewhere))
	for k := range h.elsewhere {
		if k >= fromK && k <= toK {
			ks = append(ks, k)
		}
	}
	slices.Sort(ks) // as loadTrack meets them
	for _, k := range ks {
		if err := x.addDir(index.Segment{K: k, Key: h.elsewhere[k]}); err != nil {
			return trackSegs{}, err
		}
	}
	return x, nil
}

// loadInits is Deps.loadInits with each init parsed once: its row is read
// every time, its bytes only the first time its hash is seen.
func (lr *LiveRows) loadInits(ctx context.Context, d Deps, l *Loaded) error {
	for _, x := range l.tracks {
		for i, s := range x.segs {
			if i > 0 && s.InitID == x.segs[i-1].InitID {
				continue // loaded with the segment before
			}
			if _, ok := l.configs[s.InitID]; ok {
				continue
			}
			in, err := d.DB.InitByID(ctx, s.InitID)
			if err != nil {
				return fmt.Errorf("export: %s init %d: %w", x.t.Rep, s.InitID, err)
			}
			if hi, ok := lr.inits[in.Hash]; ok && in.ConfigHash != "" {
				l.inits[in.ID], l.configs[in.ID], l.infos[in.ID] = in, hi.config, hi.info
				continue
			}
			if err := d.loadInit(ctx, l, x.t.Rep, s.InitID); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			lr.inits[in.Hash] = heldInit{config: l.configs[in.ID], info: l.infos[in.ID]}
		}
	}
	return nil
}

// TrimRaggedEnd ends l at the last K that every track still being
// recorded has: the segments after it are dropped, and a track left with
// none with them. A live presentation that fills gaps (GapsFill) is built
// from such a window, so it never lists a filler for a K whose segment is
// only not in yet. A track whose last segment is more than slack Ks older
// than the newest of any track has ended, and does not count.
func (l *Loaded) TrimRaggedEnd(slack int64) {
	newest := int64(math.MinInt64)
	for _, x := range l.tracks {
		newest = max(newest, x.segs[len(x.segs)-1].K)
	}
	end := newest
	for _, x := range l.tracks {
		if last := x.segs[len(x.segs)-1].K; last >= newest-slack {
			end = min(end, last)
		}
	}
	kept := l.tracks[:0]
	for _, x := range l.tracks {
		n, _ := slices.BinarySearchFunc(x.segs, end+1, func(s expSeg, k int64) int { return cmpK(s.K, k) })
		if x.segs = x.segs[:n]; len(x.segs) > 0 {
			kept = append(kept, x)
		}
	}
	l.tracks = kept
}
