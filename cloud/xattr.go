package cloud

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// A file store keeps an object's metadata in extended attributes of its
// file (LAYOUT.md, "Object attributes"): all of it in the one xattr
// user.reap (xattrMetaName), form-encoded (encodeXattrMeta). It is set on
// the temporary file before its fsync and rename, so the object and its
// metadata appear together, in one step, with no second file to write and
// fsync, and cost one system call to write and one to read. Objects
// written before that carry one xattr user.<name> per entry and the marker
// user.reap.attrs; readers still take that form. Where the file system
// refuses user xattrs, the store keeps writing fileblob's <key>.attrs
// sidecars, as before.
const (
	xattrPrefix = "user."
	// xattrMetaName holds all of an object's metadata (the current form),
	// on every object written with xattrs, even one without metadata (an
	// empty value): it says that the xattrs, not a .attrs sidecar that may
	// be left over from an object the file replaced, hold the metadata.
	xattrMetaName = xattrPrefix + metaMetaKey
	// metaMetaKey is the metadata key whose per-entry xattr would be
	// xattrMetaName: it is reserved on every store.
	metaMetaKey = "reap"
	// xattrMarker marks an object of the per-entry form (written before
	// xattrMetaName; value "1"): its other user.* xattrs are its metadata.
	xattrMarker = xattrPrefix + markerMetaKey
	// markerMetaKey is the metadata key the marker would stand for: it is
	// reserved on every store.
	markerMetaKey = "reap.attrs"
	// xattrReadSize is the first buffer for reading an xattr: a media
	// segment's metadata is about 350 bytes.
	xattrReadSize = 1024
)

// reservedMetaKey reports whether k (any case) is a metadata key no store
// takes: on file stores it would read as one of the xattr forms' own.
func reservedMetaKey(k string) bool {
	return strings.EqualFold(k, metaMetaKey) || strings.EqualFold(k, markerMetaKey)
}

// xattrFuncs are the system calls of the xattr form; tests replace set to
// stand for a file system that refuses user xattrs.
type xattrFuncs struct {
	set  func(f *os.File, name string, value []byte) error
	list func(path string, dest []byte) (int, error)
	get  func(path, name string, dest []byte) (int, error)
}

// fileOptions are what openFile takes beyond the URL.
type fileOptions struct {
	xattr xattrFuncs
	log   *slog.Logger
}

func defaultFileOptions() fileOptions {
	return fileOptions{xattr: sysXattrs, log: slog.Default()}
}

// setXattrMeta sets meta (keys lower-cased) as the xattr user.reap of f.
func setXattrMeta(x xattrFuncs, f *os.File, meta map[string]string) error {
	if err := x.set(f, xattrMetaName, encodeXattrMeta(meta)); err != nil {
		return fmt.Errorf("set xattr %s of %s: %w", xattrMetaName, f.Name(), err)
	}
	return nil
}

// encodeXattrMeta is the value of user.reap: the entries as
// application/x-www-form-urlencoded text (RFC 1866 8.2.1, Go's
// url.QueryEscape of name and value, "name=value" joined by "&"), names
// lower-cased, in name order; empty for no metadata.
func encodeXattrMeta(meta map[string]string) []byte {
	keys := make([]string, 0, len(meta))
	size := 0
	for k, v := range meta {
		keys = append(keys, k)
		size += len(k) + len(v) + 2
	}
	slices.SortFunc(keys, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	b := make([]byte, 0, size+size/4)
	for i, k := range keys {
		if i > 0 {
			b = append(b, '&')
		}
		b = append(b, url.QueryEscape(strings.ToLower(k))...)
		b = append(b, '=')
		b = append(b, url.QueryEscape(meta[k])...)
	}
	return b
}

// decodeXattrMeta parses a user.reap value (encodeXattrMeta). A name
// given twice, or an entry without "=", makes it malformed.
func decodeXattrMeta(v []byte) (map[string]string, error) {
	meta := make(map[string]string, bytes.Count(v, []byte{'&'})+1)
	if len(v) == 0 {
		return meta, nil
	}
	for e := range strings.SplitSeq(string(v), "&") {
		name, value, ok := strings.Cut(e, "=")
		if !ok {
			return nil, fmt.Errorf("entry %q has no \"=\"", e)
		}
		k, err := url.QueryUnescape(name)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", e, err)
		}
		if value, err = url.QueryUnescape(value); err != nil {
			return nil, fmt.Errorf("entry %q: %w", e, err)
		}
		k = strings.ToLower(k)
		if _, dup := meta[k]; dup {
			return nil, fmt.Errorf("entry %q given twice", k)
		}
		meta[k] = value
	}
	return meta, nil
}

// readXattrMeta reads the metadata of the file at p from its xattrs: the
// one xattr user.reap, else the per-entry form (the marker and one xattr
// per entry). ok is false if the file has neither (its metadata, if any,
// is in a sidecar), or if the file system has no xattrs; a missing file is
// also ok false, so the sidecar read reports it.
func readXattrMeta(x xattrFuncs, p string) (meta map[string]string, ok bool, err error) {
	v, err := readXattr(func(b []byte) (int, error) { return x.get(p, xattrMetaName, b) })
	switch {
	case err == nil:
		meta, err := decodeXattrMeta(v)
		if err != nil {
			return nil, false, fmt.Errorf("malformed xattr %s of %s: %w", xattrMetaName, p, err)
		}
		return meta, true, nil
	case isNoAttr(err):
		return readEntryXattrs(x, p)
	case noXattrs(err):
		return nil, false, nil
	}
	return nil, false, fmt.Errorf("read xattr %s of %s: %w", xattrMetaName, p, err)
}

// readEntryXattrs reads the per-entry form of readXattrMeta.
func readEntryXattrs(x xattrFuncs, p string) (meta map[string]string, ok bool, err error) {
	names, err := readXattr(func(b []byte) (int, error) { return x.list(p, b) })
	if err != nil {
		if noXattrs(err) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("list xattrs of %s: %w", p, err)
	}
	var user []string
	for _, n := range strings.Split(string(names), "\x00") {
		if n == xattrMarker {
			ok = true
		} else if strings.HasPrefix(n, xattrPrefix) && len(n) > len(xattrPrefix) {
			user = append(user, n)
		}
	}
	if !ok {
		return nil, false, nil
	}
	meta = make(map[string]string, len(user))
	for _, n := range user {
		v, err := readXattr(func(b []byte) (int, error) { return x.get(p, n, b) })
		if err != nil {
			return nil, false, fmt.Errorf("read xattr %s of %s: %w", n, p, err)
		}
		meta[strings.ToLower(n[len(xattrPrefix):])] = string(v)
	}
	return meta, true, nil
}

// readXattr calls read with a buffer large enough for the value (read with
// a nil buffer returns the size needed).
func readXattr(read func([]byte) (int, error)) ([]byte, error) {
	buf := make([]byte, xattrReadSize)
	for range 4 {
		n, err := read(buf)
		if err == nil {
			return buf[:n], nil
		}
		if !errors.Is(err, syscall.ERANGE) {
			return nil, err
		}
		if n, err = read(nil); err != nil {
			return nil, err
		}
		buf = make([]byte, n+64) // it may grow meanwhile
	}
	return nil, syscall.ERANGE
}

// noXattrs: the file is gone (the sidecar read then says so), or its file
// system has no user xattrs.
func noXattrs(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || isNotDir(err) ||
		errors.Is(err, syscall.ENOTSUP) || errors.Is(err, errors.ErrUnsupported)
}

// probeXattrs reports whether the file system of dir keeps user xattrs: it
// sets one on a new temporary file there, named like fileblob's temporary
// files so that a crash leaves nothing a listing shows, and removes it.
func probeXattrs(x xattrFuncs, dir string) error {
	var r [8]byte
	_, _ = rand.Read(r[:])
	f, err := os.OpenFile(filepath.Join(dir, ".xattr-probe."+hex.EncodeToString(r[:])+".tmp"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return x.set(f, xattrMetaName, nil)
}

// useXattrs decides at open whether a file store writes metadata as xattrs,
// and says so in the log when it cannot.
func useXattrs(o fileOptions, dir string) bool {
	err := probeXattrs(o.xattr, dir)
	if err == nil {
		return true
	}
	o.log.Warn("file store keeps object attributes in .attrs sidecar files: its file system refuses user extended attributes (one more file and fsync per object)",
		"dir", dir, "err", err)
	return false
}
