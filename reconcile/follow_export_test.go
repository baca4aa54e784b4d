package reconcile

// BlockPrefixes is blockPrefixes, for the table test.
var BlockPrefixes = blockPrefixes

// FollowGapPage is followGapPage, FollowGapLists followGapLists, for the
// tests bounding a fast pass.
const (
	FollowGapPage  = followGapPage
	FollowGapLists = followGapLists
)
