//go:build !linux

package cloud

import (
	"errors"
	"os"
	"runtime"
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

// renameNoReplace: not here (the caller checks and renames).
func renameNoReplace(string, string) (done bool, err error) { return false, nil }

// openNewFile creates the file name (O_EXCL) for writing.
func openNewFile(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
}

// fsyncDir fsyncs the directory dir (not on Windows, where directories
// cannot be fsynced).
func fsyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
