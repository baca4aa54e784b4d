package origin

import (
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/export"
)

// kind is what a manifest request asks for.
type kind int

const (
	live      kind = iota // the live edge with a time-shift window
	startOver             // from start to the live edge
	catchUp               // [start, end) as VoD
)

// params are a manifest request's query parameters, parsed.
type params struct {
	kind       kind
	start, end time.Time
	gaps       export.GapMode    // signal, split or fill (catch-up); split or fill (live, start-over)
	events     export.EventsMode // how SCTE-35 is signalled
}

// badRequest is a 400 with the reason.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, a ...any) error { return &badRequest{fmt.Sprintf(format, a...)} }

// ParseTime parses T of start/end: RFC 3339, or seconds since the epoch
// (decimals allowed, to the nanosecond).
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || strings.ContainsAny(s, "/eE") || r.Sign() < 0 {
		return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2026-11-21T10:00:00Z) nor epoch seconds (1763719200)", s)
	}
	ns := new(big.Rat).Mul(r, big.NewRat(int64(time.Second), 1))
	if !ns.IsInt() || !ns.Num().IsInt64() {
		return time.Time{}, fmt.Errorf("%q: epoch seconds out of range or finer than a nanosecond", s)
	}
	return time.Unix(0, ns.Num().Int64()).UTC(), nil
}

// parseParams parses a manifest request's query: start, end, gaps and
// events. now is the request's clock (truncated to the second); d the
// defaults.
func parseParams(q url.Values, now time.Time, d defaults) (params, error) {
	p := params{kind: live, events: export.EventsBoth}
	for name, vs := range q {
		switch name {
		case "start", "end", "gaps", "events":
			if len(vs) != 1 {
				return p, badf("%s given %d times", name, len(vs))
			}
		}
	}
	var err error
	if s := q.Get("start"); q.Has("start") {
		if p.start, err = ParseTime(s); err != nil {
			return p, badf("start: %v", err)
		}
		if p.start.After(now) {
			return p, badf("start %s is in the future (now %s)", p.start.Format(time.RFC3339), now.Format(time.RFC3339))
		}
		p.kind = startOver
	}
	if e := q.Get("end"); q.Has("end") {
		if p.kind != startOver {
			return p, badf("end without start")
		}
		if p.end, err = ParseTime(e); err != nil {
			return p, badf("end: %v", err)
		}
		if !p.end.After(p.start) {
			return p, badf("end %s is not after start %s", p.end.Format(time.RFC3339Nano), p.start.Format(time.RFC3339Nano))
		}
		p.kind = catchUp
	}
	return p, p.parseModes(q, d)
}

// defaults are what a manifest request gets for what its query leaves out.
type defaults struct {
	liveGaps export.GapMode // of live and start-over
	canFill  bool           // a slate is configured
}

// parseModes parses gaps (catch-up: signal, split or fill; live and
// start-over: split or fill, since a dynamic timeline cannot signal a gap
// inside a Period) and events.
func (p *params) parseModes(q url.Values, d defaults) error {
	p.gaps = export.GapsSignal
	if p.kind != catchUp {
		p.gaps = d.liveGaps
	}
	if q.Has("gaps") {
		g, err := export.ParseGapMode(q.Get("gaps"))
		switch {
		case err != nil, g == export.GapsSignal && p.kind != catchUp:
			return badf("gaps %q: want %s", q.Get("gaps"), p.gapChoices())
		case g == export.GapsFill && !d.canFill:
			return badf("gaps=fill: this origin has no slate to fill gaps with (serve --slate)")
		}
		p.gaps = g
	}
	if q.Has("events") {
		ev, err := export.ParseEventsMode(q.Get("events"))
		if err != nil {
			return badf("events: %v", err)
		}
		p.events = ev
	}
	return nil
}

// gapChoices names the gap modes p's kind takes.
func (p *params) gapChoices() string {
	if p.kind == catchUp {
		return "signal, split or fill"
	}
	return "split or fill (a live timeline splits its Periods at gaps or fills them)"
}

// encode is the canonical form of p: the cache key, and what HLS media
// playlist names carry ("~" separated, since they cannot hold a query).
func (p params) encode() string {
	var b strings.Builder
	if p.kind != live {
		b.WriteString("~start=" + epochString(p.start))
	}
	if p.kind == catchUp {
		b.WriteString("~end=" + epochString(p.end))
	}
	if base := canonicalGaps(p.kind); p.gaps != base {
		b.WriteString("~gaps=" + string(p.gaps))
	}
	if p.events != export.EventsBoth {
		b.WriteString("~events=" + string(p.events))
	}
	return b.String()
}

// canonicalGaps is the gap mode encode leaves out for a kind.
func canonicalGaps(k kind) export.GapMode {
	if k == catchUp {
		return export.GapsSignal
	}
	return export.GapsSplit
}

// decodeParams parses what encode wrote (which names every gap mode but
// the canonical one, whatever the origin's default).
func decodeParams(s string, now time.Time, d defaults) (params, error) {
	d.liveGaps = canonicalGaps(live)
	q := url.Values{}
	for _, kv := range strings.Split(s, "~") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return params{}, badf("malformed playlist parameter %q", kv)
		}
		q.Add(k, v)
	}
	return parseParams(q, now, d)
}

// epochString is t in epoch seconds, exact.
func epochString(t time.Time) string {
	ns := t.UnixNano()
	s := strconv.FormatInt(ns/int64(time.Second), 10)
	if f := ns % int64(time.Second); f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%09d", f), "0")
	}
	return s
}
