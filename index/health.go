package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// ErrLost: the index file was deleted or replaced while open. Writes would
// go to a file nobody will see again, so every write fails with it.
var ErrLost = errors.New("index: the index file was deleted or replaced while open")

// IsFull reports whether err means the index's disk (or quota) is full:
// SQLITE_FULL, or ENOSPC/EDQUOT from below. Writes may succeed again once
// space is freed.
func IsFull(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return true
	}
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// checkFile returns ErrLost (wrapped) if the path no longer names the file
// the database was opened on.
func (db *DB) checkFile() error {
	if db.file == nil {
		return nil // still opening
	}
	fi, err := os.Stat(db.path)
	if err == nil && os.SameFile(fi, db.file) {
		return nil
	}
	if err == nil {
		err = errors.New("another file is there now")
	}
	return fmt.Errorf("%w: %s: %v", ErrLost, db.path, err)
}

// Watch checks every interval that the index file is still the one the
// database was opened on. It returns nil when ctx ends, or an error
// wrapping ErrLost as soon as the file was deleted or replaced (writes fail
// with it already; a recorder stops on it).
func (db *DB) Watch(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := db.checkFile(); err != nil {
				return err
			}
		}
	}
}
