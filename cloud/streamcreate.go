package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// StreamChunk is the most bytes of a streamed body CreateStream holds in
// memory at once: it reads the body in chunks of this size and writes
// each while it is fresh in the cache.
const StreamChunk = 128 << 10

// CanCreateStream reports whether the store takes objects as streams
// (CreateStream): file stores that keep attributes in xattrs, whose
// attributes are set after the bytes are written. Other stores (S3, GCS,
// sidecar file stores, mem://) take an object's bytes whole (Create).
func (s *Store) CanCreateStream() bool { return s.xattrMeta }

// CreateStream is Create for an object whose bytes arrive while it is
// written: head, then exactly size bytes read from body, at most
// StreamChunk bytes at a time. Once every byte is written it calls meta
// for the object's attributes (a hash of the bytes, say, known only
// then), sets them, makes the object durable and renames it into place,
// create-only, as Create does. If body fails or ends early, or meta fails,
// the write is abandoned and nothing is left behind; the error wraps
// body's or meta's. It is not retried (body is read once), and works only
// where CanCreateStream (otherwise errors.ErrUnsupported).
func (s *Store) CreateStream(ctx context.Context, key string, head []byte, body io.Reader, size int64, meta func() (map[string]string, error)) error {
	const op = "create"
	if err := s.begin(op, key); err != nil {
		return err
	}
	if !s.xattrMeta {
		return s.wrap(op, key, fmt.Errorf("streamed writes: %w", errors.ErrUnsupported))
	}
	if err := ctx.Err(); err != nil {
		return s.wrap(op, key, err)
	}
	if f := s.testFault; f != nil {
		if err := f(op); err != nil {
			return s.wrap(op, key, err)
		}
	}
	return s.writeTempFile(ctx, op, key, true, func(f *os.File) error {
		if _, err := f.Write(head); err != nil {
			return err
		}
		if err := s.copyChunks(f, body, size); err != nil {
			return err
		}
		m, err := meta()
		if err != nil {
			return err
		}
		if err := checkMeta(m); err != nil {
			return err
		}
		return s.finishTempFile(f, m)
	})
}

// copyChunks copies exactly size bytes from body to f, a chunk at a time
// (in a chunk buffer the store keeps for the next write).
func (s *Store) copyChunks(f *os.File, body io.Reader, size int64) error {
	bp, _ := s.chunks.Get().(*[]byte)
	if bp == nil {
		b := make([]byte, StreamChunk)
		bp = &b
	}
	defer s.chunks.Put(bp)
	buf := *bp
	for left := size; left > 0; {
		n, err := io.ReadFull(body, buf[:min(int64(len(buf)), left)])
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("reading the object's bytes: %d of %d read: %w", size-left+int64(n), size, err)
		}
		if _, err := f.Write(buf[:n]); err != nil {
			return err
		}
		left -= int64(n)
	}
	return nil
}
