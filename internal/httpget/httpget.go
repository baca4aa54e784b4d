// Package httpget fetches one HTTP resource into memory with a size limit.
// It is the one home of that rule for the pull recorder (archive) and
// repair: both fetch MPDs and segments from encoders' origins and must
// refuse a body over a limit before reading it all. It lives in internal
// because it is a helper of those two, not part of the archive's API.
package httpget

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// ErrTruncated is a body shorter than its Content-Length.
var ErrTruncated = errors.New("truncated body")

// StatusError is an answer other than 200 OK.
type StatusError struct {
	URL    string
	Code   int    // e.g. 404
	Status string // e.g. "404 Not Found"
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: %s", e.URL, e.Status) }

// NotFound reports a 404 or 410: the server does not have the resource (yet).
func (e *StatusError) NotFound() bool {
	return e.Code == http.StatusNotFound || e.Code == http.StatusGone
}

// TooLargeError is a body over the limit. Size is the announced
// Content-Length, or -1 when the body was cut while reading.
type TooLargeError struct {
	URL   string
	Limit int64
	Size  int64
}

func (e *TooLargeError) Error() string {
	if e.Size >= 0 {
		return fmt.Sprintf("GET %s: %d bytes is over the %d byte limit", e.URL, e.Size, e.Limit)
	}
	return fmt.Sprintf("GET %s: body over the %d byte limit", e.URL, e.Limit)
}

// transferError is a failure of the transfer itself (connection, reading,
// truncation), as against an answer the server gave.
type transferError struct{ error }

func (t transferError) Unwrap() error { return t.error }

// Retryable reports whether err is worth retrying: the transfer failed
// (network, a cut body) or the server answered 5xx or 429.
func Retryable(err error) bool {
	var t transferError
	if errors.As(err, &t) {
		return true
	}
	var se *StatusError
	return errors.As(err, &se) && (se.Code >= 500 || se.Code == http.StatusTooManyRequests)
}

// drainLimit is how much of an error answer is read so that the connection
// can be reused.
const drainLimit = 64 << 10

// Get fetches u with c and returns its body, at most limit bytes. Errors
// name the URL: a *StatusError for anything but 200 OK, a *TooLargeError
// for a body over limit, ErrTruncated for a short body.
func Get(ctx context.Context, c *http.Client, u string, limit int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "reaparchive")
	resp, err := c.Do(req)
	if err != nil {
		return nil, transferError{fmt.Errorf("GET %s: %w", u, unwrapURLError(err))}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, drainLimit))
		return nil, &StatusError{URL: u, Code: resp.StatusCode, Status: resp.Status}
	}
	return readBody(resp, u, limit)
}

// readBody reads resp's body, refusing one over limit or shorter than announced.
func readBody(resp *http.Response, u string, limit int64) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, &TooLargeError{URL: u, Limit: limit, Size: resp.ContentLength}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, transferError{fmt.Errorf("GET %s: reading body: %w", u, err)}
	}
	if int64(len(body)) > limit {
		return nil, &TooLargeError{URL: u, Limit: limit, Size: -1}
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, transferError{fmt.Errorf("GET %s: %w: %d of %d bytes", u, ErrTruncated, len(body), resp.ContentLength)}
	}
	return body, nil
}

// unwrapURLError drops url.Error's repetition of method and URL.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
