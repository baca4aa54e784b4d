package ingest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// errDrained ends a stream that was idle (between segments) when the server
// began to drain.
var errDrained = errors.New("receiver draining")

// flushReason says why the pending segment is being finished.
type flushReason int

const (
	atBoundary flushReason = iota // the next segment began: complete
	atCleanEnd                    // the body ended cleanly, or an mfra end marker
	atBreak                       // a new CMAF header, a decode-time jump, or a broken body
)

// splitter cuts a Streams(...) body into init and media segments and offers
// them to the archive as each completes. It buffers at most one pending
// segment and one box.
type splitter struct {
	s     *Server
	ch    *archive.Channel
	t     target
	log   *slog.Logger
	limit int64
	buf   *reservation // the request's share of Options.MaxBuffer

	init      *cmaf.InitInfo
	initBuf   []byte // ftyp (and ignorable boxes) waiting for the moov
	inInit    bool
	sawStyp   bool
	dbSegDur  uint64
	dbChecked bool

	lead     []byte // boxes since the last mdat that belong to the next moof (styp, emsg, prft, ...)
	leadStyp bool
	leadLmsg bool

	seg      []byte    // the pending segment
	sum      hash.Hash // SHA-256 of seg, written as seg grows
	frags    int       // complete moof+mdat pairs in seg
	moofOpen bool      // seg ends with a moof waiting for its mdat
	segPTS   uint64    // presentation time of the pending segment's first sample
	segEnd   uint64    // decode time just after its last sample
	segTicks uint64    // its duration
	firstDur uint32    // duration of its first sample
	segLmsg  bool
	idle     atomic.Bool // nothing pending: a drain may end the stream now
	box      []byte      // scratch for the current box
	stats    streamStats
}

type streamStats struct {
	inits, stored, duplicate, conflict, rejected, dropped int
	lastK                                                 int64
	lastReject, lastDrop                                  string
}

func (st streamStats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stream: %d init, %d stored, %d duplicate, %d conflicting, %d rejected segments", st.inits, st.stored, st.duplicate, st.conflict, st.rejected)
	if st.stored+st.duplicate+st.conflict > 0 {
		fmt.Fprintf(&b, "; last K %d", st.lastK)
	}
	if st.lastReject != "" {
		fmt.Fprintf(&b, "; last rejection: %s", st.lastReject)
	}
	if st.dropped > 0 {
		fmt.Fprintf(&b, "; %d incomplete segment(s) not stored: %s", st.dropped, st.lastDrop)
	}
	return b.String()
}

// handleStream receives a long-running Streams(<rep>.<ext>) request.
func (s *Server) handleStream(w http.ResponseWriter, r *http.Request, t target, ch *archive.Channel, body *bodyReader, log *slog.Logger) {
	s.m.openStreams.Inc()
	defer s.m.openStreams.Dec()
	sp := &splitter{s: s, ch: ch, t: t, log: log, limit: s.opts.MaxSegmentSize, buf: body.buf, sum: sha256.New()}
	sp.idle.Store(true)
	// A drain ends a stream that is between segments at once; one with a
	// segment in progress stops at the next boundary.
	var stopped atomic.Bool
	stop := context.AfterFunc(s.drainCtx, func() {
		if sp.idle.Load() {
			stopped.Store(true)
			body.halt.Store(true)
			_ = http.NewResponseController(w).SetReadDeadline(time.Now())
		}
	})
	defer stop()
	ctx, cancel := offerContext(r)
	defer cancel()
	err := sp.run(ctx, body)
	if err != nil && stopped.Load() && sp.frags == 0 && !sp.moofOpen {
		err = errDrained
	}
	st := sp.stats
	accepted := st.inits + st.stored + st.duplicate + st.conflict
	switch {
	case err == nil && accepted == 0 && (st.rejected > 0 || st.dropped > 0):
		respond(w, http.StatusBadRequest, false, "%s", st)
	case err == nil:
		code := http.StatusOK
		if st.stored > 0 {
			code = http.StatusCreated
		}
		respond(w, code, false, "%s", st)
	case errors.Is(err, errDrained):
		log.Info("ingest: stream stopped for shutdown", "stats", st.String())
		w.Header().Set("Retry-After", "5")
		respond(w, http.StatusServiceUnavailable, true, "receiver is shutting down; %s", st)
	default:
		code := offerStatus(err)
		if code == http.StatusInternalServerError && !errors.Is(err, archive.ErrInvalid) {
			// A body read failure is the client's; a store/index failure ours.
			var rerr readError
			if errors.As(err, &rerr) {
				code, _ = readErrorStatus(rerr.err, sp.limit)
			}
		}
		if errors.Is(err, errNotCMAF) || isTooLarge(err) {
			sp.s.countRefused(t, err)
		}
		if errors.Is(err, errBufferFull) {
			sp.s.m.refused.WithLabelValues("buffer").Inc()
		}
		if code >= 500 {
			log.Error("ingest: stream failed", "err", err, "stats", st.String())
		} else {
			log.Info("ingest: stream ended with an error", "status", code, "err", err, "stats", st.String())
		}
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "2")
		}
		respond(w, code, true, "%v; %s", err, st)
	}
}

// readError marks a failure to read the request body.
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

// run reads boxes until the body ends, the stream fails, or a drain stops
// it at a segment boundary.
func (sp *splitter) run(ctx context.Context, body io.Reader) error {
	for {
		h, err := readBoxHeader(body, sp.limit)
		if err == io.EOF {
			return sp.end(ctx, atCleanEnd)
		}
		if err != nil {
			if ferr := sp.end(ctx, atBreak); ferr != nil {
				return ferr
			}
			if errors.Is(err, errNotCMAF) || errors.Is(err, errTooLarge) {
				return err
			}
			return readError{err}
		}
		sp.idle.Store(false)
		pending := int64(len(sp.seg) + len(sp.lead) + len(sp.initBuf))
		if pending+h.size > sp.limit {
			sp.drop("over the size limit")
			return fmt.Errorf("%w: segment of more than %d bytes", errTooLarge, sp.limit)
		}
		if err := sp.buf.grow(pending + h.size); err != nil {
			sp.drop("the ingest buffer is full")
			return err
		}
		if h.typ == "mdat" && sp.moofOpen {
			// The payload goes straight into the pending segment, and
			// into its digest as it streams in.
			sp.sum.Write(h.raw[:h.hdrLen])
			if sp.seg, err = readBoxBody(io.TeeReader(body, sp.sum), h, sp.seg); err != nil {
				sp.drop("the body broke off in an mdat")
				return readError{err}
			}
			sp.moofOpen = false
			sp.frags++
			sp.afterBox()
			continue
		}
		if sp.box, err = readBoxBody(body, h, sp.box[:0]); err != nil {
			if ferr := sp.end(ctx, atBreak); ferr != nil {
				return ferr
			}
			return readError{err}
		}
		stop, err := sp.handleBox(ctx, h.typ, sp.box)
		if err != nil {
			return err
		}
		if stop {
			return errDrained
		}
		sp.afterBox()
	}
}

// afterBox updates the idle flag: idle means a drain loses nothing by
// stopping the stream now.
func (sp *splitter) afterBox() {
	sp.idle.Store(sp.frags == 0 && !sp.moofOpen && len(sp.lead) == 0 && !sp.inInit)
}

// handleBox processes one complete top-level box. stop is set when the
// server is draining and a segment was just finished.
func (sp *splitter) handleBox(ctx context.Context, typ string, box []byte) (stop bool, err error) {
	if sp.moofOpen {
		return false, fmt.Errorf("%w: moof followed by %s, want mdat", errNotCMAF, typ)
	}
	if sp.inInit {
		switch typ {
		case "moov":
			sp.initBuf = append(sp.initBuf, box...)
			sp.inInit = false
			return false, sp.offerInit(ctx)
		case "free", "skip", "uuid", "meta", "udta", "pdin":
			sp.initBuf = append(sp.initBuf, box...)
			return false, nil
		default:
			return false, fmt.Errorf("%w: %s box inside a CMAF header (ftyp without moov)", errNotCMAF, typ)
		}
	}
	switch typ {
	case "ftyp":
		if err := sp.end(ctx, atBreak); err != nil {
			return false, err
		}
		sp.initBuf = append(sp.initBuf[:0], box...)
		sp.inInit = true
		return false, nil
	case "moov":
		return false, fmt.Errorf("%w: moov without a preceding ftyp", errNotCMAF)
	case "meta", "udta", "pdin":
		return false, fmt.Errorf("%w: %s box outside a CMAF header", errNotCMAF, typ)
	case "mfra":
		return false, sp.end(ctx, atCleanEnd)
	case "mdat":
		return false, fmt.Errorf("%w: mdat without a preceding moof", errNotCMAF)
	case "styp":
		sp.sawStyp = true
		flushed, err := sp.boundary(ctx)
		if err != nil {
			return false, err
		}
		sp.lead = append(sp.lead, box...)
		sp.leadStyp = true
		sp.leadLmsg = stypHasBrand(box, "lmsg")
		return flushed && sp.s.draining.Load(), nil
	case "moof":
		return sp.moof(ctx, box)
	default: // emsg, prft, sidx, ssix, free, skip, uuid: with the next moof
		sp.lead = append(sp.lead, box...)
		return false, nil
	}
}

// moof decides whether a moof continues the pending segment or begins the
// next one (see the package doc for the rule).
func (sp *splitter) moof(ctx context.Context, box []byte) (stop bool, err error) {
	if sp.init == nil {
		in, err := sp.ch.CurrentInit(ctx, sp.t.source, sp.t.rep)
		if err != nil {
			return false, err
		}
		if in == nil {
			return false, fmt.Errorf("%w: media before any CMAF header for %s: send the init segment first", archive.ErrInvalid, sp.t.rep)
		}
		sp.init = in
	}
	c, err := parseMoof(box, sp.init)
	if err != nil {
		return false, err
	}
	newSeg := sp.frags == 0 || sp.leadStyp
	if !newSeg {
		segDur := sp.segDur(ctx)
		switch {
		case c.dts != sp.segEnd:
			// A jump in decode time: the pending segment ends here.
			sp.log.Info("ingest: decode time jump in stream", "want", sp.segEnd, "got", c.dts)
			if err := sp.end(ctx, atBreak); err != nil {
				return false, err
			}
			newSeg = true
		case segDur > 0:
			k := archive.EpochIndex(sp.segPTS, segDur)
			newSeg = c.sync && c.pts+uint64(c.firstDur)/2 >= uint64(k+1)*segDur
		default:
			newSeg = !sp.sawStyp
		}
	}
	flushed := false
	if newSeg && sp.frags > 0 {
		if _, err := sp.flush(ctx, atBoundary); err != nil {
			return false, err
		}
		flushed = true
	}
	if newSeg {
		sp.seg = sp.seg[:0]
		sp.sum.Reset()
		sp.segPTS, sp.segTicks, sp.firstDur, sp.segLmsg = c.pts, 0, c.firstDur, sp.leadLmsg
	} else {
		sp.segLmsg = sp.segLmsg || sp.leadLmsg
	}
	sp.appendSeg(sp.lead)
	sp.lead, sp.leadStyp, sp.leadLmsg = sp.lead[:0], false, false
	sp.appendSeg(box)
	sp.moofOpen = true
	sp.segEnd = c.dts + c.dur
	sp.segTicks += c.dur
	if flushed && sp.s.draining.Load() {
		// The segment in progress when the drain began is stored; the one
		// that just began is not.
		sp.drop("receiver shutting down")
		return true, nil
	}
	return false, nil
}

// boundary finishes the pending segment because a styp begins the next.
func (sp *splitter) boundary(ctx context.Context) (bool, error) {
	if sp.frags == 0 {
		return false, nil
	}
	return sp.flush(ctx, atBoundary)
}

// end finishes whatever is pending when the stream (or this part of it)
// ends. A CMAF header that never got its moov is an error at a clean end.
func (sp *splitter) end(ctx context.Context, why flushReason) error {
	if sp.inInit && why == atCleanEnd {
		return fmt.Errorf("%w: the body ended inside a CMAF header (ftyp without moov)", errNotCMAF)
	}
	if sp.frags > 0 || sp.moofOpen {
		if _, err := sp.flush(ctx, why); err != nil {
			return err
		}
	}
	sp.lead, sp.leadStyp, sp.leadLmsg = sp.lead[:0], false, false
	return nil
}

// segDur is D·T of the stream's track in ticks, 0 while unknown.
func (sp *splitter) segDur(ctx context.Context) uint64 {
	if sp.init == nil {
		return 0
	}
	if d := sp.ch.SegmentDuration(); d > 0 {
		return uint64(math.Round(d.Seconds() * float64(sp.init.Timescale)))
	}
	if !sp.dbChecked {
		sp.dbChecked = true
		if tr, ok, err := sp.ch.Track(ctx, sp.t.rep); err == nil && ok && tr.Timescale == sp.init.Timescale {
			sp.dbSegDur = tr.SegDur
		}
	}
	return sp.dbSegDur
}

// complete reports whether the pending segment's duration is within one
// sample of d = D·T.
func (sp *splitter) complete(d uint64) bool {
	if d == 0 || sp.frags == 0 || sp.moofOpen {
		return false
	}
	diff := int64(sp.segTicks) - int64(d)
	return max(diff, -diff) <= int64(sp.firstDur)
}

// flush offers the pending segment when it is complete for why, else drops
// it. It reports whether a segment was offered.
func (sp *splitter) flush(ctx context.Context, why flushReason) (bool, error) {
	if sp.frags == 0 && !sp.moofOpen {
		return false, nil
	}
	defer sp.resetSeg()
	ok := why == atBoundary
	// D is read once: another request (the channel's first video segment)
	// may set it at any moment, and a segment judged against "D unknown"
	// in one clause and against D in the other would be dropped although
	// either rule alone accepts it.
	d := sp.segDur(ctx)
	if !ok && !sp.moofOpen {
		ok = sp.complete(d) || (why == atCleanEnd && (d == 0 || sp.segLmsg))
	}
	if !ok {
		reason := "the stream broke off before its end"
		if d > 0 {
			reason = fmt.Sprintf("duration %d of %d ticks at the end of the stream", sp.segTicks, d)
		}
		if sp.moofOpen {
			reason = "a moof without its mdat"
		}
		sp.drop(reason)
		return false, nil
	}
	res, err := sp.s.offerSegment(ctx, sp.ch, sp.t,
		archive.Offer{Source: sp.t.source, Rep: sp.t.rep, Data: sp.seg, ExpectK: -1, SHA256: hex.EncodeToString(sp.sum.Sum(nil))},
		sp.init.ContentType, sp.log)
	if err != nil {
		if errors.Is(err, archive.ErrInvalid) {
			// A segment the archive refuses does not end the stream.
			sp.stats.rejected++
			sp.stats.lastReject = err.Error()
			return true, nil
		}
		return false, err
	}
	sp.stats.lastK = res.K
	switch res.Outcome {
	case index.Stored:
		sp.stats.stored++
	case index.Duplicate:
		sp.stats.duplicate++
	case index.Conflict:
		sp.stats.conflict++
	}
	return true, nil
}

// drop discards the pending segment (counted as rejected).
func (sp *splitter) drop(reason string) {
	if sp.frags == 0 && !sp.moofOpen {
		return
	}
	sp.s.m.received.WithLabelValues(sp.t.channel, sp.t.source, sp.t.rep).Inc()
	sp.s.m.rejected.WithLabelValues(sp.t.channel, sp.t.source, sp.t.rep).Inc()
	sp.stats.dropped++
	sp.stats.lastDrop = reason
	sp.log.Info("ingest: incomplete segment not stored", "reason", reason, "ept", sp.segPTS, "duration", sp.segTicks, "bytes", len(sp.seg))
	sp.resetSeg()
}

// resetSeg empties the pending segment and its digest.
func (sp *splitter) resetSeg() {
	sp.seg, sp.frags, sp.moofOpen = sp.seg[:0], 0, false
	sp.sum.Reset()
}

// appendSeg appends b to the pending segment and its digest.
func (sp *splitter) appendSeg(b []byte) {
	sp.seg = append(sp.seg, b...)
	sp.sum.Write(b)
}

// offerInit offers the collected CMAF header.
func (sp *splitter) offerInit(ctx context.Context) error {
	res, err := sp.s.offerInit(ctx, sp.ch, sp.t, sp.initBuf)
	sp.initBuf = sp.initBuf[:0]
	if err != nil {
		return err
	}
	sp.init = res.Info
	sp.dbChecked, sp.dbSegDur = false, 0
	sp.stats.inits++
	return nil
}
