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
	halt     atomic.Bool // set by a drain: Read fails with errDrained
}

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
	b.winBytes += int64(n)
	b.n += int64(n)
	if n > 0 && b.onRead != nil {
		b.onRead(n)
	}
	return n, err
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
