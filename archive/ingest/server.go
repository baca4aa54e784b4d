// Package ingest is the push receiver of the archive: it accepts DASH-IF
// Live Media Ingest Interface 1 (CMAF ingest) uploads over HTTP — per-segment
// PUT/POST, long-running chunked Streams(<rep>.<ext>) requests and I-MPDs —
// and hands every init segment, I-MPD and media segment to the archive's
// one door for recording (archive.Channel: OfferInit, OfferMPD,
// OfferSegment), answering 2xx only once a segment is durable in the store
// and the index. It touches neither the store nor the index itself.
//
// Endpoints (see Server.Handler):
//
//	PUT|POST /ingest/<channel>/<source>/<rep>/<name>.<ext>   one CMAF header or one media segment
//	PUT|POST /ingest/<channel>/<source>/Streams(<rep>.<ext>) header and segments back to back
//	PUT|POST /ingest/<channel>/<source>/<name>.mpd           the encoder's I-MPD
//	GET      /healthz                                        200 "ok", 503 while draining
//	GET      /metrics                                        Prometheus metrics
//
// Whether a body is an init or a media segment, and which epoch index K a
// segment has, always comes from the bytes (moov vs moof, tfdt/EPT), never
// from the URL.
//
// Splitting a stream: a moof begins a new segment when (a) a styp precedes
// it, (b) its decode time does not continue the pending segment, (c) the
// channel's segment duration D is known, its first sample is a sync sample
// and its first sample's presentation time is at least (K+1)·D·T minus half
// a sample, K being the pending segment's epoch index, or (d) D is unknown
// and the stream carries no styp boxes (then every moof+mdat is a segment).
// A pending segment followed by the start of the next one is complete. When
// the stream ends (or a new CMAF header starts), the pending segment is
// offered only if its duration is within one sample of D·T, or, on a clean
// end of the request body, if D is unknown or its styp carries the lmsg
// brand; a body that breaks off inside a box never stores the segment it was
// part of.
package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/spool"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
)

// Defaults of Options.
const (
	DefaultMaxSegmentSize    = 64 << 20
	DefaultMaxRequests       = 256
	DefaultMaxBuffer         = 512 << 20
	DefaultIdleTimeout       = 10 * time.Second
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultMinDataRate       = 64 // bytes per second
	DefaultDrainTimeout      = 10 * time.Second
	storeTimeout             = 2 * time.Minute
	awaitDurationFor         = 3 * time.Second
)

// PushSource is a source allowed to push to a channel, with its credential.
type PushSource struct {
	Name       string
	Credential Credential // zero: no authentication
}

// PushChannel is a channel that accepts pushes, and the sources that may
// push to it.
type PushChannel struct {
	Name string
	// Sources that may push, with their credentials. Empty: any source name
	// may push, unauthenticated.
	Sources []PushSource
}

// Options configure a Server.
type Options struct {
	// Channels accepting pushes; a push to any other channel is 404. Empty:
	// every valid channel name is accepted, unauthenticated.
	Channels []PushChannel
	// AllowInsecure lets Serve listen on a non-loopback address although
	// some source may push without credentials.
	AllowInsecure bool
	// SegmentDuration is the channels' nominal segment duration D, for
	// pushes without an I-MPD (otherwise it comes from the I-MPD, a pull
	// source of the channel, the index, or the first video segment).
	SegmentDuration time.Duration
	// MaxSegmentSize bounds one init or media segment (and one box), in
	// bytes; larger bodies get 413. Default 64 MiB.
	MaxSegmentSize int64
	// MaxRequests bounds concurrent ingest requests; more get 503 with
	// Retry-After. Default 256.
	MaxRequests int
	// MaxBuffer bounds the bytes of segment data all requests together
	// hold in memory while their bodies arrive (a request holds what its
	// Content-Length, or the segment it is reading, needs; a media segment
	// streamed to the store, archive.Archive.StreamsSegments, holds its
	// head and one cloud.StreamChunk). A request that
	// would go over it waits up to a second for room, then gets 503 with
	// Retry-After. At least MaxSegmentSize; default the larger of 512 MiB
	// and MaxSegmentSize.
	MaxBuffer int64
	// ReadHeaderTimeout bounds reading request headers. Default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout and MinDataRate: in every IdleTimeout window of a request
	// body at least MinDataRate×IdleTimeout bytes must arrive, otherwise
	// the connection is closed (stalled or slow-loris clients). Defaults
	// 10 s and 64 bytes/s.
	IdleTimeout time.Duration
	MinDataRate int64
	// DrainTimeout bounds how long Serve lets in-flight requests finish
	// after its context is done. Default 10 s.
	DrainTimeout time.Duration
	// Log is the logger (default: discard).
	Log *slog.Logger
}

// Server is a CMAF ingest receiver writing into an archive. It is safe for
// concurrent use.
type Server struct {
	ar   *archive.Archive
	opts Options
	log  *slog.Logger
	reg  *prometheus.Registry
	m    *metrics

	channels map[string]map[string]Credential // channel -> source -> credential; nil inner map: any source
	sem      chan struct{}
	buf      *budget // Options.MaxBuffer
	segBufs  segmentBuffers
	streamed atomic.Int64 // media segments offered streamed (archive.Offer.Body; tests read it)

	draining   atomic.Bool
	drainCtx   context.Context
	startDrain context.CancelFunc
	active     sync.WaitGroup

	handle http.Handler
}

// New checks opts and returns a Server writing into ar.
func New(ar *archive.Archive, opts Options) (*Server, error) {
	if ar == nil {
		return nil, errors.New("ingest: nil archive")
	}
	opts = opts.withDefaults()
	if err := opts.check(); err != nil {
		return nil, err
	}
	channels, err := pushChannels(opts.Channels)
	if err != nil {
		return nil, err
	}
	s := &Server{ar: ar, opts: opts, log: opts.Log, reg: prometheus.NewRegistry(),
		sem: make(chan struct{}, opts.MaxRequests), channels: channels}
	s.m = newMetrics(s.reg)
	s.buf = newBudget(opts.MaxBuffer, func(d int64) { s.m.buffered.Add(float64(d)) })
	s.drainCtx, s.startDrain = context.WithCancel(context.Background())
	s.handle = s.routes()
	return s, nil
}

// withDefaults is o with the defaults for its zero fields.
func (o Options) withDefaults() Options {
	if o.MaxSegmentSize == 0 {
		o.MaxSegmentSize = DefaultMaxSegmentSize
	}
	if o.MaxRequests == 0 {
		o.MaxRequests = DefaultMaxRequests
	}
	if o.MaxBuffer == 0 {
		o.MaxBuffer = max(DefaultMaxBuffer, o.MaxSegmentSize)
	}
	if o.ReadHeaderTimeout == 0 {
		o.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if o.IdleTimeout == 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MinDataRate == 0 {
		o.MinDataRate = DefaultMinDataRate
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// check refuses negative limits.
func (o Options) check() error {
	switch {
	case o.MaxSegmentSize < 0:
		return fmt.Errorf("ingest: negative maximum segment size %d", o.MaxSegmentSize)
	case o.MaxRequests < 0:
		return fmt.Errorf("ingest: negative maximum request count %d", o.MaxRequests)
	case o.MaxBuffer < o.MaxSegmentSize:
		return fmt.Errorf("ingest: buffer limit %d bytes is less than the maximum segment size %d: it must hold one segment", o.MaxBuffer, o.MaxSegmentSize)
	case o.IdleTimeout < 0 || o.ReadHeaderTimeout < 0 || o.DrainTimeout < 0 || o.MinDataRate < 0:
		return errors.New("ingest: negative timeout or data rate")
	case o.SegmentDuration < 0:
		return fmt.Errorf("ingest: negative segment duration %v", o.SegmentDuration)
	}
	return nil
}

// pushChannels is channel -> source -> credential of the channels that
// accept pushes (a nil inner map: any source), nil for none listed (any
// channel).
func pushChannels(list []PushChannel) (map[string]map[string]Credential, error) {
	if len(list) == 0 {
		return nil, nil
	}
	channels := map[string]map[string]Credential{}
	for _, ch := range list {
		if err := layout.ValidName("channel", ch.Name); err != nil {
			return nil, fmt.Errorf("ingest: %w", err)
		}
		if _, dup := channels[ch.Name]; dup {
			return nil, fmt.Errorf("ingest: channel %q given twice", ch.Name)
		}
		var srcs map[string]Credential
		if len(ch.Sources) > 0 {
			srcs = map[string]Credential{}
		}
		for _, src := range ch.Sources {
			if err := layout.ValidName("source", src.Name); err != nil {
				return nil, fmt.Errorf("ingest: channel %s: %w", ch.Name, err)
			}
			if _, dup := srcs[src.Name]; dup {
				return nil, fmt.Errorf("ingest: channel %s: source %q given twice", ch.Name, src.Name)
			}
			if err := src.Credential.Check(); err != nil {
				return nil, fmt.Errorf("ingest: channel %s source %s: %w", ch.Name, src.Name, err)
			}
			srcs[src.Name] = src.Credential
		}
		channels[ch.Name] = srcs
	}
	return channels, nil
}

// routes is the handler of all endpoints.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Ingest paths are dispatched on the escaped path as sent: the mux
		// would clean "..", and decode %2F, before we could refuse them.
		if strings.HasPrefix(r.URL.EscapedPath(), Prefix) || r.URL.Path == strings.TrimSuffix(Prefix, "/") {
			s.serveIngest(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Handler returns the HTTP handler of all endpoints (/ingest/…, /healthz,
// /metrics).
func (s *Server) Handler() http.Handler { return s.handle }

// Registry is the Server's own Prometheus registry (served at /metrics).
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Serve accepts connections on ln until ctx is done, then drains: /healthz
// answers 503, the listener is closed, Streams requests stop at their next
// segment boundary, and in-flight requests get Options.DrainTimeout to
// finish before their connections are closed. It returns nil after a drain,
// or the error that stopped serving. A non-loopback ln is refused while
// some source may push unauthenticated, unless Options.AllowInsecure.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := CheckListenAddr(ln.Addr().String(), s.opts); err != nil {
		_ = ln.Close()
		return err
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		IdleTimeout:       max(6*s.opts.IdleTimeout, 2*time.Minute), // keep-alive between segments
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("ingest receiver listening", "addr", ln.Addr().String(), "prefix", Prefix)
	select {
	case err := <-errc:
		s.drain()
		return fmt.Errorf("ingest: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.drain()
	s.log.Info("ingest receiver draining", "timeout", s.opts.DrainTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.opts.DrainTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		s.log.Warn("ingest drain timed out: closing the remaining connections", "err", err)
		_ = srv.Close()
	}
	<-errc
	// Handlers whose connection was closed still finish their store writes.
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.opts.DrainTimeout):
		s.log.Warn("ingest handlers still running after the drain timeout")
	}
	s.log.Info("ingest receiver stopped")
	return nil
}

// drain makes the server refuse new ingest requests and ends idle streams.
func (s *Server) drain() {
	s.draining.Store(true)
	s.startDrain()
}

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if s.draining.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "draining\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

// statusWriter remembers the status code for the latency histogram.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// respond writes a text/plain answer. close asks the client to drop the
// connection (the body was not read to its end).
func respond(w http.ResponseWriter, code int, close bool, format string, args ...any) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if close {
		h.Set("Connection", "close")
	}
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(10 * time.Second))
	w.WriteHeader(code)
	msg := fmt.Sprintf(format, args...)
	_, _ = io.WriteString(w, msg+"\n")
}

// serveIngest serves one push: it admits the request (method, path,
// channel and source, credentials), takes a request slot and hands the
// body to the handler of its kind.
func (s *Server) serveIngest(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &statusWriter{ResponseWriter: rw}
	kind := "invalid"
	defer func() {
		code := w.status
		if code == 0 {
			code = http.StatusOK
		}
		s.m.latency.WithLabelValues(kind, strconv.Itoa(code)).Observe(time.Since(start).Seconds())
	}()
	hasBody := r.ContentLength != 0
	t, ok := s.admit(w, r, hasBody, &kind)
	if !ok {
		return
	}
	if r.Method == http.MethodDelete {
		// Encoders may DELETE at the end of a session; archive objects are
		// never deleted.
		respond(w, http.StatusNoContent, false, "")
		return
	}
	done, ok := s.acquire(w, hasBody)
	if !ok {
		return
	}
	defer done()
	ch, err := s.ar.OpenChannel(r.Context(), t.channel, s.opts.SegmentDuration)
	if err != nil {
		s.log.Error("ingest: open channel", "channel", t.channel, "err", err)
		respond(w, http.StatusInternalServerError, hasBody, "open channel %s: %v", t.channel, err)
		return
	}
	bytesIn := s.m.bytes.WithLabelValues(t.channel, t.source)
	body := newBodyReader(w, r, s.opts.IdleTimeout, s.opts.MinDataRate, func(n int) { bytesIn.Add(float64(n)) })
	body.buf = s.buf.reserve(r.Context())
	defer body.buf.release()
	log := s.log.With("channel", t.channel, "source", t.source, "rep", t.rep, "remote", r.RemoteAddr)
	switch t.kind {
	case kindSegment:
		s.handleSegment(w, r, t, ch, body, log)
	case kindStream:
		s.handleStream(w, r, t, ch, body, log)
	case kindMPD:
		s.handleMPD(w, r, t, ch, body, log)
	}
	body.linger(s.opts.MaxSegmentSize)
}

// admit checks a push's method, path (setting *kind to the target's kind),
// channel and source, and credentials; if one fails it answers the request
// and is false.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, hasBody bool, kind *string) (target, bool) {
	switch r.Method {
	case http.MethodPut, http.MethodPost, http.MethodDelete:
	default:
		s.m.refused.WithLabelValues("method").Inc()
		w.Header().Set("Allow", "PUT, POST, DELETE")
		respond(w, http.StatusMethodNotAllowed, hasBody, "method %s not allowed: push with PUT or POST", r.Method)
		return target{}, false
	}
	t, err := parseTarget(r.URL.EscapedPath())
	if err != nil {
		s.m.refused.WithLabelValues("path").Inc()
		respond(w, http.StatusBadRequest, hasBody, "%v", err)
		return target{}, false
	}
	*kind = t.kind.String()
	if srcs, ok := s.channels[t.channel]; s.channels != nil && !ok {
		s.m.refused.WithLabelValues("unknown").Inc()
		respond(w, http.StatusNotFound, hasBody, "unknown channel %q", t.channel)
		return t, false
	} else if _, ok := srcs[t.source]; srcs != nil && !ok {
		s.m.refused.WithLabelValues("unknown").Inc()
		respond(w, http.StatusNotFound, hasBody, "unknown source %q for channel %q", t.source, t.channel)
		return t, false
	}
	cred := s.channels[t.channel][t.source]
	switch authenticate(r, cred) {
	case authMissing:
		s.m.refused.WithLabelValues("auth").Inc()
		w.Header().Set("WWW-Authenticate", cred.scheme()+` realm="reaparchive ingest"`)
		respond(w, http.StatusUnauthorized, hasBody, "source %s must authenticate (%s)", t.source, cred.scheme())
		return t, false
	case authWrong:
		s.m.refused.WithLabelValues("auth").Inc()
		s.log.Warn("ingest: wrong credentials", "channel", t.channel, "source", t.source, "remote", r.RemoteAddr)
		respond(w, http.StatusForbidden, hasBody, "wrong credentials for source %s", t.source)
		return t, false
	}
	return t, true
}

// acquire takes one of the Options.MaxRequests request slots and counts
// the request as in flight until done is called; while draining or with
// every slot taken it answers 503 and is false.
func (s *Server) acquire(w http.ResponseWriter, hasBody bool) (done func(), ok bool) {
	if s.draining.Load() {
		s.m.refused.WithLabelValues("draining").Inc()
		w.Header().Set("Retry-After", "5")
		respond(w, http.StatusServiceUnavailable, hasBody, "receiver is shutting down")
		return nil, false
	}
	select {
	case s.sem <- struct{}{}:
	default:
		s.m.refused.WithLabelValues("busy").Inc()
		w.Header().Set("Retry-After", "1")
		respond(w, http.StatusServiceUnavailable, hasBody, "too many concurrent ingest requests (limit %d)", s.opts.MaxRequests)
		return nil, false
	}
	s.active.Add(1)
	s.m.inflight.Inc()
	return func() {
		s.m.inflight.Dec()
		s.active.Done()
		<-s.sem
	}, true
}

// offerContext is the context of archive writes: not cancelled when the
// client goes away after its segment arrived whole, but bounded.
func offerContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), storeTimeout)
}

// readErrorStatus maps a body read error to a status and reason.
func readErrorStatus(err error, limit int64) (int, string) {
	switch {
	case isTooLarge(err):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("body over the %d byte segment size limit: %v", limit, err)
	case isTimeout(err):
		return http.StatusRequestTimeout, fmt.Sprintf("body too slow (minimum data rate not met): %v", err)
	case errors.Is(err, errNotCMAF):
		return http.StatusBadRequest, err.Error()
	default:
		return http.StatusBadRequest, fmt.Sprintf("body incomplete, nothing stored for it: %v", err)
	}
}

// offerStatus maps an archive error to a status: 409 for an init that does
// not match the track, 400 for invalid bytes, 500 for store/index failures
// (so that encoders retry), 503 when the store is unreachable and the
// spool full, the store's or the index's disk is full, or the index file
// was deleted (503s carry Retry-After: see retryLater).
func offerStatus(err error) int {
	switch {
	case errors.Is(err, archive.ErrInitMismatch):
		return http.StatusConflict
	case errors.Is(err, errDurationPending), errors.Is(err, spool.ErrFull), errors.Is(err, errBufferFull):
		return http.StatusServiceUnavailable // the encoder retries later
	case cloud.IsNoSpace(err), index.IsFull(err), errors.Is(err, index.ErrLost):
		return http.StatusServiceUnavailable // nothing acknowledged until an operator acts
	case errors.Is(err, archive.ErrInvalid), errors.Is(err, layout.ErrBadName), errors.Is(err, errNotCMAF), errors.Is(err, errDurationUnknown):
		return http.StatusBadRequest
	case isTooLarge(err):
		return http.StatusRequestEntityTooLarge
	default:
		return http.StatusInternalServerError
	}
}

// retryLater sets Retry-After on a 503 answer.
func retryLater(w http.ResponseWriter, code int) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "2")
	}
}

// handleSegment takes one init or media segment (per-segment URL).
// A media segment of a track the archive streams
// (archive.Archive.StreamsSegments), pushed with a Content-Length, is read
// only up to its mdat's header; the archive reads the mdat's payload from
// the body as it writes it (archive.Offer.Body).
func (s *Server) handleSegment(w http.ResponseWriter, r *http.Request, t target, ch *archive.Channel, body *bodyReader, log *slog.Logger) {
	ctx, cancel := offerContext(r)
	defer cancel()
	in, err := ch.CurrentInit(ctx, t.source, t.rep)
	if err != nil {
		log.Error("ingest: track init", "err", err)
		respond(w, http.StatusInternalServerError, true, "track %s: %v", t.rep, err)
		return
	}
	contentType := ""
	if in != nil {
		contentType = in.ContentType
	}
	streamed := r.ContentLength > 0 && s.ar.StreamsSegments(contentType)
	seg, ok := s.readSegment(w, r, t, body, streamed, log)
	if !ok {
		return
	}
	isInit, err := classify(seg.Data)
	if err != nil {
		s.countRefused(t, err)
		respond(w, http.StatusBadRequest, false, "%v", err)
		return
	}
	if isInit {
		s.answerInit(ctx, w, t, ch, seg.Data, log)
		return
	}
	s.answerSegment(ctx, w, t, ch, seg, contentType, log)
	// The archive keeps no reference to a media segment's bytes once it
	// has answered (inits: it may keep them).
	s.segBufs.put(seg.Data)
}

// readSegment reads a per-segment body, at most Options.MaxSegmentSize
// bytes, as the Data of an offer with its SHA-256 (hex), computed as the
// bytes stream in; the first box header tells garbage apart before the
// rest is read. streamed: the body's head only, if its last box is an
// mdat (readHead; then Body and BodySize are the rest of the body, and
// SHA256 is empty). If it fails it answers the request and is false.
func (s *Server) readSegment(w http.ResponseWriter, r *http.Request, t target, body *bodyReader, streamed bool, log *slog.Logger) (archive.Offer, bool) {
	limit := s.opts.MaxSegmentSize
	if r.ContentLength > limit {
		respond(w, http.StatusRequestEntityTooLarge, true, "Content-Length %d is over the %d byte segment size limit", r.ContentLength, limit)
		return archive.Offer{}, false
	}
	if !streamed {
		if err := body.buf.grow(r.ContentLength); err != nil {
			s.refuseFull(w, err, log)
			return archive.Offer{}, false
		}
	}
	sum := sha256.New()
	in := io.TeeReader(body, sum) // every byte read is a byte of data
	h, err := readBoxHeader(in, limit)
	if err == io.EOF {
		respond(w, http.StatusBadRequest, false, "empty body: want a CMAF header or media segment")
		return archive.Offer{}, false
	}
	if err != nil {
		code, msg := readErrorStatus(err, limit)
		log.Info("ingest: segment refused", "status", code, "err", err)
		s.countRefused(t, err)
		respond(w, code, true, "%s", msg)
		return archive.Offer{}, false
	}
	capHint := int64(h.size)
	if streamed {
		capHint = min(capHint, headHint)
	} else if r.ContentLength > 0 {
		capHint = r.ContentLength
	}
	o := archive.Offer{Source: t.source, Rep: t.rep, ExpectK: -1, Data: s.segBufs.get(capHint)}
	if err = body.buf.grow(int64(cap(o.Data))); err == nil {
		o, err = readBody(in, h, o, r.ContentLength, limit, streamed, body.buf)
	}
	if errors.Is(err, errBufferFull) {
		s.refuseFull(w, err, log)
		return archive.Offer{}, false
	}
	if err != nil {
		code, msg := readErrorStatus(err, limit)
		log.Info("ingest: segment upload failed, nothing stored", "status", code, "err", err, "received", body.n)
		s.countRefused(t, err)
		respond(w, code, true, "%s", msg)
		return archive.Offer{}, false
	}
	if o.BodySize > 0 {
		o.Body = body
		s.streamed.Add(1)
	} else {
		o.SHA256 = hex.EncodeToString(sum.Sum(nil))
	}
	return o, true
}

// refuseFull answers a request whose body did not fit the buffer budget
// (errBufferFull): 503, retry later.
func (s *Server) refuseFull(w http.ResponseWriter, err error, log *slog.Logger) {
	s.m.refused.WithLabelValues("buffer").Inc()
	log.Warn("ingest: buffer full, segment refused", "err", err)
	w.Header().Set("Retry-After", "1")
	respond(w, http.StatusServiceUnavailable, true, "%v", err)
}

// answerInit offers a pushed init segment and answers the push: 201 for a
// new init version, 200 for a known one.
func (s *Server) answerInit(ctx context.Context, w http.ResponseWriter, t target, ch *archive.Channel, data []byte, log *slog.Logger) {
	res, err := s.offerInit(ctx, ch, t, data)
	if err != nil {
		code := offerStatus(err)
		log.Warn("ingest: init refused", "status", code, "err", err)
		retryLater(w, code)
		respond(w, code, false, "%v", err)
		return
	}
	code := http.StatusOK
	if res.New {
		code = http.StatusCreated
	}
	w.Header().Set("X-Reaparchive-Key", res.Key)
	respond(w, code, false, "init %s", res.Key)
}

// answerSegment offers a pushed media segment and answers the push: 201
// when it was stored, 200 for a duplicate or conflict.
func (s *Server) answerSegment(ctx context.Context, w http.ResponseWriter, t target, ch *archive.Channel, o archive.Offer, contentType string, log *slog.Logger) {
	res, err := s.offerSegment(ctx, ch, t, o, contentType, log)
	if errors.Is(err, archive.ErrBody) {
		code, msg := readErrorStatus(err, s.opts.MaxSegmentSize)
		log.Info("ingest: segment upload failed, nothing stored", "status", code, "err", err)
		respond(w, code, true, "%s", msg)
		return
	}
	if err != nil {
		code := offerStatus(err)
		retryLater(w, code)
		respond(w, code, false, "%v", err)
		return
	}
	w.Header().Set("X-Reaparchive-Outcome", string(res.Outcome))
	w.Header().Set("X-Reaparchive-K", strconv.FormatInt(res.K, 10))
	code := http.StatusOK
	if res.Outcome == index.Stored {
		code = http.StatusCreated
	}
	respond(w, code, false, "%s K %d %s", res.Outcome, res.K, res.Key)
}

// countRefused counts a body refused as not CMAF or too large as a
// received and rejected segment (a broken or slow upload is not counted).
func (s *Server) countRefused(t target, err error) {
	if !errors.Is(err, errNotCMAF) && !isTooLarge(err) {
		return
	}
	s.m.received.WithLabelValues(t.channel, t.source, t.rep).Inc()
	s.m.rejected.WithLabelValues(t.channel, t.source, t.rep).Inc()
}

// readRest appends the rest of body to data, up to limit bytes in all,
// growing buf (the request's share of the buffer budget) before data
// grows.
func readRest(body io.Reader, data []byte, limit int64, buf *reservation) ([]byte, error) {
	for {
		if int64(len(data)) > limit {
			return data, fmt.Errorf("%w: body over %d bytes", errTooLarge, limit)
		}
		if len(data) == cap(data) {
			want := min(max(2*int64(cap(data)), 4096), limit+1)
			if err := buf.grow(want); err != nil {
				return data, err
			}
			data = slices.Grow(data, int(want)-len(data))
		}
		room := min(int64(cap(data)-len(data)), limit+1-int64(len(data)))
		n, err := body.Read(data[len(data) : len(data)+int(room)])
		data = data[:len(data)+n]
		if err == io.EOF {
			if int64(len(data)) > limit {
				return data, fmt.Errorf("%w: body over %d bytes", errTooLarge, limit)
			}
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
}

// classify tells a CMAF header from a media segment by its boxes.
func classify(data []byte) (isInit bool, err error) {
	var first string
	for off := 0; off+cmaf.BoxHeaderLen <= len(data); {
		h, complete := cmaf.ParseBoxHeader(data[off:])
		if !complete || h.Size > uint64(len(data)-off) || h.Size < uint64(h.HdrLen) {
			return false, fmt.Errorf("%w: %s box at offset %d runs past the end of the body or is too small", errNotCMAF, printable([]byte(h.Type)), off)
		}
		switch cmaf.TopLevelRole(h.Type) {
		case cmaf.NotTopLevel:
			return false, fmt.Errorf("%w: box type %q at offset %d", errNotCMAF, printable([]byte(h.Type)), off)
		case cmaf.HeaderBox:
			return true, nil
		}
		if h.Type == "moof" {
			return false, nil
		}
		if first == "" {
			first = h.Type
		}
		off += int(h.Size)
	}
	return false, fmt.Errorf("%w: no moov or moof box (first box %q)", errNotCMAF, first)
}

// offerInit hands an init segment to the archive (strict: an init that does
// not match the track's earlier init from another source is refused), which
// makes it the source's current init (archive.Channel.CurrentInit), and
// counts the outcome.
func (s *Server) offerInit(ctx context.Context, ch *archive.Channel, t target, data []byte) (archive.InitResult, error) {
	res, err := ch.OfferInit(ctx, t.source, t.rep, data, true)
	outcome := "new"
	switch {
	case errors.Is(err, archive.ErrInitMismatch):
		outcome = "mismatch"
	case err != nil && errors.Is(err, archive.ErrInvalid):
		outcome = "invalid"
	case err != nil:
		outcome = "error"
	case !res.New:
		outcome = "known"
	}
	s.m.inits.WithLabelValues(t.channel, t.source, t.rep, outcome).Inc()
	if err != nil {
		return res, err
	}
	s.log.Debug("ingest: init", "channel", t.channel, "source", t.source, "rep", t.rep, "key", res.Key, "new", res.New, "codecs", res.Info.Codecs)
	return res, nil
}

// offerSegment hands a media segment to the archive and counts the
// outcome: o is complete with its SHA-256 sum (hex, computed while it
// streamed in), or streamed (o.Body).
func (s *Server) offerSegment(ctx context.Context, ch *archive.Channel, t target, o archive.Offer, contentType string, log *slog.Logger) (archive.Result, error) {
	s.m.received.WithLabelValues(t.channel, t.source, t.rep).Inc()
	if err := s.needSegmentDuration(ctx, ch, t, contentType); err != nil {
		s.m.rejected.WithLabelValues(t.channel, t.source, t.rep).Inc()
		log.Warn("ingest: segment refused", "err", err)
		return archive.Result{K: -1}, err
	}
	res, err := ch.OfferSegment(ctx, o)
	if err != nil {
		if errors.Is(err, archive.ErrInvalid) {
			s.m.rejected.WithLabelValues(t.channel, t.source, t.rep).Inc()
			log.Warn("ingest: segment rejected", "err", err)
		} else {
			log.Error("ingest: segment not recorded", "status", offerStatus(err), "err", err)
		}
		return res, err
	}
	switch res.Outcome {
	case index.Stored:
		s.m.stored.WithLabelValues(t.channel, t.source, t.rep).Inc()
	case index.Duplicate:
		s.m.duplicate.WithLabelValues(t.channel, t.source, t.rep).Inc()
	case index.Conflict:
		s.m.conflicting.WithLabelValues(t.channel, t.source, t.rep).Inc()
	}
	log.Debug("ingest: segment", "k", res.K, "outcome", res.Outcome, "key", res.Key, "size", int64(len(o.Data))+o.BodySize)
	return res, nil
}

// Errors of a non-video segment arriving while the channel's D is unknown.
var (
	// errDurationPending: the channel has a video track whose first segment
	// will set D; the encoder should retry (503).
	errDurationPending = errors.New("segment duration D not known yet (waiting for the first video segment); retry")
	// errDurationUnknown: nothing will tell D (400).
	errDurationUnknown = errors.New("segment duration D unknown: audio, text and metadata segment durations vary around D, so D cannot be taken from them; PUT the I-MPD first, or configure the receiver with the segment duration of pushed channels")
)

// needSegmentDuration: while D is unknown (no I-MPD, no
// Options.SegmentDuration, no pull source, not in the index), the archive
// takes it from the first segment. That is exact for video only: audio
// segment durations vary by a frame around D. So a non-video segment waits
// (briefly) for a video segment of the channel to set D, and is refused if
// none does.
func (s *Server) needSegmentDuration(ctx context.Context, ch *archive.Channel, t target, contentType string) error {
	if contentType == "video" || contentType == "" || ch.SegmentDuration() > 0 {
		return nil
	}
	if tr, ok, err := ch.Track(ctx, t.rep); err == nil && ok && tr.SegDur > 0 {
		return nil // known from an earlier run
	}
	if !ch.HasVideo() {
		return errDurationUnknown
	}
	deadline := time.NewTimer(awaitDurationFor)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for ch.SegmentDuration() == 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errDurationPending
		case <-tick.C:
		}
	}
	return nil
}

// handleMPD stores an I-MPD as received and takes track metadata and the
// segment duration from it.
func (s *Server) handleMPD(w http.ResponseWriter, r *http.Request, t target, ch *archive.Channel, body *bodyReader, log *slog.Logger) {
	limit := min(s.opts.MaxSegmentSize, manifest.MaxMPDSize)
	if r.ContentLength > limit {
		respond(w, http.StatusRequestEntityTooLarge, true, "MPD of %d bytes is over the %d byte limit", r.ContentLength, limit)
		return
	}
	data, err := readRest(body, nil, limit, body.buf)
	if err != nil {
		code, msg := readErrorStatus(err, limit)
		respond(w, code, true, "%s", msg)
		return
	}
	live, err := manifest.ParseLive(data, "http://ingest.invalid"+Prefix+t.channel+"/"+t.source+"/"+t.name)
	if err != nil {
		respond(w, http.StatusBadRequest, false, "I-MPD: %v", err)
		return
	}
	ctx, cancel := offerContext(r)
	defer cancel()
	res, err := ch.OfferMPD(ctx, t.source, data, live)
	if err != nil {
		code := offerStatus(err)
		log.Warn("ingest: I-MPD not recorded", "key", res.Key, "status", code, "err", err)
		retryLater(w, code)
		respond(w, code, false, "%v", err)
		return
	}
	code, key := http.StatusCreated, res.Key
	if !res.New {
		code = http.StatusOK
	}
	log.Info("ingest: I-MPD", "key", key, "tracks", len(live.Tracks), "segment_duration", live.SegDurSeconds)
	w.Header().Set("X-Reaparchive-Key", key)
	respond(w, code, false, "I-MPD %s: %d representations", key, len(live.Tracks))
}
