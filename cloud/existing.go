package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
)

// ErrInvalidURL is wrapped by Open's errors about the URL itself (syntax,
// scheme, parameters, path), as opposed to failures of the backend.
var ErrInvalidURL = errors.New("invalid store URL")

// ErrNoStore is wrapped by OpenExisting when the store does not exist.
var ErrNoStore = errors.New("store does not exist")

// urlError is an error about the URL: its text, and errors.Is ErrInvalidURL.
type urlError struct{ err error }

func (e urlError) Error() string        { return e.err.Error() }
func (e urlError) Unwrap() error        { return e.err }
func (e urlError) Is(target error) bool { return target == ErrInvalidURL }

// invalidURL marks err (non-nil) as an error about the URL.
func invalidURL(err error) error {
	if err == nil || errors.Is(err, ErrInvalidURL) {
		return err
	}
	return urlError{err}
}

// OpenExisting is Open for readers: it refuses a store that does not exist
// instead of creating it. A file store's directory must exist; an S3 or GCS
// bucket must be accessible (one request).
func OpenExisting(ctx context.Context, rawURL string) (*Store, error) {
	if u, err := url.Parse(rawURL); err == nil && strings.EqualFold(u.Scheme, "file") {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		root, err := resolveFileDir(u, wd)
		if err != nil {
			return nil, invalidURL(fmt.Errorf("cloud: open: %w", err))
		}
		if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("cloud: %s: %w: no directory %s", fileURL(root, nil), ErrNoStore, root)
		}
	}
	s, err := Open(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	if s.dir == "" && !strings.HasPrefix(s.url, "mem:") {
		ok, err := s.bucket.IsAccessible(ctx)
		if err != nil || !ok {
			s.Close()
			if err == nil {
				err = errors.New("bucket not found or not accessible")
			}
			return nil, fmt.Errorf("cloud: %s: %w: %w", s.url, ErrNoStore, err)
		}
	}
	return s, nil
}
