package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/api/googleapi"
)

var fastRetry = RetryPolicy{Initial: time.Millisecond, Max: 4 * time.Millisecond, Budget: 200 * time.Millisecond, AttemptTimeout: time.Second}

func memStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), "mem://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.SetRetry(fastRetry)
	return s
}

// failN makes the first n attempts of op fail transiently.
func failN(op string, n int64) (func(string) error, *atomic.Int64) {
	var calls atomic.Int64
	return func(o string) error {
		if o != op {
			return nil
		}
		if calls.Add(1) <= n {
			return fmt.Errorf("injected: %w", errTransientTest)
		}
		return nil
	}, &calls
}

func TestRetryTransientThenSuccess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memStore(t)
	for _, op := range []string{"create", "get", "attributes", "list", "delete"} {
		f, calls := failN(op, 2)
		s.testFault = f
		var err error
		switch op {
		case "create":
			err = s.Create(ctx, "a/b", []byte("x"), nil)
		case "get":
			_, err = s.Get(ctx, "a/b")
		case "attributes":
			_, err = s.Attributes(ctx, "a/b")
		case "list":
			err = s.List(ctx, "", func(Attrs) error { return nil })
		case "delete":
			err = s.Delete(ctx, "a/b")
		}
		if err != nil {
			t.Errorf("%s after 2 transient failures: %v", op, err)
		}
		if n := calls.Load(); n != 3 {
			t.Errorf("%s: %d attempts; want 3", op, n)
		}
	}
	if got := s.Retries(); got != 10 {
		t.Errorf("Retries() = %d; want 10", got)
	}
}

func TestRetryGivesUpAfterBudget(t *testing.T) {
	t.Parallel()
	s := memStore(t)
	s.testFault = func(string) error { return errTransientTest }
	start := time.Now()
	err := s.Create(context.Background(), "k", []byte("x"), nil)
	if err == nil || !IsTransient(err) {
		t.Fatalf("Create against an unreachable store: %v; want a transient error", err)
	}
	if d := time.Since(start); d > fastRetry.Budget+100*time.Millisecond {
		t.Errorf("gave up after %v; budget %v", d, fastRetry.Budget)
	}
	if s.Retries() < 3 {
		t.Errorf("only %d retries", s.Retries())
	}
}

func TestRetryNeverOnExistsOrNotFound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := memStore(t)
	if err := s.Create(ctx, "k", []byte("x"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Create(ctx, "k", []byte("x"), nil); !errors.Is(err, ErrExists) {
		t.Fatalf("second Create: %v; want ErrExists", err)
	}
	if _, err := s.Get(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get missing: %v", err)
	}
	if n := s.Retries(); n != 0 {
		t.Errorf("%d retries; want none", n)
	}
}

// TestRetryCreateAmbiguous: an attempt whose write happened but whose
// answer was lost is followed by one that finds the object: that is our
// write (same reap-sha256), not a lost race; a different object is.
func TestRetryCreateAmbiguous(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tc := range []struct {
		name      string
		otherSHA  string // "" : the lost attempt wrote our object
		otherData string
		meta      map[string]string
		wantErr   error
	}{
		{name: "ours by sha", meta: map[string]string{"reap-sha256": "aa"}},
		{name: "ours by bytes"},
		{name: "theirs by sha", otherSHA: "bb", meta: map[string]string{"reap-sha256": "aa"}, wantErr: ErrExists},
		{name: "theirs by bytes", otherData: "y", wantErr: ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := memStore(t)
			var n atomic.Int64
			s.testFault = func(op string) error {
				if op != "create" || n.Add(1) > 1 {
					return nil
				}
				meta, data := tc.meta, "x"
				if tc.otherSHA != "" {
					meta = map[string]string{"reap-sha256": tc.otherSHA}
				}
				if tc.otherData != "" {
					data = tc.otherData
				}
				if err := s.bucket.WriteAll(ctx, "k", []byte(data), nil); err != nil {
					t.Fatal(err)
				}
				if meta != nil {
					if err := s.bucket.Delete(ctx, "k"); err != nil {
						t.Fatal(err)
					}
					if err := s.write1(ctx, "put", "k", []byte(data), meta, false); err != nil {
						t.Fatal(err)
					}
				}
				return errTransientTest
			}
			err := s.Create(ctx, "k", []byte("x"), tc.meta)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("Create: %v; want %v", err, tc.wantErr)
			}
		})
	}
}

func TestIsTransient(t *testing.T) {
	t.Parallel()
	s3err := func(code int) error {
		return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("x")}
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errTransientTest, true},
		{context.DeadlineExceeded, true},
		{context.Canceled, false},
		{s3err(503), true},
		{s3err(500), true},
		{s3err(429), true},
		{s3err(404), false},
		{s3err(403), false},
		{s3err(412), false},
		{&googleapi.Error{Code: 429}, true},
		{&googleapi.Error{Code: 502}, true},
		{&googleapi.Error{Code: 412}, false},
		{&googleapi.Error{Code: 400}, false},
		{fmt.Errorf("x: %w", ErrExists), false},
		{fmt.Errorf("x: %w", ErrNotFound), false},
		{errors.New("plain"), false},
	} {
		if got := IsTransient(tc.err); got != tc.want {
			t.Errorf("IsTransient(%v) = %v; want %v", tc.err, got, tc.want)
		}
	}
}

func TestListCalls(t *testing.T) {
	t.Parallel()
	s := memStore(t)
	_ = s.List(context.Background(), "", func(Attrs) error { return nil })
	_ = s.ListDir(context.Background(), "", func(Attrs) error { return nil })
	if n := s.ListCalls(); n != 2 {
		t.Errorf("ListCalls() = %d; want 2", n)
	}
}

// TestRetryUnreachableS3: a store whose server is not there fails with a
// transient error after the retry budget, on the real S3 and GCS clients.
func TestRetryUnreachable(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, u := range []string{
		"s3://b?anonymous=true&region=us-east-1&use_path_style=true&endpoint=http://" + addr,
		"gs://b?endpoint=http://" + addr,
	} {
		s, err := Open(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.SetRetry(RetryPolicy{Initial: 10 * time.Millisecond, Max: 50 * time.Millisecond, Budget: 300 * time.Millisecond, AttemptTimeout: 5 * time.Second})
		start := time.Now()
		err = s.Create(context.Background(), "k", []byte("x"), nil)
		if !IsTransient(err) {
			t.Errorf("%s: Create: %v; want a transient error", u, err)
		}
		if s.Retries() == 0 {
			t.Errorf("%s: no retries", u)
		}
		t.Logf("%s: gave up after %v, %d retries: %v", u, time.Since(start).Round(time.Millisecond), s.Retries(), err)
	}
}
