//go:build !linux

package cloud

import (
	"errors"
	"os"
)

// sysXattrs: xattrs are used on Linux only; elsewhere file stores keep
// fileblob's .attrs sidecars.
var sysXattrs = xattrFuncs{
	set:  func(*os.File, string, []byte) error { return errors.ErrUnsupported },
	list: func(string, []byte) (int, error) { return 0, errors.ErrUnsupported },
	get:  func(string, string, []byte) (int, error) { return 0, errors.ErrUnsupported },
}

// isNoAttr: never (xattrs are not read here).
func isNoAttr(error) bool { return false }
