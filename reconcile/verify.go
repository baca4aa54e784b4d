package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/prune"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	Options
	// ReadData reads every object and compares the SHA-256 of its bytes
	// with the index (and, where they differ, with the object's own
	// reap-sha256 attribute). Without it only the listing is compared:
	// presence and sizes.
	ReadData bool
	// RepairIndex fixes the index side: rows of missing objects are
	// deleted (the K become gaps), rows that disagree with their object
	// are made again from the object, or deleted if the object is corrupt
	// (its bytes contradict its reap-sha256, or it has none and differs
	// from what was indexed: objects are immutable), objects and init
	// segments without rows are indexed. The store is never written; a
	// corrupt object stays where it is.
	RepairIndex bool
}

// Report is what Verify found.
type Report struct {
	Channels   []ChannelReport `json:"channels"`
	ReadData   bool            `json:"read_data"`
	Mismatches int             `json:"mismatches"` // problems found, text issues aside
	Repaired   int             `json:"repaired"`   // of which the index side was repaired
	// TextIssues counts the problems of kind TextIssue: what the cue check
	// found in text tracks while recording.
	TextIssues int `json:"text_issues"`
	// Expired counts the problems of kind Expired: rows whose objects
	// retention deleted (not mismatches).
	Expired int `json:"expired"`
}

// ChannelReport is what Verify found in one channel.
type ChannelReport struct {
	Name      string    `json:"name"`
	Tracks    int       `json:"tracks"`
	Segments  int64     `json:"segments"`   // segment rows in the index
	Objects   int64     `json:"objects"`    // media objects in the store
	Inits     int       `json:"inits"`      // init objects in the store
	BytesRead int64     `json:"bytes_read"` // with ReadData
	TempFiles int       `json:"temp_files"` // left by interrupted writes (file stores)
	Problems  []Problem `json:"problems"`
}

// Verify compares the index with the store, channel by channel (opts.Channel,
// or every channel of the store and of the index): segment rows whose object
// is missing, archive objects without rows, sizes, with ReadData the SHA-256
// of every object's bytes, and init references (every row names an indexed
// init whose object exists; every init object is indexed). With RepairIndex
// it then repairs the index side (see VerifyOptions).
func Verify(ctx context.Context, st *cloud.Store, db *index.DB, opts VerifyOptions) (Report, error) {
	rep := Report{Channels: []ChannelReport{}, ReadData: opts.ReadData}
	names := []string{opts.Channel}
	if opts.Channel == "" {
		inStore, err := storeChannels(ctx, st)
		if err != nil {
			return rep, fmt.Errorf("verify: %w", err)
		}
		chans, err := db.Channels(ctx)
		if err != nil {
			return rep, fmt.Errorf("verify: %w", err)
		}
		names = nil
		seen := map[string]bool{}
		for _, n := range inStore {
			seen[n] = true
			names = append(names, n)
		}
		for _, c := range chans {
			if !seen[c.Name] {
				names = append(names, c.Name)
			}
		}
		// Top-level directories of the store that hold no archive object
		// and are not indexed channels (exports) are skipped below.
		sort.Strings(names)
	} else if err := layout.ValidName("channel", opts.Channel); err != nil {
		return rep, err
	}
	for _, name := range names {
		v := &verifier{st: st, db: db, opts: &opts, prog: newProgressor(opts.Progress, name)}
		cr, keep, err := v.channel(ctx, name, opts.Channel != "")
		v.prog.finish()
		if err != nil {
			return rep, fmt.Errorf("verify %s: %w", name, err)
		}
		if !keep {
			continue
		}
		for _, p := range cr.Problems {
			if p.Kind == TextIssue {
				rep.TextIssues++
				continue
			}
			if p.Kind == Expired {
				rep.Expired++
				continue
			}
			rep.Mismatches++
			if p.Repaired {
				rep.Repaired++
			}
		}
		rep.Channels = append(rep.Channels, cr)
	}
	return rep, nil
}

type verifier struct {
	st   *cloud.Store
	db   *index.DB
	opts *VerifyOptions
	prog *progressor

	mu  sync.Mutex
	res ChannelReport
	// fixes are the index repairs to make, by problem index.
	fixes []fix

	// horizon and holds say what retention let go (Options.Retention);
	// expiredBelow and held are the current representation's K before
	// the archive's start and K kept by holds.
	horizon      time.Time
	holds        []*layout.HoldRecord
	expiredBelow int64
	held         []index.Range
}

// expired reports whether a vanished object of K of the current
// representation was deleted by retention.
func (v *verifier) expired(k int64) bool {
	if k >= v.expiredBelow {
		return false
	}
	for _, h := range v.held {
		if k >= h.From && k <= h.To {
			return false
		}
	}
	return true
}

// expiry sets what retention let go of the channel: its horizon and holds.
func (v *verifier) expiry(ctx context.Context, scan *chanScan) error {
	v.horizon = v.opts.horizon(scan)
	if v.horizon.IsZero() {
		return nil
	}
	var err error
	v.holds, err = holds.Active(ctx, v.st, scan.name, time.Now())
	return err
}

// expiryOf sets the representation's K before the archive's start (from
// the horizon, and from the index's start if it is later) and held K.
func (v *verifier) expiryOf(ctx context.Context, t index.Track, indexed bool) error {
	v.expiredBelow, v.held = math.MinInt64, nil
	if !indexed || t.SegDur == 0 || t.Timescale == 0 {
		return nil
	}
	if !v.horizon.IsZero() {
		v.expiredBelow, _ = t.KAt(v.horizon)
	}
	e, ok, err := v.db.Expiry(ctx, t.ID)
	if err != nil {
		return err
	}
	if ok && e.StartK > v.expiredBelow {
		v.expiredBelow = e.StartK
	}
	v.held = prune.HeldRanges(t, v.holds)
	return nil
}

// fix is one index repair a problem calls for.
type fix struct {
	problem int   // index into res.Problems
	trackID int64 // 0: none (an init, or an object of a track not indexed)
	k       int64
	delete  bool // delete the segment row (track, k)
	corrupt bool // the object is corrupt: do not index it again
	key     string
	kind    string
}

func (v *verifier) add(p Problem, f *fix) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.res.Problems = append(v.res.Problems, p)
	if f != nil {
		f.problem = len(v.res.Problems) - 1
		f.kind = p.Kind
		v.fixes = append(v.fixes, *f)
	}
}

// rowInfo is what Verify needs of a segment row.
type rowInfo struct {
	k      int64
	key    string
	size   int64
	sha    string
	initID int64
}

func (v *verifier) channel(ctx context.Context, name string, named bool) (ChannelReport, bool, error) {
	v.res = ChannelReport{Name: name, Problems: []Problem{}}
	scan, err := scanChannel(ctx, v.st, name, false, v.prog.setListed)
	if err != nil {
		return v.res, false, err
	}
	ch, err := v.db.Channel(ctx, name)
	inIndex := err == nil
	if err != nil && !errors.Is(err, index.ErrNotFound) {
		return v.res, false, err
	}
	if !inIndex && scan.empty() {
		if named {
			return v.res, false, fmt.Errorf("channel %q is neither in the index nor in the store", name)
		}
		return v.res, false, nil // not a channel: a directory of exports, say
	}
	for _, p := range scan.problems {
		v.add(p, nil)
	}
	if err := v.expiry(ctx, scan); err != nil {
		return v.res, false, err
	}
	tmps, err := v.st.TempFiles(ctx, name+"/")
	if err != nil {
		return v.res, false, err
	}
	for _, t := range tmps {
		v.res.TempFiles++
		v.add(Problem{Kind: TempFile, Key: t.Key, Detail: fmt.Sprintf("temporary file (%d bytes) of a write interrupted at %s; record removes it when it starts",
			t.Size, t.ModTime.UTC().Format(time.RFC3339))}, nil)
	}
	tracks := map[string]index.Track{}
	if inIndex {
		rows, err := v.db.Tracks(ctx, ch.ID)
		if err != nil {
			return v.res, false, err
		}
		for _, t := range rows {
			tracks[t.Rep] = t
		}
	}
	reps := map[string]bool{}
	for _, r := range scan.reps {
		if len(r.inits) > 0 || len(r.media) > 0 {
			reps[r.rep] = true
		}
	}
	for r := range tracks {
		reps[r] = true
	}
	names := make([]string, 0, len(reps))
	for r := range reps {
		names = append(names, r)
	}
	sort.Strings(names)
	v.res.Tracks = len(names)
	for _, r := range names {
		rs := scan.rep(r)
		if rs == nil {
			rs = &repScan{rep: r}
		}
		t, ok := tracks[r]
		if err := v.rep(ctx, rs, t, ok); err != nil {
			return v.res, false, fmt.Errorf("%s: %w", r, err)
		}
	}
	if v.opts.RepairIndex && len(v.fixes) > 0 {
		if err := v.repair(ctx, scan); err != nil {
			return v.res, false, fmt.Errorf("repair index: %w", err)
		}
	}
	if inIndex {
		if err := v.textIssues(ctx, ch.ID); err != nil {
			return v.res, false, err
		}
	}
	sortProblems(v.res.Problems)
	return v.res, true, nil
}

// textIssues reports what the cue check found in the channel's text
// tracks while recording (index text_issues).
func (v *verifier) textIssues(ctx context.Context, channelID int64) error {
	issues, err := v.db.TextIssues(ctx, channelID)
	if err != nil {
		return err
	}
	for _, is := range issues {
		v.add(Problem{Kind: TextIssue, Rep: is.Rep, K: kp(is.K), Detail: is.Kind + ": " + is.Detail}, nil)
	}
	return nil
}

// sortProblems orders problems by representation, K, key and kind.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Rep != b.Rep {
			return a.Rep < b.Rep
		}
		ak, bk := int64(math.MinInt64), int64(math.MinInt64)
		if a.K != nil {
			ak = *a.K
		}
		if b.K != nil {
			bk = *b.K
		}
		if ak != bk {
			return ak < bk
		}
		if a.Key != b.Key {
			return a.Key < b.Key
		}
		return a.Kind < b.Kind
	})
}

// rep verifies one representation: the index rows of track t (indexed:
// the index has it) against the store's objects rs, then, with ReadData,
// the bytes of every object whose row and listing agree.
func (v *verifier) rep(ctx context.Context, rs *repScan, t index.Track, indexed bool) error {
	effective := rs.effective() // an active splice's replacement stands for its K
	v.res.Objects += int64(len(effective))
	v.res.Inits += len(rs.inits)
	if err := v.expiryOf(ctx, t, indexed); err != nil {
		return err
	}
	var initRows []index.Init
	var rows []rowInfo
	if indexed {
		var err error
		if initRows, rows, err = v.indexRows(ctx, t.ID); err != nil {
			return err
		}
	}
	v.res.Segments += int64(len(rows))
	v.compareInits(rs, initRows, rows)
	checks := v.compareMedia(rs.rep, t.ID, rows, effective)
	if !v.opts.ReadData {
		return nil
	}
	return v.hashAll(ctx, rs, initRows, checks, t.ID)
}

// indexRows is the index's init and segment rows of a track.
func (v *verifier) indexRows(ctx context.Context, trackID int64) ([]index.Init, []rowInfo, error) {
	initRows, err := v.db.Inits(ctx, trackID)
	if err != nil {
		return nil, nil, err
	}
	var rows []rowInfo
	err = v.db.ForEachSegment(ctx, trackID, math.MinInt64, math.MaxInt64, func(g index.Segment) error {
		rows = append(rows, rowInfo{k: g.K, key: g.Key, size: g.Size, sha: g.SHA256, initID: g.InitID})
		return nil
	})
	return initRows, rows, err
}

// compareInits checks init rows against the store's init objects, and
// that every segment row names an indexed init.
func (v *verifier) compareInits(rs *repScan, initRows []index.Init, rows []rowInfo) {
	rep := rs.rep
	storeInits := map[string]initObject{}
	for _, o := range rs.inits {
		storeInits[o.key] = o
	}
	initByID := map[int64]index.Init{}
	initRowKeys := map[string]index.Init{}
	for _, in := range initRows {
		initByID[in.ID] = in
		initRowKeys[in.Key] = in
	}
	uses := map[int64]int{} // init row ID -> segment rows naming it (expired rows aside)
	noInit := 0
	for _, r := range rows {
		if _, ok := initByID[r.initID]; ok {
			if !v.expired(r.k) {
				uses[r.initID]++
			}
		} else {
			noInit++
		}
	}
	for _, in := range initRows {
		if _, ok := storeInits[in.Key]; !ok && uses[in.ID] == 0 && v.expiredBelow != math.MinInt64 {
			v.add(Problem{Kind: Expired, Rep: rep, Key: in.Key, Detail: "init segment deleted by retention; only expired segment rows decode with it"}, nil)
		} else if !ok {
			v.add(Problem{Kind: InitMissing, Rep: rep, Key: in.Key,
				Detail: fmt.Sprintf("indexed init segment not in the store (%d segment rows decode with it)", uses[in.ID])}, nil)
		}
	}
	if noInit > 0 {
		v.add(Problem{Kind: InitMissing, Rep: rep, Detail: fmt.Sprintf("%d segment rows name no indexed init segment", noInit)}, nil)
	}
	for _, o := range rs.inits {
		if _, ok := initRowKeys[o.key]; !ok {
			v.add(Problem{Kind: InitNotIndexed, Rep: rep, Key: o.key, Detail: "init segment in the store, not in the index"}, &fix{key: o.key})
		}
	}
}

// mediaCheck is a segment row and the object its listing agrees with,
// whose bytes ReadData hashes.
type mediaCheck struct {
	row rowInfo
	obj mediaObject
}

// compareMedia checks the segment rows of track trackID against the
// store's media objects (effective: a splice's replacement for its K),
// and returns the pairs that agree.
func (v *verifier) compareMedia(rep string, trackID int64, rows []rowInfo, effective []mediaObject) []mediaCheck {
	media := map[int64]mediaObject{}
	for _, m := range effective {
		media[m.k] = m
	}
	seen := map[int64]bool{}
	var checks []mediaCheck
	for _, r := range rows {
		o, ok := media[r.k]
		del := &fix{trackID: trackID, k: r.k, delete: true, key: r.key}
		switch {
		case (!ok || o.key != r.key) && v.expired(r.k):
			v.add(Problem{Kind: Expired, Rep: rep, K: kp(r.k), Key: r.key, Detail: "deleted by retention (before the archive's start, in no hold); the next prune removes the row"}, del)
		case !ok:
			v.add(Problem{Kind: MissingObject, Rep: rep, K: kp(r.k), Key: r.key, Detail: "indexed, not in the store"}, del)
		case o.key != r.key:
			v.add(Problem{Kind: MissingObject, Rep: rep, K: kp(r.k), Key: r.key, Detail: "indexed, not in the store (the store has " + o.key + ")"}, del)
		case o.size != r.size:
			seen[r.k] = true
			v.add(Problem{Kind: SizeMismatch, Rep: rep, K: kp(r.k), Key: r.key, Detail: fmt.Sprintf("%d bytes in the store, %d in the index", o.size, r.size)}, del)
		default:
			seen[r.k] = true
			checks = append(checks, mediaCheck{r, o})
		}
		if !v.opts.ReadData {
			v.prog.add(1) // with ReadData, each object read is counted instead
		}
	}
	for _, m := range effective {
		if !seen[m.k] {
			v.add(Problem{Kind: NotIndexed, Rep: rep, K: kp(m.k), Key: m.key, Detail: "in the store, not in the index"}, &fix{key: m.key})
		}
	}
	return checks
}

// hashAll hashes every init object of rs and every checked media object,
// concurrently, against the index.
func (v *verifier) hashAll(ctx context.Context, rs *repScan, initRows []index.Init, checks []mediaCheck, trackID int64) error {
	initRowKeys := map[string]index.Init{}
	for _, in := range initRows {
		initRowKeys[in.Key] = in
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.opts.workers())
	for _, o := range rs.inits {
		in, ok := initRowKeys[o.key]
		g.Go(func() error { return v.hashInit(gctx, rs.rep, o, in, ok) })
	}
	for _, c := range checks {
		g.Go(func() error { return v.hashMedia(gctx, rs.rep, c, trackID) })
	}
	return g.Wait()
}

// hashInit checks an init object's bytes against its key and, if indexed
// (row), against its row.
func (v *verifier) hashInit(ctx context.Context, rep string, o initObject, row index.Init, indexed bool) error {
	sum, n, err := v.hash(ctx, rep, o.key)
	if err != nil || n < 0 {
		return err
	}
	if layout.InitID(sum) != o.h16 {
		v.add(Problem{Kind: Corrupt, Rep: rep, Key: o.key, Detail: fmt.Sprintf("init segment content hashes to %s, its key says %s", short(sum), o.h16)}, nil)
	} else if indexed && row.Hash != sum {
		v.add(Problem{Kind: SHA256Mismatch, Rep: rep, Key: o.key, Detail: fmt.Sprintf("init segment hashes to %s, the index says %s", short(sum), short(row.Hash))}, nil)
	}
	return nil
}

// hashMedia checks a media object's bytes against its row and, where
// they differ, says which is wrong.
func (v *verifier) hashMedia(ctx context.Context, rep string, c mediaCheck, trackID int64) error {
	sum, n, err := v.hash(ctx, rep, c.obj.key)
	if err != nil || n < 0 {
		return err
	}
	if sum == c.row.sha {
		return nil
	}
	p := Problem{Kind: SHA256Mismatch, Rep: rep, K: kp(c.row.k), Key: c.row.key}
	f := &fix{trackID: trackID, k: c.row.k, delete: true, key: c.row.key}
	at, err := v.st.Attributes(ctx, c.obj.key)
	// Objects are immutable: unless the object itself vouches for
	// its bytes (its reap-sha256), it changed after it was indexed.
	attrs, _ := layout.ParseSegmentAttrs(at.Meta)
	switch meta := attrs.SHA256; {
	case err != nil && !cloud.IsNotFound(err):
		return err
	case meta == sum:
		p.Detail = fmt.Sprintf("the bytes hash to %s as the object's reap-sha256 says, the index says %s: the index row is stale", short(sum), short(c.row.sha))
	case meta == "":
		p.Detail = fmt.Sprintf("the bytes hash to %s, the index says %s, and the object has no reap-sha256: it was replaced after it was indexed", short(sum), short(c.row.sha))
		f.corrupt = true
	default:
		p.Detail = fmt.Sprintf("the bytes hash to %s, the index says %s and the object's reap-sha256 %s: the object is corrupt", short(sum), short(c.row.sha), short(meta))
		f.corrupt = true
	}
	v.add(p, f)
	return nil
}

// hash reads an object and returns the hex SHA-256 of its bytes and their
// number; n < 0 (and a problem) if the object cannot be found.
func (v *verifier) hash(ctx context.Context, rep, key string) (string, int64, error) {
	data, err := v.st.Get(ctx, key)
	if cloud.IsNotFound(err) {
		v.add(Problem{Kind: Unreadable, Rep: rep, Key: key, Detail: "listed, but not found when read: " + err.Error()}, nil)
		return "", -1, nil
	}
	if err != nil {
		return "", 0, err
	}
	h := sha256.Sum256(data)
	v.mu.Lock()
	v.res.BytesRead += int64(len(data))
	v.mu.Unlock()
	v.prog.add(1)
	return hex.EncodeToString(h[:]), int64(len(data)), nil
}

// repair makes the index side agree with the store: it deletes the rows the
// problems condemn, then indexes the channel as Reindex does (with ReadData:
// from the objects' bytes), leaving out corrupt objects, and marks what it
// repaired.
func (v *verifier) repair(ctx context.Context, scan *chanScan) error {
	exclude := map[string]bool{}
	for _, f := range v.fixes {
		if f.delete {
			if err := v.db.DeleteSegment(ctx, f.trackID, f.k); err != nil && !errors.Is(err, index.ErrNotFound) {
				return err
			}
		}
		if f.corrupt {
			exclude[f.key] = true
		}
	}
	ix := &indexer{st: v.st, db: v.db, opts: &v.opts.Options, prog: newProgressor(nil, scan.name), readData: v.opts.ReadData, exclude: exclude}
	res, err := ix.channel(ctx, scan)
	if err != nil {
		return err
	}
	// What indexing found (objects it would not index) is reported too,
	// unless it is already.
	known := map[string]bool{}
	for _, p := range v.res.Problems {
		known[p.Kind+" "+p.Key] = true
	}
	for _, p := range res.Problems {
		if !known[p.Kind+" "+p.Key] {
			v.res.Problems = append(v.res.Problems, p)
		}
	}
	notIndexedNow := map[string]bool{}
	for _, p := range res.Problems {
		notIndexedNow[p.Key] = true
	}
	ch, err := v.db.Channel(ctx, scan.name)
	if err != nil {
		return err
	}
	for _, f := range v.fixes {
		p := &v.res.Problems[f.problem]
		switch {
		case f.kind == MissingObject || f.kind == Expired || f.corrupt:
			p.Repaired = true // the row is gone; a corrupt object stays in the store
		case f.kind == InitNotIndexed:
			p.Repaired = !notIndexedNow[f.key]
		default: // re-made or newly indexed: is the row there now?
			if p.Rep == "" || p.K == nil {
				continue
			}
			t, err := v.db.Track(ctx, ch.ID, p.Rep)
			if err != nil {
				continue
			}
			g, ok, err := v.db.Segment(ctx, t.ID, *p.K)
			if err != nil {
				return err
			}
			p.Repaired = ok && g.Key == f.key && !notIndexedNow[f.key]
		}
	}
	v.res.Problems = slices.Clip(v.res.Problems)
	return nil
}
