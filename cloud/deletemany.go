package cloud

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// Bulk deletes (DeleteMany).
const (
	// s3DeleteBatch is the most keys one S3 DeleteObjects request takes.
	s3DeleteBatch = 1000
	// s3DeleteRequests is how many DeleteObjects requests run at once.
	s3DeleteRequests = 4
	// deleteWorkers is how many single deletes run at once where there is
	// no bulk request (file stores, GCS, mem).
	deleteWorkers = 8
	// gcsDeleteWorkers is deleteWorkers for GCS, whose client library has
	// no batch delete: each delete is one request, so more run at once.
	gcsDeleteWorkers = 32
	// maxDeleteErrors is how many failures DeleteMany's error lists; it
	// counts the others.
	maxDeleteErrors = 10
)

// DeleteMany removes keys. A key that does not exist is not an error (a
// delete is idempotent, so an interrupted prune can simply run again).
// deleted counts the keys that are absent afterwards; on error some keys
// may have been deleted and others not.
//
// Every key is checked first: an invalid key deletes nothing. On S3 the
// keys go in DeleteObjects requests of up to 1,000 keys (a few at once),
// each retried as the store's other operations (RetryPolicy), and so are
// the keys the response reports as failed with a transient code
// (InternalError, SlowDown, ...). GCS, file and mem stores delete the keys
// one by one, several at once. After the first failure no new request
// starts; the error names the keys that failed (the first ten).
func (s *Store) DeleteMany(ctx context.Context, keys []string) (deleted int, err error) {
	if s.closed.Load() {
		return 0, fmt.Errorf("cloud: delete %d keys in %s: %w", len(keys), s.url, ErrClosed)
	}
	for _, k := range keys {
		if err := checkKey(k); err != nil {
			return 0, fmt.Errorf("cloud: delete %q in %s: invalid key (nothing deleted): %w", k, s.url, err)
		}
	}
	if len(keys) == 0 {
		return 0, nil
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("cloud: delete %d keys in %s: %w", len(keys), s.url, err)
	}
	var c *s3.Client
	if s.s3Bucket != "" && s.bucket.As(&c) {
		return s.deleteS3(ctx, c, keys)
	}
	workers := deleteWorkers
	if s.gcs {
		workers = gcsDeleteWorkers
	}
	return s.deleteEach(ctx, keys, workers)
}

// deleteTally adds up what the parts of a DeleteMany did.
type deleteTally struct {
	mu      sync.Mutex
	deleted int
	errs    []error
	more    int // failures not in errs
}

// add counts n deleted keys and the errors; it reports whether the
// DeleteMany goes on (no error so far).
func (t *deleteTally) add(n int, errs ...error) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.deleted += n
	for _, err := range errs {
		if len(t.errs) < maxDeleteErrors {
			t.errs = append(t.errs, err)
		} else {
			t.more++
		}
	}
	return len(t.errs) == 0
}

// ok reports whether nothing failed so far.
func (t *deleteTally) ok() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.errs) == 0
}

// result is what DeleteMany returns.
func (t *deleteTally) result(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil && len(t.errs) == 0 {
		t.errs = append(t.errs, err)
	}
	if t.more > 0 {
		t.errs = append(t.errs, fmt.Errorf("and %d more failures", t.more))
	}
	return t.deleted, errors.Join(t.errs...)
}

// deleteEach deletes the keys one request each, workers at once.
func (s *Store) deleteEach(ctx context.Context, keys []string, workers int) (int, error) {
	var t deleteTally
	var g errgroup.Group
	g.SetLimit(workers)
	for _, k := range keys {
		if ctx.Err() != nil || !t.ok() {
			break
		}
		g.Go(func() error {
			err := s.Delete(ctx, k)
			if err == nil || errors.Is(err, ErrNotFound) {
				t.add(1)
			} else {
				t.add(0, err)
			}
			return nil
		})
	}
	_ = g.Wait()
	return t.result(ctx)
}

// deleteS3 deletes the keys in DeleteObjects requests of up to
// s3DeleteBatch keys, s3DeleteRequests at once.
func (s *Store) deleteS3(ctx context.Context, c *s3.Client, keys []string) (int, error) {
	var t deleteTally
	var g errgroup.Group
	g.SetLimit(s3DeleteRequests)
	for start := 0; start < len(keys); start += s3DeleteBatch {
		if ctx.Err() != nil || !t.ok() {
			break
		}
		batch := keys[start:min(start+s3DeleteBatch, len(keys))]
		g.Go(func() error {
			n, errs := s.deleteS3Batch(ctx, c, batch)
			t.add(n, errs...)
			return nil
		})
	}
	_ = g.Wait()
	return t.result(ctx)
}

// deleteS3Batch deletes up to s3DeleteBatch keys with DeleteObjects,
// retrying the request, and the keys it reports as failed transiently,
// within the store's retry policy. It returns how many keys are gone and
// an error for each of the others.
func (s *Store) deleteS3Batch(ctx context.Context, c *s3.Client, batch []string) (int, []error) {
	pending := batch
	var failed []error // for good
	deleted := 0
	err := s.do(ctx, "delete", func(ctx context.Context, _ bool) error {
		out, err := c.DeleteObjects(ctx, s.deleteObjectsInput(pending))
		if err != nil {
			return err // the whole request: every pending key again
		}
		var again []string
		var last error
		for _, e := range out.Errors {
			key := strings.TrimPrefix(aws.ToString(e.Key), s.keyPrefix)
			kerr := &KeyError{Key: key, Code: aws.ToString(e.Code), Message: aws.ToString(e.Message)}
			if kerr.transient() {
				again, last = append(again, key), kerr
				continue
			}
			failed = append(failed, s.wrap("delete", key, kerr))
		}
		deleted += len(pending) - len(out.Errors)
		pending = again
		if len(again) > 0 {
			return fmt.Errorf("%d of the keys failed transiently, e.g. %w", len(again), last)
		}
		return nil
	})
	if err != nil {
		failed = append(failed, fmt.Errorf("cloud: delete %d keys (%q first) in %s: %w", len(pending), pending[0], s.url, err))
	}
	return deleted, failed
}

// deleteObjectsInput is the DeleteObjects request for keys, in quiet mode
// (the response lists only the keys that failed).
func (s *Store) deleteObjectsInput(keys []string) *s3.DeleteObjectsInput {
	ids := make([]s3types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		// No escaping: s3blob escapes only control characters and "../",
		// which checkKey refuses.
		ids[i] = s3types.ObjectIdentifier{Key: aws.String(s.keyPrefix + k)}
	}
	return &s3.DeleteObjectsInput{
		Bucket: aws.String(s.s3Bucket),
		Delete: &s3types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	}
}

// KeyError is a key that an S3 DeleteObjects response reports as not
// deleted, with S3's error code and message.
type KeyError struct {
	Key, Code, Message string
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// transient reports whether S3's code says the delete may succeed when
// tried again.
func (e *KeyError) transient() bool {
	switch e.Code {
	case "InternalError", "SlowDown", "ServiceUnavailable", "RequestTimeout", "OperationAborted":
		return true
	}
	return false
}
