package cloud

import (
	"context"
	"errors"
	"io"
	"time"

	"gocloud.dev/blob"
)

// ErrCannotSign is the error of SignedURL on a store that cannot presign
// URLs (a file or in-memory store).
var ErrCannotSign = errors.New("store cannot presign URLs (only s3:// and gs:// can)")

// CanSign reports whether SignedURL can presign URLs for this store.
func (s *Store) CanSign() bool { return s.dir == "" && !s.isMem() }

func (s *Store) isMem() bool { return len(s.url) >= 6 && s.url[:6] == "mem://" }

// SignedURL returns a presigned GET URL of the object, valid for expiry
// (an origin redirects players to it).
func (s *Store) SignedURL(ctx context.Context, key string, expiry time.Duration) (string, error) {
	if !s.CanSign() {
		return "", ErrCannotSign
	}
	if err := s.begin("signedurl", key); err != nil {
		return "", err
	}
	u, err := s.bucket.SignedURL(ctx, key, &blob.SignedURLOptions{Expiry: expiry, Method: "GET"})
	if err != nil {
		return "", s.wrap("signedurl", key, err)
	}
	return u, nil
}

// OpenReader opens the object for reading: a seekable reader (an origin
// serves ranges of it) that the caller closes, and its size. The error
// wraps ErrNotFound if it does not exist.
func (s *Store) OpenReader(ctx context.Context, key string) (io.ReadSeekCloser, int64, error) {
	if err := s.begin("get", key); err != nil {
		return nil, 0, err
	}
	r, err := s.newReader(ctx, key)
	if err != nil {
		return nil, 0, s.wrap("get", key, err)
	}
	return r, r.Size(), nil
}
