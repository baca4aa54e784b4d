package cloud

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
)

// refusingXattrs are the file options of a file system that refuses user
// xattrs (tmpfs without them, some network file systems): setting one
// fails with EOPNOTSUPP; reading is the system's.
func refusingXattrs(log *slog.Logger) fileOptions {
	x := sysXattrs
	x.set = func(*os.File, string, []byte) error { return syscall.EOPNOTSUPP }
	return fileOptions{xattr: x, log: log}
}

// recordLog is a slog handler that keeps the records it is given.
type recordLog struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *recordLog) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *recordLog) WithGroup(string) slog.Handler            { return h }
func (h *recordLog) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// records returns the records as "LEVEL msg k=v ...".
func (h *recordLog) records() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		s := r.Level.String() + " " + r.Message
		r.Attrs(func(a slog.Attr) bool {
			s += " " + a.Key + "=" + a.Value.String()
			return true
		})
		out = append(out, s)
	}
	return out
}

// segMeta is metadata as a recorder writes it with a media segment.
var segMeta = map[string]string{
	"reap-ept": "1776000000000", "reap-dur": "180000", "reap-timescale": "90000",
	"reap-segdur": "180000", "reap-sha256": strings.Repeat("ab", 32), "reap-init": "0123456789abcdef",
	"reap-source": "enc-a", "reap-events": "0", "Reap-Lmsg": "1", "empty": "",
}

func lower(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out
}

// TestFileMetaForms: a file store whose file system keeps user xattrs
// writes an object's metadata as xattrs of its file and no sidecar; one
// whose file system refuses them says so in the log, once, and writes
// .attrs sidecars. Either way every attribute reads back.
func TestFileMetaForms(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		opts    func(*slog.Logger) fileOptions
		xattrs  bool
		wantLog int
	}{
		{name: "xattr", opts: func(l *slog.Logger) fileOptions { return fileOptions{xattr: sysXattrs, log: l} }, xattrs: true},
		{name: "sidecar", opts: refusingXattrs, wantLog: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dir := t.TempDir()
			h := &recordLog{}
			s, err := openWith(ctx, "file://"+filepath.ToSlash(dir), false, tc.opts(slog.New(h)))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if s.xattrMeta != tc.xattrs {
				t.Fatalf("xattrMeta = %v, want %v (the test directory %s must keep user xattrs)", s.xattrMeta, tc.xattrs, dir)
			}
			objs := map[string]map[string]string{"news/v/1.m4s": segMeta, "news/v/2.m4s": nil, "news/a/1.m4s": {"reap-source": "b"}}
			for k, m := range objs {
				if err := s.Create(ctx, k, []byte("body of "+k), m); err != nil {
					t.Fatal(err)
				}
			}
			var wantFiles []string
			for k := range objs {
				wantFiles = append(wantFiles, k)
				if !tc.xattrs {
					wantFiles = append(wantFiles, k+".attrs")
				}
			}
			if got := filesUnder(t, dir); fmt.Sprint(got) != fmt.Sprint(sorted(wantFiles)) {
				t.Errorf("files %q, want %q", got, sorted(wantFiles))
			}
			for k, m := range objs {
				a, err := s.Attributes(ctx, k)
				if err != nil {
					t.Fatal(err)
				}
				if want := lower(m); fmt.Sprint(a.Meta) != fmt.Sprint(want) || a.Meta == nil || a.Size != int64(len("body of "+k)) {
					t.Errorf("%s: Attributes = %+v, want Meta %q", k, a, want)
				}
				checkXattrs(t, filepath.Join(dir, filepath.FromSlash(k)), m, tc.xattrs)
			}
			logs := h.records()
			if len(logs) != tc.wantLog {
				t.Fatalf("log %q; want %d record(s)", logs, tc.wantLog)
			}
			for _, l := range logs {
				if !strings.HasPrefix(l, "WARN ") || !strings.Contains(l, "dir="+dir) || !strings.Contains(l, "err="+syscall.EOPNOTSUPP.Error()) {
					t.Errorf("log record %q does not warn naming the directory and the error", l)
				}
			}
			if tmps, err := s.TempFiles(ctx, ""); err != nil || len(tmps) != 0 {
				t.Errorf("temporary files left: %v, %v (the probe must be removed)", tmps, err)
			}
		})
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }

// TestFileMetaReplace: an object replaced by Put has the new object's
// metadata, whichever form either was written in; a sidecar left over
// from the replaced object (a crash between the rename and its removal)
// does not count against the xattrs, even when the new object has none.
func TestFileMetaReplace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := fileStoreURL(t)
	xs := mustOpen(t, url)
	if !xs.xattrMeta {
		t.Fatal("the test directory must keep user xattrs")
	}
	ss := openBackend(t, true, url)
	dir, _ := xs.LocalDir()
	p := filepath.Join(dir, "k")
	steps := []struct {
		name  string
		do    func() error
		want  map[string]string
		files []string
	}{
		{"sidecar object", func() error { return ss.Create(ctx, "k", []byte("1"), map[string]string{"old": "1"}) },
			map[string]string{"old": "1"}, []string{"k", "k.attrs"}},
		{"replaced with xattrs and no metadata", func() error { return xs.Put(ctx, "k", []byte("2"), nil) },
			map[string]string{}, []string{"k"}},
		{"stale sidecar", func() error { return os.WriteFile(p+".attrs", []byte(`{"user.metadata":{"old":"1"}}`), 0o644) },
			map[string]string{}, []string{"k", "k.attrs"}},
		{"replaced with a sidecar object", func() error { return ss.Put(ctx, "k", []byte("3"), map[string]string{"new": "3"}) },
			map[string]string{"new": "3"}, []string{"k", "k.attrs"}},
		{"replaced with xattrs", func() error { return xs.Put(ctx, "k", []byte("4"), map[string]string{"x": "4"}) },
			map[string]string{"x": "4"}, []string{"k"}},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		for _, s := range []*Store{xs, ss} {
			if a, err := s.Attributes(ctx, "k"); err != nil || fmt.Sprint(a.Meta) != fmt.Sprint(st.want) {
				t.Errorf("%s: Attributes = %+v, %v; want Meta %q", st.name, a, err, st.want)
			}
		}
		if got := filesUnder(t, dir); fmt.Sprint(got) != fmt.Sprint(st.files) {
			t.Errorf("%s: files %q, want %q", st.name, got, st.files)
		}
	}
}

// TestFileOldSidecarObjects: objects that fileblob wrote with .attrs
// sidecars (archives from before xattrs) read as before from a store that
// writes xattrs: metadata, bytes, listing, existence; Delete removes both
// files.
func TestFileOldSidecarObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	old, err := fileblob.OpenBucket(dir, &fileblob.Options{NoTempDir: true})
	if err != nil {
		t.Fatal(err)
	}
	objs := map[string]map[string]string{"news/v/1.m4s": segMeta, "news/v/2.m4s": nil}
	for k, m := range objs {
		if err := old.WriteAll(ctx, k, []byte("old "+k), &blob.WriterOptions{Metadata: m}); err != nil {
			t.Fatal(err)
		}
	}
	old.Close()
	s := mustOpen(t, "file://"+filepath.ToSlash(dir))
	if !s.xattrMeta {
		t.Fatal("the test directory must keep user xattrs")
	}
	if err := s.Create(ctx, "news/v/3.m4s", []byte("new"), map[string]string{"reap-source": "c"}); err != nil {
		t.Fatal(err)
	}
	objs["news/v/3.m4s"] = map[string]string{"reap-source": "c"}
	var listed []string
	if err := s.List(ctx, "", func(a Attrs) error { listed = append(listed, a.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []string{"news/v/1.m4s", "news/v/2.m4s", "news/v/3.m4s"}; fmt.Sprint(listed) != fmt.Sprint(want) {
		t.Errorf("List = %q, want %q", listed, want)
	}
	for k, m := range objs {
		a, err := s.Attributes(ctx, k)
		if want := lower(m); err != nil || fmt.Sprint(a.Meta) != fmt.Sprint(want) {
			t.Errorf("%s: Attributes = %+v, %v; want Meta %q", k, a, err, want)
		}
		if ok, err := s.Exists(ctx, k); !ok || err != nil {
			t.Errorf("%s: Exists = %v, %v", k, ok, err)
		}
	}
	if got, err := s.Get(ctx, "news/v/1.m4s"); err != nil || string(got) != "old news/v/1.m4s" {
		t.Errorf("Get = %q, %v", got, err)
	}
	if err := s.Delete(ctx, "news/v/1.m4s"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"news/v/2.m4s", "news/v/2.m4s.attrs", "news/v/3.m4s"}; fmt.Sprint(filesUnder(t, dir)) != fmt.Sprint(want) {
		t.Errorf("files after Delete %q, want %q", filesUnder(t, dir), want)
	}
}

// TestReservedMetaKey: the metadata keys of the file stores' own xattrs
// (user.reap, the old form's marker user.reap.attrs) are refused on every
// store, so that an object's metadata means the same everywhere.
func TestReservedMetaKey(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		for _, k := range []string{"Reap.Attrs", "REAP"} {
			err := s.Create(context.Background(), "k", []byte("x"), map[string]string{k: "1"})
			if err == nil || !strings.Contains(err.Error(), "reserved") {
				t.Errorf("Create with metadata key %s: %v; want it refused", k, err)
			}
			if ok, _ := s.Exists(context.Background(), "k"); ok {
				t.Errorf("the object refused for %s was written", k)
			}
		}
	})
}

// BenchmarkFileWrite writes small objects with a segment's attributes to a
// file store: with them in xattrs, and in .attrs sidecars (a file system
// that refuses xattrs), in the same run.
func BenchmarkFileWrite(b *testing.B) {
	for _, form := range []string{"xattr", "sidecar"} {
		b.Run(form, func(b *testing.B) {
			o := fileOptions{xattr: sysXattrs, log: slog.New(slog.DiscardHandler)}
			if form == "sidecar" {
				o = refusingXattrs(o.log)
			}
			s, err := openWith(context.Background(), "file://"+filepath.ToSlash(b.TempDir()), false, o)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if s.xattrMeta != (form == "xattr") {
				b.Fatalf("xattrMeta = %v", s.xattrMeta)
			}
			data := make([]byte, 16<<10)
			b.SetBytes(int64(len(data)))
			i := 0
			for b.Loop() {
				if err := s.Create(context.Background(), fmt.Sprintf("news/v/%d.m4s", i), data, segMeta); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// TestXattrMetaEncoding: user.reap's value lists the entries form-encoded,
// names lower-cased and in order; any name and value read back as written;
// a malformed value is an error, not metadata.
func TestXattrMetaEncoding(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		meta map[string]string
		want string
	}{
		{name: "none", meta: nil, want: ""},
		{name: "segment", meta: map[string]string{"reap-k": "444000000", "Reap-Ept": "1776", "reap-lmsg": "1"},
			want: "reap-ept=1776&reap-k=444000000&reap-lmsg=1"},
		{name: "special", meta: map[string]string{"a b": "x&y=z", "e": "", "u": "ü%+/\x00"},
			want: "a+b=x%26y%3Dz&e=&u=%C3%BC%25%2B%2F%00"},
		{name: "recorder's", meta: segMeta, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			v := encodeXattrMeta(tc.meta)
			if tc.want != "" && string(v) != tc.want {
				t.Errorf("encode = %q, want %q", v, tc.want)
			}
			got, err := decodeXattrMeta(v)
			if err != nil || got == nil || fmt.Sprint(got) != fmt.Sprint(lower(tc.meta)) {
				t.Errorf("decode(%q) = %q, %v; want %q", v, got, err, lower(tc.meta))
			}
		})
	}
	for _, bad := range []string{"a", "a=1&a=2", "a=%zz", "a=1&", "%zz=1"} {
		if got, err := decodeXattrMeta([]byte(bad)); err == nil {
			t.Errorf("decode(%q) = %q; want an error", bad, got)
		}
	}
}
