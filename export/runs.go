package export

import (
	"slices"
	"strings"
)

// segRun is a run of a track's segments: every K from From to To, all of
// one init. A live window's manifest is built from runs, not segments
// (REaP segments follow each other for hours), so its cost follows gaps,
// init changes and Periods.
type segRun struct{ From, To, InitID int64 }

// segRuns are the runs of segs (ordered by K).
func segRuns(segs []expSeg) []segRun {
	var runs []segRun
	for _, s := range segs {
		runs = extendRuns(runs, s.K, s.InitID)
	}
	return runs
}

// extendRuns adds segment K of init initID, after every K of runs.
func extendRuns(runs []segRun, k, initID int64) []segRun {
	if n := len(runs); n > 0 && runs[n-1].To+1 == k && runs[n-1].InitID == initID {
		runs[n-1].To = k
		return runs
	}
	return append(runs, segRun{From: k, To: k, InitID: initID})
}

// runsFrom is the index of the first run that ends at or after K k.
func runsFrom(runs []segRun, k int64) int {
	i, _ := slices.BinarySearchFunc(runs, k, func(r segRun, k int64) int { return cmpK(r.To, k) })
	return i
}

// clipRuns is the part of runs within [fromK, toK], in a new slice.
func clipRuns(runs []segRun, fromK, toK int64) []segRun {
	i, j := runsFrom(runs, fromK), runsFrom(runs, toK)
	if j < len(runs) {
		j++ // the run holding or following toK
	}
	out := slices.Clone(runs[i:j])
	for len(out) > 0 && out[len(out)-1].From > toK {
		out = out[:len(out)-1]
	}
	if len(out) > 0 {
		out[0].From = max(out[0].From, fromK)
		out[len(out)-1].To = min(out[len(out)-1].To, toK)
	}
	return out
}

// holes counts the runs of missing K between the first and the last K of
// a track with runs runs.
func holes(runs []segRun) int {
	n := 0
	for i := 1; i < len(runs); i++ {
		if runs[i].From != runs[i-1].To+1 {
			n++
		}
	}
	return n
}

// runAt is the run that holds K k, if one does.
func (x *trackSegs) runAt(k int64) (segRun, bool) {
	i := runsFrom(x.runs, k)
	if i == len(x.runs) || x.runs[i].From > k {
		return segRun{}, false
	}
	return x.runs[i], true
}

// cutAfter drops x's segments after K k.
func (x *trackSegs) cutAfter(k int64) {
	n, _ := slices.BinarySearchFunc(x.segs, k+1, func(s expSeg, k int64) int { return cmpK(s.K, k) })
	x.segs = x.segs[:n]
	x.runs = clipRuns(x.runs, minK, k)
}

// minK is below every K.
const minK = -1 << 63

// movedKey is the key of a segment row stored elsewhere than at
// <ch>/<rep>/<K>.<ext> (dir is <ch>/<rep>/): a splice's replacement; ""
// for one at its usual key.
func movedKey(dir, key string) string {
	if rest, ok := strings.CutPrefix(key, dir); !ok || strings.Contains(rest, "/") {
		return key
	}
	return ""
}
