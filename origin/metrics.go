package origin

import (
	"bytes"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the origin's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec   // by kind and code
	latency  *prometheus.HistogramVec // by kind
	bytes    *prometheus.CounterVec   // response body bytes by kind
	cache    *prometheus.CounterVec   // manifest cache hits and misses
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reaparchive_origin_requests_total",
			Help: "HTTP requests answered, by kind (manifest, object, other) and status code."}, []string{"kind", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "reaparchive_origin_request_duration_seconds",
			Help:    "Time to answer a request, by kind.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"kind"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reaparchive_origin_response_bytes_total",
			Help: "Response body bytes sent, by kind."}, []string{"kind"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reaparchive_origin_manifest_cache_total",
			Help: "Manifests answered from the per-second cache (hit) or built on request (miss), and built ahead (prebuilt)."}, []string{"result"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.bytes, m.cache)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// cached counts a manifest answered from the cache (hit) or built.
func (m *metrics) cached(hit bool) {
	r := "miss"
	if hit {
		r = "hit"
	}
	m.cache.WithLabelValues(r).Inc()
}

// prebuilt counts a manifest built ahead (Prebuild).
func (m *metrics) prebuilt() { m.cache.WithLabelValues("prebuilt").Inc() }

// serve runs h, counting the request, its time and its bytes.
func (m *metrics) serve(h http.Handler, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	cw := &countingWriter{ResponseWriter: w, code: http.StatusOK}
	h.ServeHTTP(cw, r)
	k := requestKind(r.URL.Path)
	m.requests.WithLabelValues(k, strconv.Itoa(cw.code)).Inc()
	m.latency.WithLabelValues(k).Observe(time.Since(start).Seconds())
	m.bytes.WithLabelValues(k).Add(float64(cw.n))
}

// requestKind sorts a path: /<channel>/<name> is a manifest,
// /<channel>/<rep>/... an object.
func requestKind(p string) string {
	switch strings.Count(strings.Trim(p, "/"), "/") {
	case 0:
		return "other"
	case 1:
		return "manifest"
	}
	return "object"
}

// countingWriter notes the status code and counts the body bytes.
type countingWriter struct {
	http.ResponseWriter
	code int
	n    int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.code = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

// ReadFrom copies a body to the connection the cheapest way, counting it.
// http.ServeContent hands over its body as an io.LimitedReader; without
// this method io.Copy made a buffer per response and copied through it
// (the largest garbage of a manifest request, so more collections under
// load) and a segment from a file store got no sendfile(2):
//   - the whole of an in-memory body (a manifest): written at once, no
//     buffer;
//   - else the connection's own io.ReaderFrom (net/http's: sendfile for a
//     file, its buffers otherwise).
func (c *countingWriter) ReadFrom(src io.Reader) (int64, error) {
	var n int64
	var err error
	if lr, ok := src.(*io.LimitedReader); ok && wholeBytes(lr) {
		n, err = lr.R.(*bytes.Reader).WriteTo(struct{ io.Writer }{c.ResponseWriter})
		lr.N -= n
	} else if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(struct{ io.Writer }{c.ResponseWriter}, src)
	}
	c.n += n
	return n, err
}

// wholeBytes reports whether lr limits a bytes.Reader to all it has left.
func wholeBytes(lr *io.LimitedReader) bool {
	br, ok := lr.R.(*bytes.Reader)
	return ok && int64(br.Len()) == lr.N
}

// Unwrap lets http.ResponseController reach the connection's writer.
func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
