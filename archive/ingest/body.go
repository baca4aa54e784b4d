package ingest

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// bodyReader reads a request body and enforces a minimum data rate: in every
// window of idle duration at least minBytes must arrive, or the read
// deadline of the connection (set through http.ResponseController) expires
// and Read fails. A client that stalls, or trickles a byte a second
// (slow-loris), is cut off after one window.
type bodyReader struct {
	r        io.Reader
	rc       *http.ResponseController
	idle     time.Duration
	minBytes int64
	winBytes int64
	n        int64
	onRead   func(n int)
	buf      *reservation // the bytes of Options.MaxBuffer the request's buffers hold
	halt     atomic.Bool  // set by a drain: Read fails with errDrained
	eof      bool         // Read returned io.EOF
	failed   bool         // Read returned another error (a deadline, a broken connection)
}

// lingerTimeout bounds how long linger reads what is left of a refused body.
const lingerTimeout = 5 * time.Second

func newBodyReader(w http.ResponseWriter, r *http.Request, idle time.Duration, minRate int64, onRead func(int)) *bodyReader {
	minBytes := int64(float64(minRate) * idle.Seconds())
	if minBytes < 1 {
		minBytes = 1
	}
	b := &bodyReader{r: r.Body, rc: http.NewResponseController(w), idle: idle, minBytes: minBytes, onRead: onRead}
	b.winBytes = b.minBytes // the first Read opens a window
	return b
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.halt.Load() {
		return 0, errDrained
	}
	if b.idle > 0 && b.winBytes >= b.minBytes {
		b.winBytes = 0
		if err := b.rc.SetReadDeadline(time.Now().Add(b.idle)); err != nil {
			b.idle = 0 // not supported by this ResponseWriter (e.g. a test recorder)
		}
	}
	n, err := b.r.Read(p)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil:
		b.failed = true
	}
	b.winBytes += int64(n)
	b.n += int64(n)
	if n > 0 && b.onRead != nil {
		b.onRead(n)
	}
	return n, err
}

// linger sends the answer already written, then reads and discards what
// is left of a body the handler stopped reading (at most limit bytes, for at
// most lingerTimeout): closing a connection with unread bytes resets it, and
// a reset while the client is still sending makes its TCP stack drop our
// answer unread (a "lingering close", RFC 9112 section 9.6). net/http lingers
// by itself only for bodies without Expect: 100-continue (go1.26
// closedRequestBodyEarly does not see through its expectContinueReader).
// A body never read (the client may still wait for 100 Continue), read to
// its end, or that failed (slow, broken) is left alone.
func (b *bodyReader) linger(limit int64) {
	if b.n == 0 || b.eof || b.failed || b.halt.Load() {
		return
	}
	if err := b.rc.Flush(); err != nil {
		return
	}
	_ = b.rc.SetReadDeadline(time.Now().Add(lingerTimeout))
	_, _ = io.CopyN(io.Discard, b.r, limit)
}

// isTimeout reports whether err is a read deadline expiring.
func isTimeout(err error) bool {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isTooLarge reports whether err says a body went over a size limit.
func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.Is(err, errTooLarge) || errors.As(err, &mbe)
}
