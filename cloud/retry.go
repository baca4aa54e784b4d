package cloud

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"
	"gocloud.dev/gcerrors"
	"google.golang.org/api/googleapi"
)

// RetryPolicy says how a Store retries operations that fail transiently
// (network errors, timeouts, HTTP 5xx, 408 and 429/503 "slow down"):
// attempts are spaced by exponential backoff with full jitter, from Initial
// up to Max, until Budget has passed since the operation began. Failures
// that retrying cannot fix (not found, already exists, a failed
// precondition, other 4xx, a cancelled context) are returned at once.
//
// s3:// and gs:// stores retry with DefaultRetry; file:// and mem:// stores
// do not retry (a local disk error is not transient).
type RetryPolicy struct {
	Initial time.Duration // first backoff
	Max     time.Duration // largest backoff
	Budget  time.Duration // no new attempt starts this long after the first; 0: no retries
	// AttemptTimeout bounds one attempt (a server that accepts connections
	// but does not answer); 0: none.
	AttemptTimeout time.Duration
}

// DefaultRetry is the retry policy of s3:// and gs:// stores: about 10 s of
// retries per operation, each attempt bounded to 30 s.
var DefaultRetry = RetryPolicy{Initial: 100 * time.Millisecond, Max: 2 * time.Second, Budget: 10 * time.Second, AttemptTimeout: 30 * time.Second}

// SetRetry replaces the store's retry policy; set it before using the store.
func (s *Store) SetRetry(p RetryPolicy) { s.retry = p }

// Retry returns the store's retry policy.
func (s *Store) Retry() RetryPolicy { return s.retry }

// ListCalls returns how many List and ListDir calls the store has served
// (each may have fetched several pages). Tests use it to check that an
// operation does not list the bucket.
func (s *Store) ListCalls() int64 { return s.listCalls.Load() }

// IsTransient reports whether err is a failure that may go away on its own
// (the store unreachable or overloaded, a timeout), as opposed to one about
// the object or the request (not found, exists, precondition, other 4xx).
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, ErrExists) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrClosed) ||
		errors.Is(err, context.Canceled) {
		return false
	}
	if isPrecondition(err) {
		return false
	}
	var kerr *KeyError // a key a DeleteObjects response reports as failed
	if errors.As(err, &kerr) {
		return kerr.transient()
	}
	retryableStatus := func(code int) bool {
		return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	}
	var herr *smithyhttp.ResponseError                       // S3
	if errors.As(err, &herr) && herr.HTTPStatusCode() != 0 { // 0: no response (network error, below)
		return retryableStatus(herr.HTTPStatusCode())
	}
	var gerr *googleapi.Error // GCS
	if errors.As(err, &gerr) {
		return retryableStatus(gerr.Code)
	}
	switch gcerrors.Code(err) {
	case gcerrors.NotFound, gcerrors.AlreadyExists, gcerrors.InvalidArgument, gcerrors.PermissionDenied,
		gcerrors.Unimplemented, gcerrors.FailedPrecondition, gcerrors.Canceled:
		return false
	case gcerrors.ResourceExhausted, gcerrors.Internal, gcerrors.DeadlineExceeded:
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ETIMEDOUT) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var nerr net.Error
	return errors.As(err, &nerr)
}

// errTransientTest marks a fault injected by tests (testFault).
var errTransientTest = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

// do runs attempt until it succeeds, fails for good, ctx ends or the
// retry budget is spent. retried tells attempt whether an earlier attempt
// failed transiently (its effect, e.g. a write, may still have happened).
func (s *Store) do(ctx context.Context, op string, attempt func(ctx context.Context, retried bool) error) error {
	p := s.retry
	start := time.Now()
	backoff := p.Initial
	retried := false
	for {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if p.AttemptTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, p.AttemptTimeout)
		}
		var err error
		if f := s.testFault; f != nil {
			err = f(op)
		}
		if err == nil {
			err = attempt(actx, retried)
		}
		cancel()
		if err == nil || p.Budget <= 0 || ctx.Err() != nil || !IsTransient(err) {
			return err
		}
		retried = true
		s.retries.Add(1)
		// Full jitter: a random wait in [backoff/2, backoff].
		wait := backoff/2 + rand.N(backoff/2+1)
		if time.Since(start)+wait > p.Budget {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		backoff = min(backoff*2, p.Max)
	}
}

// Retries returns how many times the store has retried an operation.
func (s *Store) Retries() int64 { return s.retries.Load() }

// ours reports whether the object at key (found existing by a retried
// Create) is the one an earlier, seemingly failed attempt of this Create
// wrote: its reap-sha256 attribute equals ours or, lacking one, its bytes
// equal data.
func (s *Store) ours(ctx context.Context, key string, data []byte, meta map[string]string) bool {
	a, err := s.attributes(ctx, key)
	if err != nil {
		return false
	}
	if want := meta["reap-sha256"]; want != "" {
		for k, v := range a.Meta {
			if strings.EqualFold(k, "reap-sha256") && v == want {
				return a.Size == int64(len(data))
			}
		}
		return false
	}
	if a.Size != int64(len(data)) {
		return false
	}
	r, err := s.bucket.NewReader(ctx, key, nil)
	if err != nil {
		return false
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	return err == nil && bytes.Equal(got, data)
}
