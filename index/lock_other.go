//go:build !unix

package index

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("would block")

// tryLock does nothing where flock is not available: there the lock does
// not protect.
func tryLock(*os.File) error { return nil }
