package cloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// fileStoreURL returns a file:/// URL for a fresh temporary directory.
func fileStoreURL(t *testing.T) string {
	t.Helper()
	return "file://" + filepath.ToSlash(t.TempDir())
}

func mustOpen(t *testing.T, rawURL string) *Store {
	t.Helper()
	s, err := Open(context.Background(), rawURL)
	if err != nil {
		t.Fatalf("Open(%q): %v", rawURL, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// backends are the stores every behaviour test runs against: a directory,
// memory, a real S3 API (MinIO) and a real GCS API (fake-gcs-server), each
// also scoped to a key prefix. Every call of url gives a new, empty store.
var backends = []struct {
	name string
	url  func(t *testing.T) string
	// separate: two Opens of one URL are separate stores (mem://).
	separate bool
	// sidecar: a file store on a file system that refuses user xattrs,
	// which keeps metadata in .attrs sidecars.
	sidecar bool
}{
	{name: "file", url: fileStoreURL},
	{name: "file-sidecar", url: fileStoreURL, sidecar: true},
	{name: "mem", url: func(*testing.T) string { return "mem://" }, separate: true},
	{name: "s3", url: func(t *testing.T) string { return testenv.Store("s3").URL(t) }},
	{name: "gs", url: func(t *testing.T) string { return testenv.Store("gs").URL(t) }},
	{name: "file-prefix", url: func(t *testing.T) string { return fileStoreURL(t) + "?prefix=sub/dir/" }},
	{name: "mem-prefix", url: func(*testing.T) string { return "mem://?prefix=pre/" }, separate: true},
	{name: "s3-prefix", url: func(t *testing.T) string { return testenv.Store("s3").URL(t) + "&prefix=sub/dir/" }},
	{name: "gs-prefix", url: func(t *testing.T) string { return testenv.Store("gs").URL(t) + "&prefix=sub/dir/" }},
}

func forEachBackend(t *testing.T, f func(t *testing.T, s *Store)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, openBackend(t, b.sidecar, b.url(t)))
		})
	}
}

// openBackend opens rawURL; with sidecar, as a file store on a file system
// that refuses user xattrs.
func openBackend(t *testing.T, sidecar bool, rawURL string) *Store {
	t.Helper()
	if !sidecar {
		return mustOpen(t, rawURL)
	}
	s, err := openWith(context.Background(), rawURL, false, refusingXattrs(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if s.xattrMeta {
		t.Fatal("a store whose file system refuses xattrs writes them")
	}
	return s
}

func TestOpen(t *testing.T) {
	t.Parallel()
	abs := t.TempDir()
	newDir := filepath.Join(t.TempDir(), "new", "sub")
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	relTmp := t.TempDir()
	rel, err := filepath.Rel(wd, relTmp)
	if err != nil {
		t.Fatal(err)
	}
	rel = filepath.ToSlash(rel)

	tests := []struct {
		name    string
		url     string
		wantURL string
		wantDir string // "" = not a file store
		wantErr []string
	}{
		{name: "file abs", url: "file://" + abs, wantURL: "file://" + abs, wantDir: abs},
		{name: "file abs trailing slash", url: "file://" + abs + "/", wantURL: "file://" + abs, wantDir: abs},
		{name: "file localhost", url: "file://localhost" + abs, wantURL: "file://" + abs, wantDir: abs},
		{name: "file created", url: "file://" + newDir, wantURL: "file://" + newDir, wantDir: newDir},
		{name: "file relative dot", url: "file://./" + rel, wantURL: "file://" + relTmp, wantDir: relTmp},
		{name: "file prefix", url: "file://" + abs + "?prefix=a/b/", wantURL: "file://" + abs + "?prefix=a%2Fb%2F", wantDir: filepath.Join(abs, "a", "b")},
		{name: "file compat params", url: "file://" + abs + "?create_dir=1&no_tmp_dir=1", wantURL: "file://" + abs + "?create_dir=1&no_tmp_dir=1", wantDir: abs},
		{name: "mem", url: "mem://", wantURL: "mem://"},
		{name: "mem named", url: "mem://x", wantURL: "mem://x"},
		{name: "mem prefix", url: "mem://?prefix=p/", wantURL: "mem://?prefix=p%2F"},
		{name: "s3", url: "s3://b?endpoint=http://127.0.0.1:1&region=us-east-1&use_path_style=true",
			wantURL: "s3://b?endpoint=http%3A%2F%2F127.0.0.1%3A1&region=us-east-1&use_path_style=true"},
		{name: "s3 prefix", url: "s3://b?region=us-east-1&prefix=live/", wantURL: "s3://b?prefix=live%2F&region=us-east-1"},
		{name: "gs", url: "gs://b", wantURL: "gs://b"},
		{name: "gs emulator endpoint", url: "gs://b?endpoint=http://127.0.0.1:4443&prefix=p/", wantURL: "gs://b?endpoint=http%3A%2F%2F127.0.0.1%3A4443&prefix=p%2F"},

		{name: "bad scheme", url: "ftp://host/x", wantErr: []string{"ftp://host/x", "file://", "mem://", "s3://", "gs://"}},
		{name: "no scheme", url: "/just/a/path", wantErr: []string{"no scheme", "s3://"}},
		{name: "empty", url: "", wantErr: []string{"no scheme"}},
		{name: "bad URL", url: "s3://b/%zz", wantErr: []string{"invalid store URL"}},
		{name: "bad URL control char", url: "file:///tmp/\x01", wantErr: []string{"invalid store URL"}},
		{name: "file no path", url: "file://", wantErr: []string{"no path"}},
		{name: "file unknown param", url: "file://" + abs + "?metadata=skip", wantErr: []string{"metadata"}},
		{name: "file prefix without slash", url: "file://" + abs + "?prefix=seg-", wantErr: []string{"must end in"}},
		{name: "file is a file", url: "file://" + writeFile(t, abs, "plain"), wantErr: []string{"not a directory"}},
		{name: "bad prefix", url: "mem://?prefix=/abs/", wantErr: []string{"invalid prefix"}},
		{name: "key param", url: "mem://?key=x", wantErr: []string{"key"}},
		{name: "mem path", url: "mem://x/y", wantErr: []string{"no path"}},
		{name: "s3 no bucket", url: "s3:///x", wantErr: []string{"no bucket"}},
		{name: "s3 path", url: "s3://b/archive", wantErr: []string{"prefix=archive/"}},
		{name: "s3 unknown param", url: "s3://b?bogus=1", wantErr: []string{"bogus"}},
		{name: "gs path", url: "gs://b/x", wantErr: []string{"prefix=x/"}},
		{name: "gs endpoint without scheme", url: "gs://b?endpoint=127.0.0.1:4443", wantErr: []string{"endpoint", "http://host:port"}},
		{name: "gs endpoint with a path", url: "gs://b?endpoint=http://127.0.0.1:4443/storage/v1/", wantErr: []string{"endpoint"}},
		{name: "gs endpoint and an unknown param", url: "gs://b?endpoint=http://127.0.0.1:4443&grpc=true", wantErr: []string{"grpc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			s, err := Open(ctx, tc.url)
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Open(%q) took %v", tc.url, d)
			}
			if tc.wantErr != nil {
				if err == nil {
					s.Close()
					t.Fatalf("Open(%q) succeeded, want error", tc.url)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Open(%q) error %q does not mention %q", tc.url, err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.url, err)
			}
			defer s.Close()
			if got := s.URL(); got != tc.wantURL {
				t.Errorf("URL() = %q, want %q", got, tc.wantURL)
			}
			dir, ok := s.LocalDir()
			if dir != tc.wantDir || ok != (tc.wantDir != "") {
				t.Errorf("LocalDir() = %q, %v, want %q", dir, ok, tc.wantDir)
			}
			if ok {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					t.Errorf("LocalDir %q not a directory: %v", dir, err)
				}
			}
		})
	}
}

func writeFile(t *testing.T, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestOpenGCSEmulator constructs gs:// stores against STORAGE_EMULATOR_HOST
// without contacting it. Not parallel: it sets the environment.
func TestOpenGCSEmulator(t *testing.T) {
	for _, host := range []string{"127.0.0.1:1", "http://127.0.0.1:1"} {
		t.Setenv("STORAGE_EMULATOR_HOST", host)
		s, err := Open(context.Background(), "gs://b?prefix=live/")
		if err != nil {
			t.Fatalf("STORAGE_EMULATOR_HOST=%s: %v", host, err)
		}
		if s.URL() != "gs://b?prefix=live%2F" {
			t.Errorf("URL() = %q", s.URL())
		}
		// The first request fails (nothing listens there) with a wrapped
		// error naming the key and the store.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err = s.Get(ctx, "k")
		cancel()
		if err == nil || !strings.Contains(err.Error(), `"k"`) || !strings.Contains(err.Error(), "gs://b") {
			t.Errorf("Get against a dead emulator: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if _, err := Open(context.Background(), "gs://b?grpc=true"); err == nil {
			t.Errorf("grpc=true with STORAGE_EMULATOR_HOST: want error")
		}
	}
}

func TestResolveFileDir(t *testing.T) {
	t.Parallel()
	wd := filepath.FromSlash("/work/wd")
	tests := []struct {
		url, want string
	}{
		{"file:///abs/dir", "/abs/dir"},
		{"file:///abs/dir/", "/abs/dir"},
		{"file://localhost/abs/dir", "/abs/dir"},
		{"file:/abs/dir", "/abs/dir"},
		{"file:///", "/"},
		{"file://./rel/dir", "/work/wd/rel/dir"},
		{"file://.", "/work/wd"},
		{"file://./", "/work/wd"},
		{"file://./../up", "/work/up"},
		{"file://rel", "/work/wd/rel"},
		{"file://rel/dir", "/work/wd/rel/dir"},
		{"file:rel/dir", "/work/wd/rel/dir"},
		{"file://./a%20b", "/work/wd/a b"},
		{"file:///a%20b/c", "/a b/c"},
		{"file://", ""},
		{"mem://x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			t.Parallel()
			u, err := parseURLForTest(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			got, err := resolveFileDir(u, wd)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("resolveFileDir(%q) = %q, want error", tc.url, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("resolveFileDir(%q): %v", tc.url, err)
			}
			if want := filepath.FromSlash(tc.want); got != want {
				t.Errorf("resolveFileDir(%q) = %q, want %q", tc.url, got, want)
			}
		})
	}
	if _, err := resolveFileDir(mustParse(t, "file://./x"), "relative/wd"); err == nil {
		t.Error("relative wd accepted")
	}
}

func TestCredentialsNeverPrinted(t *testing.T) {
	t.Parallel()
	const secret = "S3CR3Tvalue"
	for _, raw := range []string{
		"s3://AKIA:" + secret + "@bucket",
		"s3://bucket?aws_secret_access_key=" + secret,
		"s3://bucket?session_token=" + secret + "&region=x",
		"s3://bucket?endpoint=http://user:" + secret + "@127.0.0.1:9000",
		"gs://user:" + secret + "@bucket",
		"s3://AKIA:" + secret + "@bucket/%zz",
		"s3://AKIA:" + secret + "@bucket?x=%zz",
		"ftp://u:" + secret + "@host/x?password=" + secret,
		"file://u:" + secret + "@localhost/tmp",
	} {
		_, err := Open(context.Background(), raw)
		if err == nil {
			t.Errorf("Open(%q) succeeded", raw)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Open(%q) error leaks the secret: %v", raw, err)
		}
	}
	if got := redactURL(mustParse(t, "s3://u:p@b?endpoint=http://x:y@h&token=t&region=r")); strings.Contains(got, ":p@") ||
		strings.Contains(got, "x:y") || strings.Contains(got, "token=t") || !strings.Contains(got, "region=r") {
		t.Errorf("redactURL: %s", got)
	}
}

func TestCreateExists(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		const key = "live/seg/00001.m4s"
		if err := s.Create(ctx, key, []byte("first"), map[string]string{"N": "1"}); err != nil {
			t.Fatalf("Create: %v", err)
		}
		err := s.Create(ctx, key, []byte("second, longer"), map[string]string{"n": "2"})
		if !errors.Is(err, ErrExists) || !IsExists(err) {
			t.Fatalf("second Create: %v, want ErrExists", err)
		}
		if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), s.URL()) {
			t.Errorf("error %q does not name the key and the store", err)
		}
		got, err := s.Get(ctx, key)
		if err != nil || string(got) != "first" {
			t.Fatalf("Get = %q, %v; want first", got, err)
		}
		a, err := s.Attributes(ctx, key)
		if err != nil || a.Meta["n"] != "1" || a.Size != 5 || a.Key != key {
			t.Fatalf("Attributes = %+v, %v", a, err)
		}
		if dir, ok := s.LocalDir(); ok {
			if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key))); err != nil || string(b) != "first" {
				t.Errorf("file under LocalDir: %q, %v", b, err)
			}
		}
	})
}

func TestCreateConcurrent(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.url(t)
			// Two Stores on one directory share the per-path locks; on
			// S3 and GCS they are two clients, and only the service
			// decides.
			stores := []*Store{openBackend(t, b.sidecar, url), openBackend(t, b.sidecar, url)}
			if b.separate {
				stores[1] = stores[0] // mem:// Opens are separate stores
			}
			const n = 50
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				winners []int
				start   = make(chan struct{})
			)
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := stores[i%2].Create(context.Background(), "race/key", fmt.Appendf(nil, "writer %d", i), nil)
					switch {
					case err == nil:
						mu.Lock()
						winners = append(winners, i)
						mu.Unlock()
					case !errors.Is(err, ErrExists):
						t.Errorf("writer %d: %v", i, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(winners) != 1 {
				t.Fatalf("%d Creates succeeded (%v), want exactly 1", len(winners), winners)
			}
			got, err := stores[0].Get(context.Background(), "race/key")
			if want := fmt.Sprintf("writer %d", winners[0]); err != nil || string(got) != want {
				t.Errorf("Get = %q, %v; want %q", got, err, want)
			}
			if dir, ok := stores[0].LocalDir(); ok {
				want := []string{"race/key"}
				if b.sidecar {
					want = append(want, "race/key.attrs")
				}
				if left := filesUnder(t, dir); !equal(left, want) {
					t.Errorf("files left: %q", left)
				}
			}
		})
	}
}

// TestCreateConcurrentLarge: create-only also holds for objects larger than
// the drivers' upload part (s3blob: 5 MiB multipart parts; gcsblob: 16 MiB
// resumable chunks), which Create uploads in a single conditional request.
func TestCreateConcurrentLarge(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		if b.separate || strings.HasSuffix(b.name, "-prefix") {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			url := b.url(t)
			stores := []*Store{openBackend(t, b.sidecar, url), openBackend(t, b.sidecar, url)}
			const n, size = 4, 20 << 20
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				winners []int
				start   = make(chan struct{})
			)
			for i := range n {
				data := bytes.Repeat([]byte{byte('a' + i)}, size)
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					err := stores[i%2].Create(context.Background(), "race/large", data, map[string]string{"writer": strconv.Itoa(i)})
					switch {
					case err == nil:
						mu.Lock()
						winners = append(winners, i)
						mu.Unlock()
					case !errors.Is(err, ErrExists):
						t.Errorf("writer %d: %v", i, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if len(winners) != 1 {
				t.Fatalf("%d Creates of a %d MiB object succeeded (%v), want exactly 1", len(winners), size>>20, winners)
			}
			got, err := stores[0].Get(context.Background(), "race/large")
			if err != nil || len(got) != size || got[0] != byte('a'+winners[0]) || got[size-1] != got[0] {
				t.Fatalf("stored object is not writer %d's: %d bytes, %v", winners[0], len(got), err)
			}
			a, err := stores[1].Attributes(context.Background(), "race/large")
			if err != nil || a.Meta["writer"] != strconv.Itoa(winners[0]) {
				t.Errorf("attributes %+v, %v; want writer %d's", a, err, winners[0])
			}
		})
	}
}

func TestPutOverwrites(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.Put(ctx, "manifest.json", []byte(`{"v":1, "padding": "xxxxxxxx"}`), map[string]string{"v": "1", "old": "x"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Put(ctx, "manifest.json", []byte(`{"v":2}`), map[string]string{"v": "2"}); err != nil {
			t.Fatal(err)
		}
		got, err := s.Get(ctx, "manifest.json")
		if err != nil || string(got) != `{"v":2}` {
			t.Fatalf("Get = %q, %v", got, err)
		}
		a, err := s.Attributes(ctx, "manifest.json")
		if err != nil || a.Meta["v"] != "2" || len(a.Meta) != 1 || a.Size != int64(len(got)) {
			t.Fatalf("Attributes = %+v, %v", a, err)
		}
		if err := s.Create(ctx, "manifest.json", nil, nil); !errors.Is(err, ErrExists) {
			t.Errorf("Create over Put: %v", err)
		}
	})
}

func TestMissing(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.Put(ctx, "file", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		// "file/below" is missing too, although on a file store "file" is a
		// file, not a directory.
		for _, key := range []string{"nope", "dir/nope", "file/below"} {
			if _, err := s.Get(ctx, key); !errors.Is(err, ErrNotFound) || !IsNotFound(err) {
				t.Errorf("Get(%q): %v, want ErrNotFound", key, err)
			} else if !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), s.URL()) {
				t.Errorf("Get(%q) error %q does not name the key and the store", key, err)
			}
			if _, err := s.Attributes(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Attributes(%q): %v, want ErrNotFound", key, err)
			}
			if ok, err := s.Exists(ctx, key); ok || err != nil {
				t.Errorf("Exists(%q) = %v, %v", key, ok, err)
			}
			if err := s.Delete(ctx, key); !errors.Is(err, ErrNotFound) {
				t.Errorf("Delete(%q): %v, want ErrNotFound", key, err)
			}
		}
		if ok, err := s.Exists(ctx, "file"); !ok || err != nil {
			t.Errorf("Exists(file) = %v, %v", ok, err)
		}
		if err := s.Delete(ctx, "file"); err != nil {
			t.Errorf("Delete: %v", err)
		}
		if ok, err := s.Exists(ctx, "file"); ok || err != nil {
			t.Errorf("Exists after Delete = %v, %v", ok, err)
		}
	})
}

func TestMetadataRoundTrip(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		meta := map[string]string{"Stream-ID": "abc", "duration": "2.002", "Unicode": "häßlich ✓", "empty": ""}
		before := time.Now().Add(-2 * time.Second)
		if err := s.Create(ctx, "a/b/c.m4s", []byte("data"), meta); err != nil {
			t.Fatal(err)
		}
		a, err := s.Attributes(ctx, "a/b/c.m4s")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"stream-id": "abc", "duration": "2.002", "unicode": "häßlich ✓", "empty": ""}
		if fmt.Sprint(a.Meta) != fmt.Sprint(want) {
			t.Errorf("Meta = %q, want %q", a.Meta, want)
		}
		if a.Size != 4 || a.ModTime.Before(before) || a.Key != "a/b/c.m4s" {
			t.Errorf("Attributes = %+v", a)
		}
		// No metadata: Meta is empty, not nil.
		if err := s.Create(ctx, "plain", []byte{}, nil); err != nil {
			t.Fatal(err)
		}
		if a, err := s.Attributes(ctx, "plain"); err != nil || a.Meta == nil || len(a.Meta) != 0 || a.Size != 0 {
			t.Errorf("Attributes(plain) = %+v, %v", a, err)
		}
		if got, err := s.Get(ctx, "plain"); err != nil || got == nil || len(got) != 0 {
			t.Errorf("Get(plain) = %#v, %v", got, err)
		}
		// Keys differing only in case are one key.
		if err := s.Create(ctx, "dup", nil, map[string]string{"A": "1", "a": "2"}); err == nil {
			t.Error("Create with duplicate case-insensitive metadata keys succeeded")
		}
	})
}

func TestList(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		var want []string
		put := func(key string, in bool) {
			t.Helper()
			if err := s.Create(ctx, key, []byte(key), map[string]string{"k": "v"}); err != nil {
				t.Fatal(err)
			}
			if in {
				want = append(want, key)
			}
		}
		// > 1000 objects under one prefix, so the listing spans pages, and
		// names for which file-name order differs from key order
		// ("s.mpd" and "s-b/x" sort before "s/...").
		// Written concurrently: each Create on a file store waits for fsyncs.
		n := 1100
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 16 {
					key := fmt.Sprintf("live/s/seg%05d.m4s", i)
					if err := s.Create(ctx, key, []byte(key), nil); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		for i := range n {
			want = append(want, fmt.Sprintf("live/s/seg%05d.m4s", i))
		}
		for _, k := range []string{"live/s.mpd", "live/s-b/x", "live/s0", "live/r", "live/s/a/deep/er", "live/t"} {
			put(k, true)
		}
		for _, k := range []string{"liv", "livf", "other/x", "z"} {
			put(k, false)
		}
		if dir, ok := s.LocalDir(); ok {
			// Debris of a crashed write: a temporary file next to its
			// target, and a sidecar without its file.
			writeFile(t, filepath.Join(dir, "live", "s"), "seg00001.m4s.18a7b3c4d5e6f708.tmp")
			writeFile(t, filepath.Join(dir, "live"), "gone.attrs")
		}
		sort.Strings(want)

		list := func(prefix string) []string {
			t.Helper()
			var got []string
			err := s.List(ctx, prefix, func(a Attrs) error {
				got = append(got, a.Key)
				if a.Size != int64(len(a.Key)) || a.ModTime.IsZero() || a.Meta != nil {
					t.Errorf("List attrs %+v", a)
				}
				return nil
			})
			if err != nil {
				t.Fatalf("List(%q): %v", prefix, err)
			}
			return got
		}
		if got := list("live/"); !equal(got, want) {
			t.Errorf("List(live/): %d keys, want %d; first differences: %s", len(got), len(want), diff(got, want))
		}
		var wantS []string
		for _, k := range want {
			if strings.HasPrefix(k, "live/s") {
				wantS = append(wantS, k)
			}
		}
		if got := list("live/s"); !equal(got, wantS) {
			t.Errorf("List(live/s): %s", diff(got, wantS))
		}
		if got := list("live/s/a/"); !equal(got, []string{"live/s/a/deep/er"}) {
			t.Errorf("List(live/s/a/) = %q", got)
		}
		if got := list("nothing/"); len(got) != 0 {
			t.Errorf("List(nothing/) = %q", got)
		}
		all := list("")
		if len(all) != len(want)+4 || !sort.StringsAreSorted(all) {
			t.Errorf("List(\"\"): %d keys, sorted %v", len(all), sort.StringsAreSorted(all))
		}
		// fn's error stops the listing and comes back as it is.
		stop := errors.New("stop")
		calls := 0
		if err := s.List(ctx, "live/", func(Attrs) error { calls++; return stop }); err != stop || calls != 1 {
			t.Errorf("List with failing fn: %v after %d calls", err, calls)
		}
		if err := s.List(ctx, "/abs", func(Attrs) error { return nil }); err == nil {
			t.Error("List with an invalid prefix succeeded")
		}
	})
}

// TestListDir: one level of a listing, objects and common prefixes in key
// order, paged.
func TestListDir(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, k := range []string{"ch/impd-1.mpd", "ch/V/1.m4s", "ch/V/init-a.mp4", "ch/V/filler/3-a.m4s", "ch/V/filler/init-b.mp4",
			"ch/A/2.m4s", "ch.txt", "ch-b/x", "other/y/z"} {
			if err := s.Create(ctx, k, []byte(k), nil); err != nil {
				t.Fatal(err)
			}
		}
		// One level with more entries than a page.
		n := 1050
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 16 {
					if err := s.Create(ctx, fmt.Sprintf("many/%04d", i), []byte("x"), nil); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if dir, ok := s.LocalDir(); ok {
			writeFile(t, filepath.Join(dir, "ch", "V"), "1.m4s.18a7b3c4d5e6f708.tmp")
		}
		list := func(prefix string) []string {
			t.Helper()
			var got []string
			err := s.ListDir(ctx, prefix, func(a Attrs) error {
				if a.Dir {
					if !strings.HasSuffix(a.Key, "/") || a.Size != 0 || !a.ModTime.IsZero() {
						t.Errorf("ListDir(%q): directory entry %+v", prefix, a)
					}
					got = append(got, a.Key)
					return nil
				}
				if a.Size != int64(len(a.Key)) && !strings.HasPrefix(a.Key, "many/") || a.ModTime.IsZero() || a.Meta != nil {
					t.Errorf("ListDir(%q): object entry %+v", prefix, a)
				}
				got = append(got, a.Key)
				return nil
			})
			if err != nil {
				t.Fatalf("ListDir(%q): %v", prefix, err)
			}
			return got
		}
		for _, tc := range []struct {
			prefix string
			want   []string
		}{
			{"", []string{"ch-b/", "ch.txt", "ch/", "many/", "other/"}},
			{"ch/", []string{"ch/A/", "ch/V/", "ch/impd-1.mpd"}},
			{"ch/V/", []string{"ch/V/1.m4s", "ch/V/filler/", "ch/V/init-a.mp4"}},
			{"ch/V/filler/", []string{"ch/V/filler/3-a.m4s", "ch/V/filler/init-b.mp4"}},
			{"ch", []string{"ch-b/", "ch.txt", "ch/"}},
			{"ch/V/i", []string{"ch/V/init-a.mp4"}},
			{"nothing/", nil},
		} {
			if got := list(tc.prefix); !equal(got, tc.want) {
				t.Errorf("ListDir(%q) = %q, want %q", tc.prefix, got, tc.want)
			}
		}
		got := list("many/")
		if len(got) != n || !sort.StringsAreSorted(got) || got[0] != "many/0000" {
			t.Errorf("ListDir(many/): %d keys (sorted %v), want %d", len(got), sort.StringsAreSorted(got), n)
		}
		stop := errors.New("stop")
		if err := s.ListDir(ctx, "", func(Attrs) error { return stop }); err != stop {
			t.Errorf("ListDir with failing fn: %v", err)
		}
		if err := s.ListDir(ctx, "/abs", func(Attrs) error { return nil }); err == nil {
			t.Error("ListDir with an invalid prefix succeeded")
		}
	})
}

func TestCreateCancelled(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		// Cancelled before the call.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := s.Create(ctx, "c/early", []byte("data"), nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Create with a cancelled context: %v", err)
		}
		// Cancelled while writing.
		ctx, cancel = context.WithCancel(context.Background())
		defer cancel()
		s.testAfterWrite = cancel
		err := s.Create(ctx, "c/late", bytes.Repeat([]byte("x"), 100000), nil)
		s.testAfterWrite = nil
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Create cancelled mid-write: %v", err)
		}
		for _, key := range []string{"c/early", "c/late"} {
			if ok, err := s.Exists(context.Background(), key); ok || err != nil {
				t.Errorf("Exists(%q) = %v, %v", key, ok, err)
			}
		}
		if dir, ok := s.LocalDir(); ok {
			if left := filesUnder(t, dir); len(left) != 0 {
				t.Errorf("files left behind: %q", left)
			}
		}
		// The key is still free.
		if err := s.Create(context.Background(), "c/late", []byte("ok"), nil); err != nil {
			t.Errorf("Create after the cancelled one: %v", err)
		}
	})
}

func TestInvalidKeys(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for _, key := range []string{
			"", "/abs", "dir/", "a//b", "./a", "a/../b", "a/.", "..", "a\x00b", "a\nb", "\xff",
			"x.attrs", "a/b__0x2f__c", "seg.0123456789abcdef.tmp", strings.Repeat("k", 1025),
		} {
			if err := s.Put(ctx, key, []byte("x"), nil); err == nil || !strings.Contains(err.Error(), "invalid key") {
				t.Errorf("Put(%q): %v, want invalid key", key, err)
			}
			if _, err := s.Get(ctx, key); err == nil || errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q): %v, want invalid key", key, err)
			}
		}
		for _, key := range []string{"a", "b/c/d.m4s", ".hidden", "c/..d", "a b/ü", "seg.cafe.tmp", "x.attrs.json", strings.Repeat("k", 200)} {
			if err := s.Put(ctx, key, []byte("x"), nil); err != nil {
				t.Errorf("Put(%q): %v", key, err)
			}
		}
	})
}

func TestFileCreateOverDirectory(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, fileStoreURL(t))
	ctx := context.Background()
	if err := s.Create(ctx, "a/b", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "a", []byte("x"), nil); err == nil || errors.Is(err, ErrExists) {
		t.Errorf("Create(a) over directory a/: %v, want a non-ErrExists error", err)
	}
	if ok, err := s.Exists(ctx, "a"); ok || err != nil {
		t.Errorf("Exists(a) = %v, %v", ok, err)
	}
	if err := s.Create(ctx, "a/b/c", []byte("x"), nil); err == nil || errors.Is(err, ErrExists) {
		t.Errorf("Create(a/b/c) below file a/b: %v", err)
	}
}

func TestFileDirsSynced(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, fileStoreURL(t))
	if err := s.Put(context.Background(), "x/y/z", []byte("1"), nil); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"x", "x/y"} {
		if _, ok := s.syncedDirs.Load(filepath.Join(s.dir, filepath.FromSlash(d))); !ok {
			t.Errorf("directory %s not recorded as synced", d)
		}
	}
}

func TestClosed(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		if err := s.Put(ctx, "k", []byte("x"), nil); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if err := s.Create(ctx, "k2", nil, nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Create after Close: %v", err)
		}
		if _, err := s.Get(ctx, "k"); !errors.Is(err, ErrClosed) {
			t.Errorf("Get after Close: %v", err)
		}
		if err := s.List(ctx, "", func(Attrs) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Errorf("List after Close: %v", err)
		}
	})
}

func TestOpenS3GSOffline(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{
		"s3://b?endpoint=http://127.0.0.1:1&region=us-east-1&use_path_style=true",
		"s3://b?endpoint=http://127.0.0.1:1&region=us-east-1&s3ForcePathStyle=true&disable_https=true&anonymous=true&request_checksum_calculation=when_required",
		"gs://b",
		"gs://b?anonymous=true",
	} {
		start := time.Now()
		s, err := Open(ctx, u)
		if err != nil {
			t.Errorf("Open(%q): %v", u, err)
			continue
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("Open(%q) took %v", u, d)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close(%q): %v", u, err)
		}
	}
}

func TestContentType(t *testing.T) {
	t.Parallel()
	for key, want := range map[string]string{
		"a/seg.m4s": "video/iso.segment", "init.mp4": "video/mp4", "x.MPD": "application/dash+xml",
		"noext": "application/octet-stream", "dir.d/file": "application/octet-stream",
	} {
		if got := contentType(key); got != want {
			t.Errorf("contentType(%q) = %q, want %q", key, got, want)
		}
	}
}

// filesUnder lists the regular files below dir, "/"-separated and sorted.
func filesUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func diff(got, want []string) string {
	for i := 0; i < len(got) || i < len(want); i++ {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("at %d got %q want %q", i, g, w)
		}
	}
	return "none"
}

func parseURLForTest(s string) (*url.URL, error) { return url.Parse(s) }

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestMain shares one MinIO and one fake-gcs-server among the package's
// tests (internal/testenv), and stops them at the end.
func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
