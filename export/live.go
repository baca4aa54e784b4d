package export

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// DefaultReread is how many of the newest Ks LoadLive reads again,
// besides those the index's change log names (late copies from a second
// encoder, repairs of recent gaps reach it through the log), when it
// reads a track's rows: the newest held K only. It reads them when the
// window's end moved to a new K or the log names a change of a held row;
// otherwise the held rows are the index's, and it reads none.
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
	// Reread is how many of the newest held Ks are read again when a
	// track's rows are read (see DefaultReread); 0 is DefaultReread.
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
			l.Gaps += holes(x.runs)
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
	if toK == h.to && len(lr.pending[t.ID]) == 0 {
		return h, nil // no new K, and the log names no change: the held rows are the index's
	}
	reread := lr.Reread
	if reread <= 0 {
		reread = DefaultReread
	}
	r0 := max(h.from, h.to-reread+1)
	if err := h.apply(ctx, d, lr.pending[t.ID], r0); err != nil {
		return nil, err
	}
	delete(lr.pending, t.ID)
	if err := h.renew(ctx, d, r0, toK); err != nil {
		return nil, fmt.Errorf("export: %s: %w", t.Rep, err)
	}
	h.to = toK
	return h, nil
}

// heldRows are a track's rows of [from, to].
type heldRows struct {
	t        index.Track
	from, to int64
	segs     []expSeg
	runs     []segRun // of segs
	// shared says a window handed out holds segs' array up to its length
	// (window does not copy the rows): a held row there is then changed
	// in a copy of segs, never in place.
	shared    bool
	elsewhere map[int64]string // K: key of a row not at <ch>/<rep>/<K>.<ext> (a splice's replacement)
	dir       string           // <ch>/<rep>/
}

// heldSeg is what a held row keeps of an index row.
func heldSeg(g index.Segment) expSeg {
	return expSeg{K: g.K, EPT: g.EPT, Duration: g.Duration, Size: g.Size, InitID: g.InitID}
}

// renew makes the held rows of [r0, toK] those the index has now. The
// held rows that the index still has as they are stay in place; from the
// first that differs on, the rows are replaced.
func (h *heldRows) renew(ctx context.Context, d Deps, r0, toK int64) error {
	i, same := h.below(r0), true
	err := d.DB.ForEachSegment(ctx, h.t.ID, r0, toK, func(g index.Segment) error {
		if same && i < len(h.segs) && h.segs[i] == heldSeg(g) && h.elsewhere[g.K] == movedKey(h.dir, g.Key) {
			i++
			return nil
		}
		if same {
			h.cutAt(i)
			same = false
		}
		h.add(g)
		return nil
	})
	if same {
		h.cutAt(i) // held rows the index no longer has
	}
	return err
}

// add appends index row g after every held row.
func (h *heldRows) add(g index.Segment) {
	h.segs = append(h.segs, heldSeg(g))
	h.runs = extendRuns(h.runs, g.K, g.InitID)
	if k := movedKey(h.dir, g.Key); k != "" {
		h.elsewhere[g.K] = k
	}
}

// unshare gives h a copy of its rows, when a window holds them, before
// one is changed.
func (h *heldRows) unshare() {
	if h.shared {
		h.segs, h.shared = slices.Clone(h.segs), false
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
	if !found && !ok {
		return
	}
	h.unshare()
	delete(h.elsewhere, k)
	switch {
	case found && !ok:
		h.segs = slices.Delete(h.segs, i, i+1)
	case found:
		h.segs[i] = heldSeg(g)
	default:
		h.segs = slices.Insert(h.segs, i, heldSeg(g))
	}
	if ok {
		if mk := movedKey(h.dir, g.Key); mk != "" {
			h.elsewhere[k] = mk
		}
	}
	h.runs = segRuns(h.segs)
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
	h.runs = h.runs[runsFrom(h.runs, k):]
	if len(h.runs) > 0 {
		h.runs[0].From = max(h.runs[0].From, k)
	}
	for kk := range h.elsewhere {
		if kk < k {
			delete(h.elsewhere, kk)
		}
	}
	h.from = max(h.from, k)
}

// cutAt forgets the held rows from the i-th on (to be read again).
func (h *heldRows) cutAt(i int) {
	if i == len(h.segs) {
		return
	}
	k := h.segs[i].K
	if h.shared {
		h.segs, h.shared = slices.Clone(h.segs[:i]), false
	} else {
		h.segs = h.segs[:i]
	}
	h.runs = clipRuns(h.runs, minK, k-1)
	for kk := range h.elsewhere {
		if kk >= k {
			delete(h.elsewhere, kk)
		}
	}
}

// window is the track's rows of [fromK, toK], as loadTrack reads them.
// Its segments are h's own (read only); h changes a held row in a copy
// from now on.
func (h *heldRows) window(fromK, toK int64) (trackSegs, error) {
	a, b := h.below(fromK), h.below(toK+1)
	x := trackSegs{t: h.t, segs: h.segs[a:b:b], runs: clipRuns(h.runs, fromK, toK)}
	h.shared = true
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

// loadInits is Deps.loadInits with each init parsed once: the rows of the
// channel's inits are read every time (one query), an init's bytes only
// the first time its hash is seen.
func (lr *LiveRows) loadInits(ctx context.Context, d Deps, l *Loaded) error {
	rows, err := d.DB.ChannelInits(ctx, l.Channel.ID)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	for _, x := range l.tracks {
		for _, r := range x.runs {
			if _, ok := l.configs[r.InitID]; ok {
				continue
			}
			in, ok := rows[r.InitID]
			if !ok {
				return fmt.Errorf("export: %s init %d: %w", x.t.Rep, r.InitID, index.ErrNotFound)
			}
			if hi, ok := lr.inits[in.Hash]; ok && in.ConfigHash != "" {
				l.inits[in.ID], l.configs[in.ID], l.infos[in.ID] = in, hi.config, hi.info
				continue
			}
			if err := d.addInit(ctx, l, x.t.Rep, in); err != nil {
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
		if x.cutAfter(end); len(x.segs) > 0 {
			kept = append(kept, x)
		}
	}
	l.tracks = kept
}
