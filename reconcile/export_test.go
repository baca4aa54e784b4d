package reconcile

// WithBatchSize is opts with Reindex building and inserting n segment rows
// at a time, for tests that need several batches of a few objects.
func WithBatchSize(opts Options, n int) Options {
	opts.batchSize = n
	return opts
}
