package cloud

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// A file store keeps an object's metadata in extended attributes of its
// file (LAYOUT.md, "Object attributes"): the entry name is the attribute
// user.<name>, its value the entry's bytes. They are set on the temporary
// file before its fsync and rename, so the object and its metadata appear
// together, in one step, with no second file to write and fsync. Where the
// file system refuses user xattrs, the store keeps writing fileblob's
// <key>.attrs sidecars, as before.
const (
	xattrPrefix = "user."
	// xattrMarker is set on every object written with its metadata in
	// xattrs (value xattrMarkerValue), even one without metadata: it says
	// that the xattrs, not a .attrs sidecar that may be left over from an
	// object the file replaced, hold the metadata.
	xattrMarker      = xattrPrefix + markerMetaKey
	xattrMarkerValue = "1"
	// markerMetaKey is the metadata key the marker would stand for: it is
	// reserved on every store.
	markerMetaKey = "reap.attrs"
)

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

// setXattrMeta sets meta (keys lower-cased) and the marker as xattrs of f.
func setXattrMeta(x xattrFuncs, f *os.File, meta map[string]string) error {
	for k, v := range meta {
		if err := x.set(f, xattrPrefix+strings.ToLower(k), []byte(v)); err != nil {
			return fmt.Errorf("set xattr %s%s of %s: %w", xattrPrefix, strings.ToLower(k), f.Name(), err)
		}
	}
	if err := x.set(f, xattrMarker, []byte(xattrMarkerValue)); err != nil {
		return fmt.Errorf("set xattr %s of %s: %w", xattrMarker, f.Name(), err)
	}
	return nil
}

// readXattrMeta reads the metadata of the file at p from its xattrs. ok is
// false if the file has no marker (its metadata, if any, is in a sidecar),
// or if the file system has no xattrs; a missing file is also ok false, so
// the sidecar read reports it.
func readXattrMeta(x xattrFuncs, p string) (meta map[string]string, ok bool, err error) {
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
	buf := make([]byte, 256)
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
	return x.set(f, xattrMarker, []byte(xattrMarkerValue))
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
