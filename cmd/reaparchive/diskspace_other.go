//go:build !unix

package main

import "errors"

// diskSpace is not available here: retention_min_free needs a Unix.
func diskSpace(string) (free, total int64, err error) {
	return 0, 0, errors.New("free disk space is known on Unix systems only")
}
