package cloud

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// checkXattrs checks the xattrs of the file at p: with xattrs, exactly one
// of ours, user.reap, holding meta; without, none of ours.
func checkXattrs(t *testing.T, p string, meta map[string]string, xattrs bool) {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Getxattr(p, "user.reap", buf)
	switch {
	case xattrs && err != nil:
		t.Errorf("%s: xattr user.reap: %v; want the metadata", p, err)
	case !xattrs && !errors.Is(err, unix.ENODATA):
		t.Errorf("%s: xattr user.reap: %v; want none (ENODATA)", p, err)
	}
	if !xattrs {
		return
	}
	if got, err := decodeXattrMeta(buf[:n]); err != nil || fmt.Sprint(got) != fmt.Sprint(lower(meta)) {
		t.Errorf("%s: xattr user.reap = %q (%v, %v); want %q", p, buf[:n], got, err, lower(meta))
	}
	n, err = unix.Listxattr(p, buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(buf[:n]), "user."); got != 1 {
		t.Errorf("%s: %d user xattrs (%q), want 1 (user.reap)", p, got, buf[:n])
	}
}

// setEntryXattrs rewrites the xattrs of the file at p in the per-entry
// form written before user.reap: one user.<name> per entry and the marker
// user.reap.attrs = 1.
func setEntryXattrs(t *testing.T, p string, meta map[string]string) {
	t.Helper()
	if err := unix.Removexattr(p, "user.reap"); err != nil {
		t.Fatal(err)
	}
	for k, v := range meta {
		if err := unix.Setxattr(p, "user."+strings.ToLower(k), []byte(v), 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := unix.Setxattr(p, "user.reap.attrs", []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
}

// TestFileEntryXattrObjects: objects whose attributes are in the per-entry
// xattr form (one user.<name> each and the marker, as written before
// user.reap) read back with all their metadata, including an object
// without metadata and one beside a stale sidecar; an object replaced by
// Put is in the one-xattr form.
func TestFileEntryXattrObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s, dir := xattrStore(t)
	cases := []struct {
		key     string
		meta    map[string]string
		sidecar bool
	}{
		{key: "news/v/1.m4s", meta: segMeta},
		{key: "news/v/2.m4s", meta: nil},
		{key: "news/v/3.m4s", meta: map[string]string{"reap-source": "a&b=c d%"}, sidecar: true},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(dir, filepath.FromSlash(tc.key))
			if err := s.Create(ctx, tc.key, []byte("x"), tc.meta); err != nil {
				t.Fatal(err)
			}
			setEntryXattrs(t, p, tc.meta)
			if tc.sidecar {
				if err := os.WriteFile(p+".attrs", []byte(`{"user.metadata":{"old":"1"}}`), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			a, err := s.Attributes(ctx, tc.key)
			if want := lower(tc.meta); err != nil || a.Meta == nil || fmt.Sprint(a.Meta) != fmt.Sprint(want) {
				t.Errorf("Attributes = %+v, %v; want Meta %q", a, err, want)
			}
			if err := s.Put(ctx, tc.key, []byte("y"), tc.meta); err != nil {
				t.Fatal(err)
			}
			checkXattrs(t, p, tc.meta, true)
		})
	}
}
