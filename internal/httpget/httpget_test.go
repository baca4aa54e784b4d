package httpget

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestGet(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			_, _ = w.Write([]byte("0123456789"))
		case "/large":
			_, _ = w.Write([]byte(strings.Repeat("x", 100)))
		case "/chunked": // no Content-Length: cut while reading
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(strings.Repeat("x", 100)))
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		case "/busy":
			http.Error(w, "busy", http.StatusServiceUnavailable)
		case "/forbidden":
			http.Error(w, "no", http.StatusForbidden)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}
	}))
	defer srv.Close()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()

	tests := []struct {
		name      string
		ctx       context.Context
		path      string
		limit     int64
		want      string
		errSubstr string
		check     func(error) bool
		retryable bool
	}{
		{name: "ok", path: "/ok", limit: 10, want: "0123456789"},
		{name: "too large by Content-Length", path: "/large", limit: 10,
			errSubstr: "/large: 100 bytes is over the 10 byte limit",
			check:     func(err error) bool { var e *TooLargeError; return errors.As(err, &e) && e.Limit == 10 }},
		{name: "too large while reading", path: "/chunked", limit: 10,
			errSubstr: "/chunked: body over the 10 byte limit",
			check:     func(err error) bool { var e *TooLargeError; return errors.As(err, &e) && e.Size == -1 }},
		{name: "not found", path: "/gone", limit: 10, errSubstr: "/gone: 410 Gone",
			check: func(err error) bool { var e *StatusError; return errors.As(err, &e) && e.NotFound() }},
		{name: "server busy", path: "/busy", limit: 10, errSubstr: "/busy: 503 Service Unavailable", retryable: true,
			check: func(err error) bool { var e *StatusError; return errors.As(err, &e) && !e.NotFound() }},
		{name: "forbidden", path: "/forbidden", limit: 10, errSubstr: "/forbidden: 403 Forbidden",
			check: func(err error) bool { var e *StatusError; return errors.As(err, &e) && e.Code == 403 }},
		{name: "context cancelled", ctx: cancelled, path: "/slow", limit: 10, errSubstr: "context canceled", retryable: true,
			check: func(err error) bool { return errors.Is(err, context.Canceled) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			body, err := Get(ctx, srv.Client(), srv.URL+tc.path, tc.limit)
			if tc.errSubstr == "" {
				if err != nil || string(body) != tc.want {
					t.Fatalf("got %q, %v; want %q", body, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error with %q", body, tc.errSubstr)
			}
			if !strings.Contains(err.Error(), tc.errSubstr) || !strings.Contains(err.Error(), "GET "+srv.URL+tc.path) {
				t.Errorf("error %q: want the URL and %q", err, tc.errSubstr)
			}
			if tc.check != nil && !tc.check(err) {
				t.Errorf("error %q (%T) is not of the expected kind", err, err)
			}
			if got := Retryable(err); got != tc.retryable {
				t.Errorf("Retryable(%q) = %v, want %v", err, got, tc.retryable)
			}
		})
	}
}

func TestShortBodyIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "20")
		_, _ = w.Write([]byte("0123456789"))
	}))
	defer srv.Close()
	_, err := Get(context.Background(), srv.Client(), srv.URL, 100)
	// net/http itself reports the short body as an unexpected EOF.
	if err == nil || !Retryable(err) {
		t.Fatalf("got %v, want a retryable error", err)
	}
}
