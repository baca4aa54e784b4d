package cloud

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// errRenameExists: a create-only rename found its target taken.
var errRenameExists = errors.New("target exists")

// writeXattrFile is write1 on a file store that keeps metadata in xattrs.
// It writes the object itself, not through fileblob, with the system calls
// the contract needs (LAYOUT.md, "Read and write ordering") and no more:
// open a temporary file (fileblob's name, <key>.<hex>.tmp, so that
// listings hide it and RemoveTempFiles finds it), write, set user.reap,
// fsync, close, rename into place (create-only with RENAME_NOREPLACE where
// the file system has it), fsync the directory. fileblob added a stat for
// MkdirAll and one for create-only, a stat in os.Rename, and a remove of
// the renamed temporary file (two unlinks) per object.
func (s *Store) writeXattrFile(ctx context.Context, op, key string, data []byte, meta map[string]string, create bool) error {
	return s.writeTempFile(ctx, op, key, create, func(f *os.File) error {
		if _, err := f.Write(data); err != nil {
			return err
		}
		return s.finishTempFile(f, meta)
	})
}

// writeTempFile writes key on a file store that keeps metadata in xattrs:
// it creates a temporary file, has fill write the object's bytes and
// attributes to it and make them durable (finishTempFile), renames it
// into place (create-only when create) and fsyncs the directory. If any
// step fails, the temporary file is removed.
func (s *Store) writeTempFile(ctx context.Context, op, key string, create bool, fill func(f *os.File) error) error {
	p := s.path(key)
	f, err := s.createTempFile(p)
	if err != nil {
		return s.wrap(op, key, err)
	}
	tmp := f.Name()
	err = fill(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err() // cancelled: abandon the write, as fileblob does
	}
	if err == nil {
		err = s.renameTempFile(tmp, p, create)
	}
	if err != nil {
		_ = os.Remove(tmp)
		if errors.Is(err, errRenameExists) {
			if fi, serr := os.Stat(p); serr == nil && fi.IsDir() {
				return s.wrap(op, key, errors.New("a directory of that name exists (file stores cannot hold both \"a\" and \"a/b\")"))
			}
			return fmt.Errorf("cloud: %s %q in %s: %w", op, key, s.url, ErrExists)
		}
		return s.wrap(op, key, err)
	}
	if err := s.syncAfterWrite(p); err != nil {
		return s.wrap(op, key, err)
	}
	return nil
}

// createTempFile creates a new temporary file beside p, making p's
// directory (with the store's directory mode) if it is missing.
func (s *Store) createTempFile(p string) (*os.File, error) {
	madeDir := false
	for try := 0; ; try++ {
		name := p + "." + strconv.FormatInt(time.Now().UnixNano(), 16) + ".tmp"
		f, err := openNewFile(name)
		switch {
		case err == nil:
			return f, nil
		case errors.Is(err, fs.ErrExist) && try < 10000:
			continue
		case errors.Is(err, fs.ErrNotExist) && !madeDir:
			if err := os.MkdirAll(filepath.Dir(p), s.dirMode); err != nil {
				return nil, err
			}
			madeDir = true
			continue
		}
		return nil, err
	}
}

// finishTempFile sets meta (the xattr user.reap) on the temporary file f,
// whose bytes are written, and makes both durable.
func (s *Store) finishTempFile(f *os.File, meta map[string]string) error {
	if s.testAfterWrite != nil {
		s.testAfterWrite()
	}
	if err := setXattrMeta(s.xattr, f, meta); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", f.Name(), err)
	}
	return nil
}

// renameTempFile renames the temporary file tmp to p, under p's lock (see
// pathLocks). Create-only (create): errRenameExists if p exists; where the
// file system can rename without replacing, that check is the rename
// itself, atomic also across processes.
func (s *Store) renameTempFile(tmp, p string, create bool) error {
	l := pathLock(p)
	l.Lock()
	defer l.Unlock()
	if !create {
		if err := os.Rename(tmp, p); err != nil {
			return err
		}
		// The sidecar of a replaced object would be stale (user.reap makes
		// readers ignore it; this only tidies up).
		_ = os.Remove(p + ".attrs")
		return nil
	}
	if done, err := renameNoReplace(tmp, p); done {
		return err
	}
	if _, err := os.Lstat(p); err == nil {
		return errRenameExists
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return os.Rename(tmp, p)
}
