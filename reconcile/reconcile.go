// Package reconcile keeps an archive's index in line with its store, which
// is the truth (LAYOUT.md): Reindex rebuilds an index, or brings one up to
// date, from a paged listing of the store and the attributes of its objects;
// Verify compares an index with the store (objects missing, objects not
// indexed, sizes, SHA-256 of the bytes, init references) and can repair the
// index side. Neither ever writes to the store.
package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/layout"
)

// Options are common to Reindex and Verify.
type Options struct {
	// Channel limits the work to one channel; "" means every channel
	// found in the store (Verify: and in the index).
	Channel string
	// Workers bounds the concurrent object reads (attributes, bodies);
	// default 16.
	Workers int
	// IgnoreIndexObjects makes Reindex read every object's attributes
	// instead of taking them from the index objects (LAYOUT.md, Index
	// objects).
	IgnoreIndexObjects bool
	// Progress, if set, is called (from one goroutine at a time, at most
	// every 100 ms, and once when a channel is done) as work advances.
	Progress func(Progress)

	// batchSize is the number of segment rows Reindex builds and inserts
	// at a time; 0 means defaultBatchSize (tests set it: export_test.go).
	batchSize int

	// Retention is the retention policy per channel (LAYOUT.md, Retention
	// and deletion order): a segment that ends at or before Now minus it,
	// outside the active holds, is expired. With the channel's newest
	// expiry marker (whichever is later) it says where the archive starts:
	// Verify counts a vanished object there as expired, not missing (a
	// prune, or a bucket lifecycle rule, deleted it), and Reindex records
	// that start, so the K before it are no gaps.
	Retention map[string]time.Duration
	// Now is the time the policy is applied at (zero: time.Now()).
	Now time.Time
}

// horizon is where the channel's archive starts: the newer of its
// newest expiry marker and Now minus its retention (zero: neither).
func (o *Options) horizon(scan *chanScan) time.Time {
	h := scan.horizon
	if d := o.Retention[scan.name]; d > 0 {
		now := o.Now
		if now.IsZero() {
			now = time.Now()
		}
		if p := now.Add(-d).Truncate(time.Second); p.After(h) {
			h = p
		}
	}
	return h
}

// Progress is how far a Reindex or Verify has come.
type Progress struct {
	Channel string // the channel being worked on
	Listed  int64  // objects listed so far in this channel
	Done    int64  // objects handled so far in this channel
	Final   bool   // the channel is done
}

// Problem kinds.
const (
	// MissingObject: the index has a segment (or init) row whose object
	// is not in the store.
	MissingObject = "missing_object"
	// NotIndexed: an archive object in the store has no index row.
	NotIndexed = "not_indexed"
	// SizeMismatch: the object's size differs from the index row's.
	SizeMismatch = "size_mismatch"
	// SHA256Mismatch: the object's bytes hash differently from what the
	// index row says (Verify with ReadData).
	SHA256Mismatch = "sha256_mismatch"
	// Corrupt: the object's bytes contradict the object itself (its
	// reap-sha256 attribute, or its init key's content hash), or are not a
	// valid segment of the track at the K of its key.
	Corrupt = "corrupt_object"
	// InitMissing: a segment row names no init, or an init row whose
	// object is not in the store; or an object's reap-init names an init
	// segment that is not in the store.
	InitMissing = "init_missing"
	// InitNotIndexed: an init object in the store has no index row.
	InitNotIndexed = "init_not_indexed"
	// Unreadable: an object that could not be read or interpreted (a key
	// that looks like an archive key but is malformed, an I-MPD that does
	// not parse).
	Unreadable = "unreadable"
	// TempFile: a temporary file a write interrupted by a crash left in a
	// file store (<key>.<hex>.tmp); record removes these when it starts.
	TempFile = "temp_file"
	// TextIssue: the cue check found an issue in a stored segment of a
	// text track while recording (index text_issues): its detail is the
	// issue's kind (order, alignment, malformed, cue_time) and what is
	// wrong. The segment is stored as sent; it is a finding about the
	// content, not a disagreement of index and store, and is not repaired.
	TextIssue = "text_issue"
	// Expired: a row whose object retention deleted: its K is before the
	// archive's start (the channel's newest expiry marker, the index's
	// start, or Options.Retention) and in no active hold (LAYOUT.md,
	// Retention and deletion order). Not a mismatch; the next prune, or
	// --repair-index, removes the row.
	Expired = "expired"
)

// Problem is one disagreement between the store and the index, or one
// object that could not be indexed.
type Problem struct {
	Kind     string `json:"kind"`
	Rep      string `json:"rep,omitempty"`
	K        *int64 `json:"k,omitempty"`
	Key      string `json:"key,omitempty"`
	Detail   string `json:"detail"`
	Repaired bool   `json:"repaired,omitempty"`
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.Kind)
	if p.Rep != "" {
		b.WriteString(" " + p.Rep)
	}
	if p.K != nil {
		fmt.Fprintf(&b, " K=%d", *p.K)
	}
	if p.Key != "" {
		b.WriteString(" " + p.Key)
	}
	if p.Detail != "" {
		b.WriteString(": " + p.Detail)
	}
	if p.Repaired {
		b.WriteString(" (index repaired)")
	}
	return b.String()
}

func kp(k int64) *int64 { return &k }

// object is one listed object.
type object struct {
	key     string
	size    int64
	modTime time.Time
	// unsized: the listing did not read size and modTime (a media object
	// that Reindex listed on a file store: cloud.Store.ListDirUnsized).
	unsized bool
}

// mediaObject is a listed media segment.
type mediaObject struct {
	object
	k   int64
	ext string
}

// initObject is a listed init segment.
type initObject struct {
	object
	h16 string
}

// repScan is what the store holds for one representation.
type repScan struct {
	rep   string
	inits []initObject
	media []mediaObject // sorted by K: the <K>.<ext> objects
	// spliced maps a K to the replacement that the newest active splice
	// listing it stored (LAYOUT.md, Splices): the segment of that K.
	spliced map[int64]splicedObject
	// indexObjs are the representation's index objects.
	indexObjs []indexObject
}

// splicedObject is a splice's replacement of a media segment.
type splicedObject struct {
	mediaObject
	splice string // the splice's id
}

// effective is the representation's segments as LAYOUT.md reads them: the
// <K>.<ext> objects, with the active splices' replacements in their place.
func (r *repScan) effective() []mediaObject {
	if len(r.spliced) == 0 {
		return r.media
	}
	out := make([]mediaObject, 0, len(r.media))
	seen := map[int64]bool{}
	for _, m := range r.media {
		if s, ok := r.spliced[m.k]; ok {
			m = s.mediaObject
		}
		seen[m.k] = true
		out = append(out, m)
	}
	for k, s := range r.spliced {
		if !seen[k] {
			out = append(out, s.mediaObject)
		}
	}
	slices.SortFunc(out, func(a, b mediaObject) int { return cmp.Compare(a.k, b.k) })
	return out
}

// spliceScan is an active splice of a channel: its record.
type spliceScan struct {
	key string
	rec *layout.SpliceRecord
}

// chanScan is what the store holds for one channel.
type chanScan struct {
	name     string
	horizon  time.Time // of the channel's newest expiry marker (zero: none)
	impds    []object
	reps     []*repScan   // sorted by rep
	splices  []spliceScan // active, oldest first
	listed   int64
	problems []Problem
	// unsized: list representations' media objects without their sizes
	// and modification times where that is cheaper (file stores), for a
	// Reindex that reads them only where an index object covers the
	// object, and later (repIndexer.statCovered).
	unsized bool
}

func (c *chanScan) rep(name string) *repScan {
	for _, r := range c.reps {
		if r.rep == name {
			return r
		}
	}
	return nil
}

// empty reports whether the store holds nothing of the channel.
func (c *chanScan) empty() bool {
	if len(c.impds) > 0 {
		return false
	}
	for _, r := range c.reps {
		if len(r.inits) > 0 || len(r.media) > 0 {
			return false
		}
	}
	return true
}

// storeChannels lists the channels the store holds: top-level "directories"
// whose names are valid channel names and that hold at least one archive
// object (exports and other keys are ignored, as LAYOUT.md says).
func storeChannels(ctx context.Context, st *cloud.Store) ([]string, error) {
	var dirs []string
	err := st.ListDir(ctx, "", func(a cloud.Attrs) error {
		if a.Dir {
			name := strings.TrimSuffix(a.Key, "/")
			if layout.ValidName("channel", name) == nil {
				dirs = append(dirs, name)
			}
		}
		return nil
	})
	return dirs, err
}

// scanChannel lists one channel of the store, one level at a time (paged):
// <ch>/ for I-MPDs and representations, then <ch>/<rep>/ for init and media
// segments. Filler objects (<ch>/<rep>/filler/) and keys not of the
// layout's forms are skipped. With unsized, media objects may be listed
// without their sizes and modification times (chanScan.unsized).
func scanChannel(ctx context.Context, st *cloud.Store, name string, unsized bool, progress func(listed int64)) (*chanScan, error) {
	c := &chanScan{name: name, unsized: unsized}
	repNames, spliceKeys, err := c.listTop(ctx, st)
	if err != nil {
		return nil, err
	}
	for _, rep := range repNames {
		r, err := c.scanRep(ctx, st, rep, progress)
		if err != nil {
			return nil, err
		}
		c.reps = append(c.reps, r)
	}
	if err := c.readSplices(ctx, st, spliceKeys); err != nil {
		return nil, err
	}
	return c, nil
}

// listTop lists <ch>/: the I-MPDs (into c), the representations' names
// and the splice records' keys.
func (c *chanScan) listTop(ctx context.Context, st *cloud.Store) (repNames, spliceKeys []string, err error) {
	err = st.ListDir(ctx, c.name+"/", func(a cloud.Attrs) error {
		if a.Dir {
			rep := strings.TrimSuffix(strings.TrimPrefix(a.Key, c.name+"/"), "/")
			if layout.ValidName("representation", rep) == nil {
				repNames = append(repNames, rep)
			}
			return nil
		}
		o, err := layout.Parse(a.Key)
		if err != nil {
			c.problems = append(c.problems, Problem{Kind: Unreadable, Key: a.Key, Detail: err.Error()})
			return nil
		}
		switch o.Kind {
		case layout.KindIMPD:
			c.impds = append(c.impds, object{key: a.Key, size: a.Size, modTime: a.ModTime})
		case layout.KindSplice:
			spliceKeys = append(spliceKeys, a.Key)
		case layout.KindUnknown:
			if h, ok := layout.ParseExpiryName(strings.TrimPrefix(a.Key, c.name+"/")); ok && h.After(c.horizon) {
				c.horizon = h
			}
		}
		return nil
	})
	return repNames, spliceKeys, err
}

// scanRep lists <ch>/<rep>/: its inits and media objects (one per K),
// then its real/ copies.
func (c *chanScan) scanRep(ctx context.Context, st *cloud.Store, rep string, progress func(int64)) (*repScan, error) {
	r := &repScan{rep: rep}
	dir := c.name + "/" + rep + "/"
	hasReal, hasIndex := false, false
	visit := func(a cloud.Attrs) {
		if a.Dir {
			// real/ holds segments (LAYOUT.md, Encoder fillers), index/
			// the index objects; filler/ and anything else below a
			// representation nothing a rebuild reads.
			hasReal = hasReal || strings.TrimSuffix(a.Key, "/") == dir+layout.RealDir
			hasIndex = hasIndex || strings.TrimSuffix(a.Key, "/") == dir+layout.IndexDir
			return
		}
		c.listed++
		if progress != nil {
			progress(c.listed)
		}
		c.addRepObject(r, a)
	}
	var err error
	if c.unsized {
		err = st.ListDirUnsized(ctx, dir, func(page []cloud.Attrs) error {
			r.media = slices.Grow(r.media, len(page)) // a file store's directory: one allocation
			for _, a := range page {
				visit(a)
			}
			return nil
		})
	} else {
		err = st.ListDir(ctx, dir, func(a cloud.Attrs) error { visit(a); return nil })
	}
	if err != nil {
		return nil, err
	}
	if err := statInits(ctx, st, r); err != nil {
		return nil, err
	}
	c.dropSecondCopies(r)
	if hasReal {
		if err := c.readReal(ctx, st, r, progress); err != nil {
			return nil, err
		}
	}
	if hasIndex {
		if err := c.readIndexList(ctx, st, r); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// addRepObject files a listed object of representation r as an init or a
// media object, reporting a key not of the layout's forms.
func (c *chanScan) addRepObject(r *repScan, a cloud.Attrs) {
	o, err := layout.Parse(a.Key)
	if err != nil {
		c.problems = append(c.problems, Problem{Kind: Unreadable, Rep: r.rep, Key: a.Key, Detail: err.Error()})
		return
	}
	obj := object{key: a.Key, size: a.Size, modTime: a.ModTime, unsized: a.Unsized}
	switch o.Kind {
	case layout.KindMedia:
		r.media = append(r.media, mediaObject{object: obj, k: o.K, ext: o.Ext})
	case layout.KindInit:
		if len(o.Hash) != layout.HashLen || o.Ext != layout.InitExt {
			c.problems = append(c.problems, Problem{Kind: Unreadable, Rep: r.rep, Key: a.Key,
				Detail: fmt.Sprintf("not an init key of this layout (init-<%d hex digits>.%s)", layout.HashLen, layout.InitExt)})
			return
		}
		r.inits = append(r.inits, initObject{object: obj, h16: o.Hash})
	}
}

// statInits reads the size and modification time of r's inits that the
// listing did not give (few objects; Reindex reads every init), dropping
// those deleted since they were listed.
func statInits(ctx context.Context, st *cloud.Store, r *repScan) error {
	out := r.inits[:0]
	for _, in := range r.inits {
		if in.unsized {
			a, err := st.Stat(ctx, in.key)
			if cloud.IsNotFound(err) {
				continue
			}
			if err != nil {
				return err
			}
			in.size, in.modTime, in.unsized = a.Size, a.ModTime, false
		}
		out = append(out, in)
	}
	r.inits = out
	return nil
}

// dropSecondCopies sorts r's media objects by K and keeps the first of
// two objects for one K (e.g. 12.m4s and 12.cmfv): the index can describe
// one; the other is reported.
func (c *chanScan) dropSecondCopies(r *repScan) {
	slices.SortFunc(r.media, func(a, b mediaObject) int {
		if a.k != b.k {
			return cmp.Compare(a.k, b.k)
		}
		return strings.Compare(a.key, b.key)
	})
	out := r.media[:0]
	for i, m := range r.media {
		if i > 0 && m.k == r.media[i-1].k {
			c.problems = append(c.problems, Problem{Kind: Unreadable, Rep: r.rep, K: kp(m.k), Key: m.key,
				Detail: "a second object for this K (" + r.media[i-1].key + " is the first); the index holds one"})
			continue
		}
		out = append(out, m)
	}
	r.media = out
}

// readReal lists the representation's real/ directory: the real copies of
// K whose <K>.<ext> is an encoder's filler. A real copy stands for its K
// (LAYOUT.md, Encoder fillers): it takes the place of <K>.<ext> in r.media.
func (c *chanScan) readReal(ctx context.Context, st *cloud.Store, r *repScan, progress func(int64)) error {
	copies := map[int64]mediaObject{}
	err := st.ListDir(ctx, c.name+"/"+r.rep+"/"+layout.RealDir+"/", func(a cloud.Attrs) error {
		if a.Dir {
			return nil
		}
		c.listed++
		if progress != nil {
			progress(c.listed)
		}
		o, err := layout.Parse(a.Key)
		if err != nil || o.Kind != layout.KindReal {
			return nil // a sidecar or a key of no archive object
		}
		if prev, ok := copies[o.K]; ok {
			c.problems = append(c.problems, Problem{Kind: Unreadable, Rep: r.rep, K: kp(o.K), Key: a.Key,
				Detail: "a second real copy for this K (" + prev.key + " is the first); the index holds one"})
			return nil
		}
		copies[o.K] = mediaObject{object: object{key: a.Key, size: a.Size, modTime: a.ModTime}, k: o.K, ext: o.Ext}
		return nil
	})
	if err != nil {
		return err
	}
	for i, m := range r.media {
		if rm, ok := copies[m.k]; ok {
			r.media[i] = rm
			delete(copies, m.k)
		}
	}
	for _, rm := range copies { // a real copy whose filler is gone
		r.media = append(r.media, rm)
	}
	slices.SortFunc(r.media, func(a, b mediaObject) int { return cmp.Compare(a.k, b.k) })
	return nil
}

// readSplices reads the channel's splice records (each one's presence
// makes it active) and notes, per representation and K, the replacement
// the newest of them stored. It reads the replacements' attributes (their
// size; no listing: their keys follow from the records).
func (c *chanScan) readSplices(ctx context.Context, st *cloud.Store, keys []string) error {
	for _, key := range keys {
		data, err := st.Get(ctx, key)
		if cloud.IsNotFound(err) {
			continue // undone since it was listed
		}
		if err != nil {
			return err
		}
		rec, err := layout.ParseSpliceRecord(data)
		if err == nil && (rec.Channel != c.name || layout.SpliceRecordKey(c.name, rec.ID) != key) {
			err = fmt.Errorf("record of splice %s of channel %s under another key", rec.ID, rec.Channel)
		}
		if err != nil {
			c.problems = append(c.problems, Problem{Kind: Unreadable, Key: key, Detail: err.Error()})
			continue
		}
		c.splices = append(c.splices, spliceScan{key: key, rec: rec})
	}
	slices.SortFunc(c.splices, func(a, b spliceScan) int {
		if d := a.rec.Created.Compare(b.rec.Created); d != 0 {
			return d
		}
		return strings.Compare(a.rec.ID, b.rec.ID)
	})
	for _, sp := range c.splices {
		for _, t := range sp.rec.Tracks {
			r := c.rep(t.Rep)
			if r == nil {
				r = &repScan{rep: t.Rep}
				c.reps = append(c.reps, r)
				slices.SortFunc(c.reps, func(a, b *repScan) int { return strings.Compare(a.rep, b.rep) })
			}
			for _, k := range t.Ks {
				key := layout.SpliceKey(c.name, t.Rep, sp.rec.ID, k, t.Ext)
				at, err := st.Attributes(ctx, key)
				if cloud.IsNotFound(err) && !sp.rec.To.After(c.horizon) {
					continue // an expired splice that a prune is deleting
				}
				if cloud.IsNotFound(err) {
					c.problems = append(c.problems, Problem{Kind: MissingObject, Rep: t.Rep, K: kp(k), Key: key,
						Detail: "the replacement active splice " + sp.rec.ID + " (" + sp.key + ") lists is not in the store"})
					continue
				}
				if err != nil {
					return err
				}
				if r.spliced == nil {
					r.spliced = map[int64]splicedObject{}
				}
				r.spliced[k] = splicedObject{mediaObject{object{key: key, size: at.Size, modTime: at.ModTime}, k, t.Ext}, sp.rec.ID}
			}
		}
	}
	return nil
}

// progressor throttles Options.Progress.
type progressor struct {
	mu      sync.Mutex
	fn      func(Progress)
	channel string
	listed  int64
	done    int64
	last    time.Time
}

func newProgressor(fn func(Progress), channel string) *progressor {
	return &progressor{fn: fn, channel: channel}
}

func (p *progressor) setListed(n int64) {
	p.mu.Lock()
	p.listed = n
	p.emitLocked(false)
	p.mu.Unlock()
}

func (p *progressor) add(n int64) {
	p.mu.Lock()
	p.done += n
	p.emitLocked(false)
	p.mu.Unlock()
}

func (p *progressor) finish() {
	p.mu.Lock()
	p.emitLocked(true)
	p.mu.Unlock()
}

func (p *progressor) emitLocked(final bool) {
	if p.fn == nil {
		return
	}
	if now := time.Now(); final || now.Sub(p.last) >= 100*time.Millisecond {
		p.last = now
		p.fn(Progress{Channel: p.channel, Listed: p.listed, Done: p.done, Final: final})
	}
}

func (o *Options) batch() int {
	if o.batchSize > 0 {
		return o.batchSize
	}
	return defaultBatchSize
}

func (o *Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return 16
}
