package main

import (
	"encoding/json"
	"fmt"
	"os"
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
//
// dead is the holder a lock file still named when the lock was free: a
// recorder that ended without releasing it (killed, or its machine
// stopped), whose interrupted writes may have left objects without index
// rows (LAYOUT.md, Read and write ordering); nil after a clean stop, which
// clears the file.
func (a *app) lockIndex(command string) (unlock func(), dead *index.Holder, err error) {
	path := a.indexPath + ".lock"
	prev := lockHolder(path)
	l, err := index.Lock(path, command)
	if err != nil {
		return nil, nil, fmt.Errorf("another recorder uses the index %s: %w", a.indexPath, err)
	}
	return func() {
		if err := l.Unlock(); err != nil {
			a.log.Warn("releasing the index lock", "err", err)
		}
	}, prev, nil
}

// lockHolder is the holder a lock file names, nil if none (no file, or
// cleared by a clean unlock).
func lockHolder(path string) *index.Holder {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var h index.Holder
	if json.Unmarshal(data, &h) != nil || h.PID == 0 {
		return nil
	}
	return &h
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
