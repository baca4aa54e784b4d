package cloud

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestCreateStream: a streamed Create writes the same file and user.reap
// xattr as Create of the same bytes and attributes, with meta asked for
// after every byte is written; a body that ends early or fails, or meta
// that fails, leaves no object and no temporary file; a taken key is
// ErrExists; a store that keeps sidecars refuses streamed writes.
func TestCreateStream(t *testing.T) {
	t.Parallel()
	head := []byte("head-bytes")
	body := bytes.Repeat([]byte("0123456789abcdef"), 3*StreamChunk/16+5) // several chunks and a tail
	meta := map[string]string{"reap-sha256": "abc", "reap-k": "7"}
	broken := errors.New("connection reset")
	cases := []struct {
		name    string
		body    func() io.Reader
		size    int64
		metaErr error
		taken   bool
		sidecar bool
		wantErr error // nil: stored
	}{
		{name: "stored", body: func() io.Reader { return bytes.NewReader(body) }, size: int64(len(body))},
		{name: "body ends early", body: func() io.Reader { return bytes.NewReader(body[:len(body)-1]) }, size: int64(len(body)), wantErr: io.ErrUnexpectedEOF},
		{name: "body fails", body: func() io.Reader { return io.MultiReader(bytes.NewReader(body[:StreamChunk+3]), errReader{broken}) }, size: int64(len(body)), wantErr: broken},
		{name: "meta fails", body: func() io.Reader { return bytes.NewReader(body) }, size: int64(len(body)), metaErr: broken, wantErr: broken},
		{name: "taken", body: func() io.Reader { return bytes.NewReader(body) }, size: int64(len(body)), taken: true, wantErr: ErrExists},
		{name: "sidecar store", body: func() io.Reader { return bytes.NewReader(body) }, size: int64(len(body)), sidecar: true, wantErr: errors.ErrUnsupported},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openBackend(t, tc.sidecar, fileStoreURL(t))
			if s.CanCreateStream() == tc.sidecar {
				t.Fatalf("CanCreateStream() = %v on a store that keeps sidecars: %v", s.CanCreateStream(), tc.sidecar)
			}
			const key = "news/v/1.m4s"
			if tc.taken {
				if err := s.Create(ctx, key, []byte("other"), nil); err != nil {
					t.Fatal(err)
				}
			}
			written := false
			err := s.CreateStream(ctx, key, head, tc.body(), tc.size, func() (map[string]string, error) {
				written = true
				return meta, tc.metaErr
			})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("CreateStream: %v; want an error wrapping %v", err, tc.wantErr)
				}
				checkNoTemp(t, s)
				if !tc.taken {
					if ok, _ := s.Exists(ctx, key); ok {
						t.Fatal("a failed streamed write left an object")
					}
				}
				return
			}
			if err != nil || !written {
				t.Fatalf("CreateStream: %v (meta asked: %v)", err, written)
			}
			checkSameAsCreate(t, s, key, append(append([]byte{}, head...), body...), meta)
		})
	}
}

// errReader fails every Read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// checkNoTemp fails t if s holds a temporary file.
func checkNoTemp(t *testing.T, s *Store) {
	t.Helper()
	tmp, err := s.TempFiles(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tmp) > 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
}

// checkSameAsCreate checks that key holds data with meta, byte for byte
// the file and user.reap xattr that Create writes for them.
func checkSameAsCreate(t *testing.T, s *Store, key string, data []byte, meta map[string]string) {
	t.Helper()
	ctx := context.Background()
	if err := s.Create(ctx, "ref/"+key, data, meta); err != nil {
		t.Fatal(err)
	}
	dir, _ := s.LocalDir()
	for _, what := range []func(p string) ([]byte, error){os.ReadFile, func(p string) ([]byte, error) {
		return readXattr(func(b []byte) (int, error) { return sysXattrs.get(p, xattrMetaName, b) })
	}} {
		got, err := what(filepath.Join(dir, key))
		if err != nil {
			t.Fatal(err)
		}
		want, err := what(filepath.Join(dir, "ref", key))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("streamed object differs from Create's: %d bytes %.40q, want %d bytes %.40q", len(got), got, len(want), want)
		}
	}
	checkNoTemp(t, s)
}
