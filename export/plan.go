package export

import (
	"math"
	"sort"

	"github.com/reaparchive/reaparchive/manifest"
)

// plan is what an export presents, whatever the format: Periods (HLS
// discontinuity runs), each with every track's entries: archived
// segments, signalled gaps or fillers. The DASH and HLS writers both
// consume it, so gaps mean the same in both.
type plan struct {
	firstK, lastK int64 // the presentation's K range
	periods       []planPeriod
	missing       [][]int64 // GapsFill: per track, the Ks that get a filler
	omitted       int       // archived segments left out (GapsSignal: before firstK; GapsSplit: at gaps)
	presented     int64     // Ks in the Periods (GapsSplit: without the gaps cut out)
}

type planPeriod struct {
	startK int64
	tracks []planTrack
}

type planTrack struct {
	ti     int   // index into the export's tracks
	filler bool  // every entry is a filler (GapsFill); EPT and Duration are filled in later
	initID int64 // init of the archived segments
	dir    int   // their media pattern: 1 + index into the track's dirs; 0: <ch>/<rep>/$Number$.<ext>
	segs   []manifest.VoDSegment
}

// Plan is the layout of an export of a Loaded range in one gap mode: its
// Periods and their tracks' entries. Loaded.Plan makes it without reading
// anything.
type Plan struct {
	plan
	Mode   GapMode
	loaded *Loaded
}

// Periods is the number of Periods.
func (p *Plan) Periods() int { return len(p.periods) }

// Omitted is how many archived segments the plan leaves out (Result.Omitted).
func (p *Plan) Omitted() int { return p.omitted }

// Plan lays out the Periods of an export of l in gap mode (see buildPlan).
func (l *Loaded) Plan(mode GapMode) (*Plan, error) {
	return l.plan(mode, false)
}

// GridPlan is Plan for a dynamic MPD, which lists segments on the K*D
// grid (manifest.BuildVoD): each archived segment K starts at K*D and
// lasts D, and each run of them in a Period is one entry
// (manifest.VoDSegment.Repeat). Its cost follows the runs, not the
// segments. Its entries' timing is not the segments' own: HLS playlists,
// which list each segment's duration, and static MPDs use Plan.
func (l *Loaded) GridPlan(mode GapMode) (*Plan, error) {
	return l.plan(mode, true)
}

func (l *Loaded) plan(mode GapMode, grid bool) (*Plan, error) {
	p := newPlanner(l.tracks, mode, func(_ int, id int64) (string, error) { return l.configs[id], nil })
	p.grid = grid
	pl, err := p.walk()
	if err != nil {
		return nil, err
	}
	return &Plan{plan: pl, Mode: mode, loaded: l}, nil
}

// buildPlan lays out the Periods of an export. tracks holds every track's
// archived segments in the range; cfg names the codec configuration of an
// init (equal names: interchangeable inits). The presentation spans from
// the first to the last K any track has. A new Period starts where a
// track's codec configuration changes (an encoder restart with new
// settings; LAYOUT.md, "Init segments and encoder restarts"), and:
//   - GapsSignal: nowhere else; a K a track misses is a Gap entry of that
//     track, timed to join its neighbours.
//   - GapsSplit: after every run of Ks that some track misses; those Ks
//     are in no Period.
//   - GapsFill: where any track switches between archived segments and
//     fillers, so each filler run is its own Period with the slate's init.
func buildPlan(tracks []trackSegs, mode GapMode, cfg func(ti int, initID int64) (string, error)) (plan, error) {
	return newPlanner(tracks, mode, cfg).walk()
}

// walk lays out the Periods K by K, and a steady run (steadyRun) at once
// unless perK.
func (p *planner) walk() (plan, error) {
	p.makeBufs()
	if p.mode == GapsSignal {
		if err := p.skipToCommonK(); err != nil {
			return plan{}, err
		}
	}
	all := false
	for k := p.pl.firstK; k <= p.pl.lastK; k++ {
		if all && !p.perK {
			if n := p.steadyRun(k); n > 0 {
				k += n - 1
				continue
			}
		}
		var changed bool
		var err error
		if all, changed, err = p.look(k); err != nil {
			return plan{}, err
		}
		p.cut(k, all, changed)
		if p.cur != nil {
			p.pl.presented++
		}
		p.add(k)
	}
	p.closePeriod()
	return p.finish()
}

// planner is buildPlan's state while it walks the Ks of the range.
type planner struct {
	tracks []trackSegs
	mode   GapMode
	cfg    func(ti int, initID int64) (string, error)
	pl     plan
	pos    []int    // next segment of each track
	last   []string // configuration of the track's last segment
	state  []string // GapsFill: what the track had at the previous K
	// present and cfgs are, at the current K, whether each track has a
	// segment and its configuration.
	present []bool
	cfgs    []string
	cur     *planPeriod
	// lastInit and lastDir are the init and media pattern of the track's
	// last segment, whose configuration is last; bufs hold every Period's
	// entries of a track, one after the other (used of them so far).
	lastInit []int64
	lastDir  []int
	bufs     [][]manifest.VoDSegment
	used     []int
	grid     bool // archived segments on the K*D grid, a run per entry (GridPlan)
	perK     bool // no steadyRun: the plain walk (tests compare)
}

func newPlanner(tracks []trackSegs, mode GapMode, cfg func(int, int64) (string, error)) *planner {
	n := len(tracks)
	p := &planner{tracks: tracks, mode: mode, cfg: cfg, pos: make([]int, n), last: make([]string, n), state: make([]string, n),
		present: make([]bool, n), cfgs: make([]string, n), lastInit: make([]int64, n), lastDir: make([]int, n),
		bufs: make([][]manifest.VoDSegment, n), used: make([]int, n)}
	p.pl = plan{firstK: math.MaxInt64, lastK: math.MinInt64, missing: make([][]int64, n)}
	for ti, x := range tracks {
		p.pl.firstK = min(p.pl.firstK, x.segs[0].K)
		p.pl.lastK = max(p.pl.lastK, x.segs[len(x.segs)-1].K)
		if x.runs == nil {
			tracks[ti].runs = segRuns(x.segs)
		}
	}
	for ti := range tracks {
		p.lastInit[ti] = -1
	}
	return p
}

// makeBufs makes room for every track's entries: GapsSplit at most one
// per segment, the other modes one per K; on the grid about one per run.
func (p *planner) makeBufs() {
	for ti, x := range p.tracks {
		entries := int64(len(x.segs))
		switch {
		case p.grid:
			entries = int64(len(x.runs)) + 1
		case p.mode != GapsSplit:
			entries = p.pl.lastK - p.pl.firstK + 1
		}
		p.bufs[ti] = make([]manifest.VoDSegment, 0, entries)
	}
}

// steadyRun adds, when every track had a segment at K-1, the Ks from K on
// at which every track has a segment of the same init and media pattern
// as at K-1: look, cut and add would change nothing there but add each
// track's segment to the current Period. It returns how many Ks it added.
func (p *planner) steadyRun(k int64) int64 {
	if p.cur == nil {
		return 0
	}
	n := int64(math.MaxInt64)
	for ti := range p.tracks {
		if n = p.steadyLen(ti, k, n); n == 0 {
			return 0
		}
	}
	for ti, x := range p.tracks {
		pt := &p.cur.tracks[ti]
		if p.grid {
			placeOnGrid(pt, x.t.SegDur, k, n)
		} else {
			for _, s := range x.segs[p.pos[ti] : p.pos[ti]+int(n)] {
				pt.segs = append(pt.segs, manifest.VoDSegment{K: s.K, EPT: s.EPT, Duration: s.Duration})
			}
		}
		p.pos[ti] += int(n)
	}
	p.pl.presented += n
	return n
}

// steadyLen is how many segments of track ti, at most limit, from its
// next one on are at K k, k+1, … with the init and media pattern of its
// last one: a lookup of its run, or, with splices, a walk.
func (p *planner) steadyLen(ti int, k, limit int64) int64 {
	x := p.tracks[ti]
	i := p.pos[ti]
	if i == len(x.segs) || x.segs[i].K != k {
		return 0
	}
	if len(x.dirOf) == 0 {
		r, ok := x.runAt(k)
		if !ok || r.InitID != p.lastInit[ti] {
			return 0
		}
		return min(limit, r.To-k+1)
	}
	j := i
	for j < len(x.segs) && int64(j-i) < limit && x.segs[j].K == k+int64(j-i) && x.segs[j].InitID == p.lastInit[ti] &&
		x.dirOf[x.segs[j].K] == p.lastDir[ti] {
		j++
	}
	return int64(j - i)
}

// placeOnGrid adds Ks k … k+n-1 of a track whose segments last segDur
// to pt as archived segments on the K*D grid: one entry, or the last one
// grown when it ends at K k-1.
func placeOnGrid(pt *planTrack, segDur uint64, k, n int64) {
	if m := len(pt.segs); m > 0 && !pt.filler && !pt.segs[m-1].Gap && pt.segs[m-1].LastK()+1 == k {
		pt.segs[m-1].Repeat += n
		return
	}
	pt.segs = append(pt.segs, manifest.VoDSegment{K: k, EPT: uint64(k) * segDur, Duration: segDur, Repeat: n - 1})
}

// skipToCommonK starts the presentation at the first K every track has:
// players do not start a presentation one of whose tracks begins with a gap
// (hls.js waits for the data of a leading EXT-X-GAP, dash.js for the
// track's first segment). What precedes it is left out.
func (p *planner) skipToCommonK() error {
	k, ok := firstCommonK(p.tracks)
	if !ok {
		return &NoCommonKError{FirstK: p.pl.firstK, LastK: p.pl.lastK}
	}
	for ti, x := range p.tracks {
		for p.pos[ti] < len(x.segs) && x.segs[p.pos[ti]].K < k {
			p.pos[ti]++
			p.pl.omitted++
		}
	}
	p.pl.firstK = k
	return nil
}

// look notes which tracks have a segment at K and its configuration:
// whether all do, and whether one's configuration changed.
func (p *planner) look(k int64) (all, changed bool, err error) {
	all = true
	for ti, x := range p.tracks {
		p.present[ti] = p.pos[ti] < len(x.segs) && x.segs[p.pos[ti]].K == k
		if !p.present[ti] {
			all = false
			continue
		}
		initID, d := x.segs[p.pos[ti]].InitID, x.dirOf[k]
		if initID == p.lastInit[ti] && d == p.lastDir[ti] {
			p.cfgs[ti] = p.last[ti] // the same configuration as the last segment's
			continue
		}
		c, err := p.cfg(ti, initID)
		if err != nil {
			return false, false, err
		}
		if d != 0 {
			c += "\x00" + x.dirs[d-1] // a splice's replacements: a Period of their own
		}
		p.cfgs[ti] = c
		p.lastInit[ti], p.lastDir[ti] = initID, d
		if p.last[ti] != "" && p.last[ti] != c {
			changed = true
		}
		p.last[ti] = c
	}
	return all, changed, nil
}

// cut opens a new Period at K, or closes the current one, as the gap mode
// says.
func (p *planner) cut(k int64, all, changed bool) {
	switch p.mode {
	case GapsSplit:
		if !all {
			p.closePeriod()
			for ti := range p.tracks {
				if p.present[ti] {
					p.pl.omitted++
				}
			}
		} else if p.cur == nil || changed {
			p.openPeriod(k)
		}
	case GapsFill:
		if p.switched() || p.cur == nil {
			p.openPeriod(k)
		}
	default:
		if p.cur == nil || changed {
			p.openPeriod(k)
		}
	}
}

// switched reports whether a track switched between archived segments (of
// one configuration) and fillers at the current K.
func (p *planner) switched() bool {
	switched := false
	for ti := range p.tracks {
		s := "filler"
		if p.present[ti] {
			s = "archive:" + p.cfgs[ti]
		}
		if p.state[ti] != "" && p.state[ti] != s {
			switched = true
		}
		p.state[ti] = s
	}
	return switched
}

func (p *planner) openPeriod(k int64) {
	p.closePeriod()
	p.cur = &planPeriod{startK: k, tracks: make([]planTrack, len(p.tracks))}
	for ti := range p.tracks {
		p.cur.tracks[ti].ti = ti
		if u := p.used[ti]; u <= cap(p.bufs[ti]) {
			p.cur.tracks[ti].segs = p.bufs[ti][u:u]
		}
	}
}

func (p *planner) closePeriod() {
	if p.cur == nil {
		return
	}
	for ti := range p.cur.tracks {
		pt := &p.cur.tracks[ti]
		p.used[ti] += len(pt.segs)
		if len(pt.segs) == 0 {
			pt.segs = nil
		}
		pt.segs = pt.segs[:len(pt.segs):len(pt.segs)] // an append copies: the next Period's entries follow
	}
	p.pl.periods = append(p.pl.periods, *p.cur)
	p.cur = nil
}

// add gives every track its entry at K in the current Period: its archived
// segment, a filler (GapsFill) or a gap (GapsSignal).
func (p *planner) add(k int64) {
	for ti, x := range p.tracks {
		if !p.present[ti] {
			switch p.mode {
			case GapsFill:
				p.cur.tracks[ti].filler = true
				p.cur.tracks[ti].segs = append(p.cur.tracks[ti].segs, manifest.VoDSegment{K: k})
				p.pl.missing[ti] = append(p.pl.missing[ti], k)
			case GapsSignal:
				p.cur.tracks[ti].segs = append(p.cur.tracks[ti].segs, gapEntry(x, p.pos[ti], k))
			}
			continue
		}
		s := x.segs[p.pos[ti]]
		p.pos[ti]++
		if p.cur == nil {
			continue // GapsSplit: a K some other track misses
		}
		pt := &p.cur.tracks[ti]
		if pt.initID == 0 {
			pt.initID = s.InitID
		}
		pt.dir = x.dirOf[s.K]
		if p.grid {
			placeOnGrid(pt, x.t.SegDur, s.K, 1)
			continue
		}
		pt.segs = append(pt.segs, manifest.VoDSegment{K: s.K, EPT: s.EPT, Duration: s.Duration})
	}
}

// finish checks that the plan presents something and gives a track with
// only gap entries in a Period its nearest init to decode with.
func (p *planner) finish() (plan, error) {
	pl := p.pl
	if len(pl.periods) == 0 {
		return plan{}, &NoCommonKError{FirstK: pl.firstK, LastK: pl.lastK, Split: true}
	}
	if p.mode == GapsSplit {
		pl.firstK = pl.periods[0].startK
	}
	for pi := range pl.periods {
		for ti := range pl.periods[pi].tracks {
			if pt := &pl.periods[pi].tracks[ti]; pt.initID == 0 && !pt.filler {
				pt.initID = nearestInit(p.tracks[ti].segs, pl.periods[pi].startK)
			}
		}
	}
	return pl, nil
}

// firstCommonK is the first K for which every track has a segment.
func firstCommonK(tracks []trackSegs) (int64, bool) {
	pos := make([]int, len(tracks))
	k := int64(math.MinInt64)
	for {
		moved := false
		for ti, x := range tracks {
			for pos[ti] < len(x.segs) && x.segs[pos[ti]].K < k {
				pos[ti]++
			}
			if pos[ti] == len(x.segs) {
				return 0, false
			}
			if x.segs[pos[ti]].K > k {
				k, moved = x.segs[pos[ti]].K, true
			}
		}
		if !moved {
			return k, true
		}
	}
}

// gapEntry is the Gap entry for K of a track whose next archived segment is
// segs[next]: it starts where the segment before it ends when that is K-1,
// else at K*D, and ends where the segment after it starts when that is K+1,
// else at (K+1)*D.
func gapEntry(x trackSegs, next int, k int64) manifest.VoDSegment {
	start, end := uint64(x.t.EPT(k)), uint64(x.t.EPT(k+1))
	if next > 0 && x.segs[next-1].K == k-1 {
		start = x.segs[next-1].EPT + x.segs[next-1].Duration
	}
	if next < len(x.segs) && x.segs[next].K == k+1 {
		end = x.segs[next].EPT
	}
	if end <= start {
		start, end = uint64(x.t.EPT(k)), uint64(x.t.EPT(k+1))
	}
	return manifest.VoDSegment{K: k, EPT: start, Duration: end - start, Gap: true}
}

// nearestInit is the init of the last segment before K, or of the first
// one after it.
func nearestInit(segs []expSeg, k int64) int64 {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].K >= k })
	if i > 0 {
		return segs[i-1].InitID
	}
	return segs[i].InitID
}
