package reconcile

// BlockPrefixes is blockPrefixes, for the table test.
var BlockPrefixes = blockPrefixes
