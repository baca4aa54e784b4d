package prune

import (
	"errors"
	"slices"

	"github.com/reaparchive/reaparchive/index"
)

// errStop ends an iteration early; it never leaves the package.
var errStop = errors.New("prune: stop")

// mergeRanges sorts rs and merges overlapping and adjacent ranges.
func mergeRanges(rs []index.Range) []index.Range {
	slices.SortFunc(rs, func(a, b index.Range) int {
		switch {
		case a.From < b.From:
			return -1
		case a.From > b.From:
			return 1
		}
		return 0
	})
	var out []index.Range
	for _, r := range rs {
		if n := len(out); n > 0 && r.From <= out[n-1].To+1 {
			out[n-1].To = max(out[n-1].To, r.To)
			continue
		}
		out = append(out, r)
	}
	return out
}
