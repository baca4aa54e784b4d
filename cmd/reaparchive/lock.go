package main

import (
	"fmt"
	"path/filepath"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
)

// storeLockName is the lock file a recorder holds in a file store's root
// directory (LAYOUT.md: not an archive object).
const storeLockName = ".reaparchive-record.lock"

// lockIndex takes a recorder's exclusive lock on the index: <index>.lock
// (lockStore takes the file store's). A second recorder on the same index
// gets an error naming the holder. The returned unlock releases it; the
// kernel releases it if the process dies.
func (a *app) lockIndex(command string) (unlock func(), err error) {
	l, err := index.Lock(a.indexPath+".lock", command)
	if err != nil {
		return nil, fmt.Errorf("another recorder uses the index %s: %w", a.indexPath, err)
	}
	return func() {
		if err := l.Unlock(); err != nil {
			a.log.Warn("releasing the index lock", "err", err)
		}
	}, nil
}

// lockStore locks a file store for command (other stores: nothing to do;
// recorders sharing a bucket are safe through create-only writes).
func (a *app) lockStore(st *cloud.Store, command string) (unlock func(), err error) {
	dir, ok := st.LocalDir()
	if !ok {
		return func() {}, nil
	}
	l, err := index.Lock(filepath.Join(dir, storeLockName), command)
	if err != nil {
		return nil, fmt.Errorf("another recorder uses the store %s: %w", st.URL(), err)
	}
	return func() {
		if err := l.Unlock(); err != nil {
			a.log.Warn("releasing the store lock", "err", err)
		}
	}, nil
}
