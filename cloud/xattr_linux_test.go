package cloud

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// checkXattrs checks the xattrs of the file at p: with xattrs, one
// user.<name> per metadata entry with its value and the marker; without,
// none of ours.
func checkXattrs(t *testing.T, p string, meta map[string]string, xattrs bool) {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(p, "user.reap.attrs", buf)
	switch {
	case xattrs && (err != nil || string(buf[:n]) != "1"):
		t.Errorf("%s: xattr user.reap.attrs = %q, %v; want \"1\"", p, buf[:n], err)
	case !xattrs && !errors.Is(err, unix.ENODATA):
		t.Errorf("%s: xattr user.reap.attrs: %v; want none (ENODATA)", p, err)
	}
	if !xattrs {
		return
	}
	n, err = unix.Listxattr(p, buf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Count(string(buf[:n]), "user."), len(meta)+1; got != want {
		t.Errorf("%s: %d user xattrs (%q), want %d", p, got, buf[:n], want)
	}
	for k, v := range meta {
		n, err := unix.Getxattr(p, "user."+strings.ToLower(k), buf)
		if err != nil || string(buf[:n]) != v {
			t.Errorf("%s: xattr user.%s = %q, %v; want %q", p, strings.ToLower(k), buf[:n], err, v)
		}
	}
}
