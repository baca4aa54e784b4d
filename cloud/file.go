package cloud

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gocloud.dev/blob/fileblob"
)

// openFile opens a file:// store with fileblob: the directory is created if
// missing, metadata goes to xattrs of each file (fileblob's .attrs sidecars
// where the file system refuses them, see useXattrs), and temporary files
// are made next to their final file (no_tmp_dir), so the final rename never
// crosses a file system and List can hide them.
func openFile(u *url.URL, plain bool, fo fileOptions) (*Store, error) {
	if err := checkParams(u, fileParams); err != nil {
		return nil, err
	}
	root, dir, err := fileDirs(u)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	opts := &fileblob.Options{CreateDir: true, NoTempDir: true}
	if plain {
		// Plain files (an export for players and web servers): objects
		// then have no metadata or content type.
		opts.Metadata = fileblob.MetadataDontWrite
	}
	if m := q.Get("dir_file_mode"); m != "" {
		mode, err := strconv.ParseUint(m, 0, 32)
		if err != nil {
			return nil, invalidURL(fmt.Errorf("cloud: open %s: invalid dir_file_mode: %w", redactURL(u), err))
		}
		opts.DirFileMode = os.FileMode(mode)
	}
	// The deepest existing ancestor: directories below it are new, and their
	// entries must be made durable.
	existing := dir
	for {
		if _, err := os.Stat(existing); err == nil || filepath.Dir(existing) == existing {
			break
		}
		existing = filepath.Dir(existing)
	}
	b, err := fileblob.OpenBucket(dir, opts)
	if err != nil {
		return nil, fmt.Errorf("cloud: open %s: %w", fileURL(root, q), err)
	}
	s := &Store{url: fileURL(root, q), bucket: b, dir: dir, xattr: fo.xattr, dirMode: opts.DirFileMode}
	if s.dirMode == 0 {
		s.dirMode = 0o777 // fileblob's default
	}
	if !plain && useXattrs(fo, dir) {
		// Objects are then written by writeXattrFile, not fileblob; fileblob
		// still reads them (without sidecars) and deletes them.
		_ = b.Close()
		opts.Metadata = fileblob.MetadataDontWrite
		if s.bucket, err = fileblob.OpenBucket(dir, opts); err != nil {
			return nil, fmt.Errorf("cloud: open %s: %w", s.url, err)
		}
		s.xattrMeta = true
	}
	for d := dir; d != existing && strings.HasPrefix(d, existing); d = filepath.Dir(d) {
		if err := syncDir(filepath.Dir(d)); err != nil {
			_ = s.bucket.Close()
			return nil, fmt.Errorf("cloud: open %s: %w", s.url, err)
		}
	}
	return s, nil
}

// path returns the file that holds key (keys are checked, so none of
// fileblob's escaping applies).
func (s *Store) path(key string) string {
	return filepath.Join(s.dir, filepath.FromSlash(key))
}

// pathLocks serialise, per file path and across all Stores of this process,
// fileblob's "stat, write sidecar, rename" in Create/Put/Delete against each
// other (Lock) and against readers opening the file and its sidecar (RLock).
// fileblob's own mutex is made per writer, so it serialises nothing.
var (
	pathLocks [256]sync.RWMutex
	lockSeed  = maphash.MakeSeed()
)

func pathLock(p string) *sync.RWMutex {
	return &pathLocks[maphash.String(lockSeed, p)%uint64(len(pathLocks))]
}

// syncAfterWrite makes a just-renamed file durable: its .attrs sidecar if
// the store writes them (fileblob does not fsync it), its directory, and the
// entries of any directories between the store root and it that have not
// been synced yet. Directory fsyncs are shared with the concurrent writes
// into the same directory (dirSyncer).
func (s *Store) syncAfterWrite(p string) error {
	if s.xattrMeta {
		// No sidecar: the xattrs were fsynced with the file.
	} else if f, err := os.Open(p + ".attrs"); err == nil {
		err = f.Sync()
		_ = f.Close()
		if err != nil && !ignorableSyncErr(err) {
			return fmt.Errorf("fsync %s.attrs: %w", p, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(p)
	if err := s.dirSync.syncDir(parent); err != nil {
		return err
	}
	// Directories from just below the root down to parent, top-down, so that
	// a directory is only marked once all above it are.
	var chain []string
	for d := parent; d != s.dir && strings.HasPrefix(d, s.dir+string(filepath.Separator)); d = filepath.Dir(d) {
		chain = append(chain, d)
	}
	for i := len(chain) - 1; i >= 0; i-- {
		d := chain[i]
		if _, ok := s.syncedDirs.Load(d); ok {
			continue
		}
		if err := s.dirSync.syncDir(filepath.Dir(d)); err != nil {
			return err
		}
		s.syncedDirs.Store(d, struct{}{})
	}
	return nil
}

// syncDir fsyncs a directory, so that entries created or renamed in it
// survive a crash.
func syncDir(dir string) error {
	err := fsyncDir(dir)
	if err != nil && !ignorableSyncErr(err) {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// ignorableSyncErr: some file systems do not support fsync on directories.
func ignorableSyncErr(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP)
}

func isNotDir(err error) bool { return errors.Is(err, syscall.ENOTDIR) }

// listFiles lists a file store in key order. fileblob's ListPaged is not
// used: it walks directories in file-name order, so "a/b" is visited before
// "a.txt" although "a.txt" < "a/b", and its page tokens then skip such keys
// altogether; it also reads every .attrs sidecar, and lists temporary files.
// Here the entries of each directory are visited in the order of their keys
// (a directory's key ends in "/"), which yields all keys in lexical order
// without collecting them.
func (s *Store) listFiles(ctx context.Context, prefix string, fn func(Attrs) error) error {
	start := prefix[:strings.LastIndex(prefix, "/")+1]
	err := s.walk(ctx, s.path(start), start, prefix, fn)
	var le listErr
	if errors.As(err, &le) {
		return s.wrapList(prefix, le.err)
	}
	return err
}

// listDirFiles is ListDir on a file store: one directory, its entries in
// key order (a directory's key ends in "/"); with unsized, regular files
// are not stat-ed (ListDirUnsized). fn gets the whole directory as one page.
func (s *Store) listDirFiles(ctx context.Context, prefix string, unsized bool, fn func(page []Attrs) error) error {
	if err := ctx.Err(); err != nil {
		return s.wrapList(prefix, err)
	}
	dirKey := prefix[:strings.LastIndex(prefix, "/")+1]
	dir := s.path(dirKey)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			return nil
		}
		return s.wrapList(prefix, err)
	}
	list := make([]Attrs, 0, len(entries))
	for _, de := range entries {
		name := de.Name()
		isDir := de.IsDir()
		if de.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil {
				continue
			}
			isDir = fi.IsDir()
		}
		if isDir {
			k := dirKey + name + "/"
			if !strings.HasPrefix(k, prefix) || checkPrefix(k) != nil {
				continue
			}
			list = append(list, Attrs{Key: k, Dir: true})
			continue
		}
		k := dirKey + name
		if !strings.HasPrefix(k, prefix) || checkKey(k) != nil {
			continue // also hides .attrs sidecars and temporary files
		}
		if unsized && de.Type().IsRegular() {
			list = append(list, Attrs{Key: k, Unsized: true})
			continue
		}
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			return s.wrapList(prefix, err)
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		list = append(list, Attrs{Key: k, Size: fi.Size(), ModTime: fi.ModTime()})
	}
	byKey := func(a, b Attrs) int { return strings.Compare(a.Key, b.Key) }
	if !slices.IsSortedFunc(list, byKey) { // os.ReadDir sorts by name; a directory's "/" may move it
		slices.SortFunc(list, byKey)
	}
	if len(list) == 0 {
		return nil
	}
	return fn(list)
}

// listErr marks errors of the walk itself, as opposed to those from fn.
type listErr struct{ err error }

func (e listErr) Error() string { return e.err.Error() }

func (s *Store) walk(ctx context.Context, dir, dirKey, prefix string, fn func(Attrs) error) error {
	if err := ctx.Err(); err != nil {
		return listErr{err}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		// The directory may be missing (nothing under prefix, or removed
		// since its parent was read), or a file ("a/" when "a" is a file).
		if errors.Is(err, fs.ErrNotExist) || isNotDir(err) {
			return nil
		}
		return listErr{err}
	}
	type entry struct {
		key string // ends in "/" for directories
		de  fs.DirEntry
	}
	list := make([]entry, 0, len(entries))
	for _, de := range entries {
		name := de.Name()
		if de.IsDir() {
			k := dirKey + name + "/"
			if checkPrefix(k) != nil {
				continue
			}
			// Only descend if the directory can hold keys with prefix.
			if strings.HasPrefix(k, prefix) || strings.HasPrefix(prefix, k) {
				list = append(list, entry{k, de})
			}
			continue
		}
		k := dirKey + name
		if !strings.HasPrefix(k, prefix) || checkKey(k) != nil {
			continue // also hides .attrs sidecars and temporary files
		}
		list = append(list, entry{k, de})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].key < list[j].key })
	for _, e := range list {
		p := filepath.Join(dir, e.de.Name())
		if e.de.IsDir() {
			if err := s.walk(ctx, p, e.key, prefix, fn); err != nil {
				return err
			}
			continue
		}
		var fi fs.FileInfo
		if e.de.Type()&fs.ModeSymlink != 0 {
			fi, err = os.Stat(p) // a link to a file counts; to a directory, not
		} else {
			fi, err = e.de.Info()
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile
			}
			return listErr{err}
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		if err := fn(Attrs{Key: e.key, Size: fi.Size(), ModTime: fi.ModTime()}); err != nil {
			return err
		}
	}
	return nil
}

// TempFile is a temporary file that a write interrupted by a crash (kill -9,
// power loss) left in a file store: fileblob's <key>.<hex>.tmp, never
// renamed into place. Key is its path below the store root, with "/".
type TempFile struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// TempFiles lists the temporary files of a file store under prefix (a
// channel's "news/", or "" for all), in key order. Other stores write
// objects atomically and have none.
func (s *Store) TempFiles(ctx context.Context, prefix string) ([]TempFile, error) {
	if s.dir == "" {
		return nil, nil
	}
	if err := checkPrefix(prefix); err != nil {
		return nil, fmt.Errorf("cloud: temporary files of %s under %q: %w", s.url, prefix, err)
	}
	start := prefix[:strings.LastIndex(prefix, "/")+1]
	var out []TempFile
	err := filepath.WalkDir(s.path(start), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // deleted meanwhile, or nothing under prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() || !isTempName(d.Name()) {
			return nil
		}
		rel, err := filepath.Rel(s.dir, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil // renamed into place meanwhile
		}
		if err != nil {
			return err
		}
		out = append(out, TempFile{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cloud: temporary files of %s: %w", s.url, err)
	}
	return out, nil
}

// RemoveTempFiles removes the temporary files under prefix that were last
// written before before, and returns how many and their bytes. A recorder
// calls it at start, with its start time, before it writes: a file older
// than that belongs to a write that can no longer finish.
func (s *Store) RemoveTempFiles(ctx context.Context, prefix string, before time.Time) (n int, size int64, err error) {
	tmps, err := s.TempFiles(ctx, prefix)
	if err != nil {
		return 0, 0, err
	}
	for _, t := range tmps {
		if !t.ModTime.Before(before) {
			continue
		}
		if err := os.Remove(s.path(t.Key)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, size, fmt.Errorf("cloud: remove temporary file %s: %w", t.Key, err)
		}
		n, size = n+1, size+t.Size
	}
	return n, size, nil
}

// IsNoSpace reports whether err means the store's disk or quota is full
// (ENOSPC, EDQUOT): the write may succeed once space is freed.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// InjectFaults makes f run before every attempt of an operation ("create",
// "put", "get", …); an error it returns stands for the attempt's. It is for
// tests of code above the store (a full disk, an outage): call it before
// the store is used.
func (s *Store) InjectFaults(f func(op string) error) { s.testFault = f }

// fileDirs resolves a file:// store URL to its root directory and the
// directory its objects live in (the root, or its prefix below it).
func fileDirs(u *url.URL) (root, dir string, err error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", "", fmt.Errorf("cloud: open %s: %w", redactURL(u), err)
	}
	if root, err = resolveFileDir(u, wd); err != nil {
		return "", "", invalidURL(fmt.Errorf("cloud: open: %w", err))
	}
	dir = root
	if p := u.Query().Get("prefix"); p != "" {
		if !strings.HasSuffix(p, "/") {
			return "", "", invalidURL(fmt.Errorf("cloud: open %s: on file stores the prefix must end in \"/\"", redactURL(u)))
		}
		dir = filepath.Join(root, filepath.FromSlash(p))
	}
	return root, dir, nil
}

// LocalDirOf is the directory a file:// store URL names, without opening
// (or creating) it; ok is false for other stores.
func LocalDirOf(rawURL string) (dir string, ok bool, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", false, invalidURL(fmt.Errorf("cloud: store URL %q: %w", redactRaw(rawURL), err))
	}
	if u.Scheme != "file" {
		return "", false, nil
	}
	_, dir, err = fileDirs(u)
	return dir, err == nil, err
}
