package cmaf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Bounds of the TTML check: a sample's document may nest elements at most
// maxTTMLDepth deep and hold at most maxTTMLTokens XML tokens.
const (
	maxTTMLDepth  = 64
	maxTTMLTokens = 1 << 16
)

// ttmlCue is a timed element of a TTML document (body, div, p or span
// with begin, end or dur): its resolved interval in seconds on the
// document's timeline.
type ttmlCue struct {
	elem       string
	begin, end float64
}

// checkTTMLSample checks that p, sample n of an stpp track presented over
// [start, end) ticks of timescale, holds a well-formed TTML document
// and that its cues lie in that span: on the media timeline (what
// livesim2 sends, ttp:timeBase="media") or relative to the sample's start,
// chosen by the first cue. Bytes after the root element (image subsamples
// of IMSC1 image profile) are not read.
func checkTTMLSample(out *textIssues, n int, p []byte, start, end uint64, timescale uint32) {
	cues, err := ttmlCues(p)
	if err != nil {
		out.add(TextMalformed, "sample %d: TTML: %v", n, err)
		return
	}
	if len(cues) == 0 || timescale == 0 {
		return
	}
	s0, s1 := float64(start)/float64(timescale), float64(end)/float64(timescale)
	tol := max(0.001, 1/float64(timescale))
	base := 0.0 // the document's time 0 on the media timeline
	if cues[0].begin < s0-tol {
		base = s0 // relative to the sample
	}
	for _, c := range cues {
		b, e := base+c.begin, base+c.end
		switch {
		case e < b:
			out.add(TextCueTime, "sample %d: <%s> ends at %.3f s before it begins at %.3f s", n, c.elem, e, b)
		case b < s0-tol || e > s1+tol:
			out.add(TextCueTime, "sample %d: <%s> [%.3f, %.3f) s lies outside the sample's span [%.3f, %.3f) s", n, c.elem, b, e, s0, s1)
		}
	}
}

// ttmlFrame is an open timed-context element while ttmlCues walks a
// document: children's times are relative to its begin (par container).
type ttmlFrame struct {
	begin, end float64
}

// ttmlRates are the tt element's ttp:frameRate and ttp:tickRate.
type ttmlRates struct {
	frame, tick float64
}

// ttmlCues parses a TTML document and returns its timed elements in
// document order.
func ttmlCues(p []byte) ([]ttmlCue, error) {
	dec := xml.NewDecoder(bytes.NewReader(p))
	rates := ttmlRates{frame: 30, tick: 1}
	stack := []ttmlFrame{{begin: 0, end: math.Inf(1)}}
	var cues []ttmlCue
	depth, rootSeen := 0, false
	for tokens := 0; ; tokens++ {
		if tokens > maxTTMLTokens {
			return nil, fmt.Errorf("more than %d XML tokens", maxTTMLTokens)
		}
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !rootSeen {
				return nil, fmt.Errorf("no tt element")
			}
			return nil, fmt.Errorf("document ends inside <tt>")
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth > maxTTMLDepth {
				return nil, fmt.Errorf("elements nest deeper than %d", maxTTMLDepth)
			}
			if depth == 1 {
				if t.Name.Local != "tt" {
					return nil, fmt.Errorf("root element <%s>, want <tt>", t.Name.Local)
				}
				rootSeen = true
				if rates, err = ttRates(t); err != nil {
					return nil, err
				}
			}
			f, cue, err := timedElement(t, stack[len(stack)-1], rates)
			if err != nil {
				return nil, err
			}
			if cue != nil {
				cues = append(cues, *cue)
			}
			stack = append(stack, f)
		case xml.EndElement:
			depth--
			stack = stack[:len(stack)-1]
			if depth == 0 {
				return cues, nil
			}
		}
	}
}

// ttRates reads ttp:frameRate and ttp:tickRate of the tt element; tickRate
// defaults to the frame rate when that is given (TTML2 §7.2), else 1.
func ttRates(tt xml.StartElement) (ttmlRates, error) {
	r := ttmlRates{frame: 30, tick: 1}
	tickSet, frameSet := false, false
	for _, a := range tt.Attr {
		if !strings.HasSuffix(a.Name.Space, "ttml#parameter") {
			continue
		}
		switch a.Name.Local {
		case "frameRate", "tickRate":
			v, err := strconv.ParseUint(a.Value, 10, 32)
			if err != nil || v == 0 {
				return r, fmt.Errorf("ttp:%s %q is no positive integer", a.Name.Local, a.Value)
			}
			if a.Name.Local == "frameRate" {
				r.frame, frameSet = float64(v), true
			} else {
				r.tick, tickSet = float64(v), true
			}
		}
	}
	if frameSet && !tickSet {
		r.tick = r.frame
	}
	return r, nil
}

// timedElement resolves the begin, end and dur of element e (only body,
// div, p and span carry timing in IMSC1) against its parent's interval. It
// returns the element's interval for its children and, if it has timing
// attributes of its own, the cue.
func timedElement(e xml.StartElement, parent ttmlFrame, rates ttmlRates) (ttmlFrame, *ttmlCue, error) {
	switch e.Name.Local {
	case "body", "div", "p", "span":
	default:
		return parent, nil, nil
	}
	var begin, end, dur *float64
	for _, a := range e.Attr {
		if a.Name.Space != "" {
			continue
		}
		var dst **float64
		switch a.Name.Local {
		case "begin":
			dst = &begin
		case "end":
			dst = &end
		case "dur":
			dst = &dur
		default:
			continue
		}
		v, err := ttmlTime(a.Value, rates)
		if err != nil {
			return parent, nil, fmt.Errorf("<%s %s=%q>: %w", e.Name.Local, a.Name.Local, a.Value, err)
		}
		*dst = &v
	}
	if begin == nil && end == nil && dur == nil {
		return parent, nil, nil
	}
	f := ttmlFrame{begin: parent.begin, end: parent.end}
	if begin != nil {
		f.begin = parent.begin + *begin
	}
	switch {
	case end != nil && dur != nil:
		f.end = min(parent.begin+*end, f.begin+*dur)
	case end != nil:
		f.end = parent.begin + *end
	case dur != nil:
		f.end = f.begin + *dur
	}
	return f, &ttmlCue{elem: e.Name.Local, begin: f.begin, end: f.end}, nil
}

// ttmlTime parses a TTML time expression into seconds: a clock time
// (hours:minutes:seconds with an optional fraction, or :frames) or an
// offset time (a number and a metric h, m, s, ms, f or t).
func ttmlTime(s string, rates ttmlRates) (float64, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, ":") {
		return clockTime(s, rates)
	}
	for _, m := range []struct {
		unit string
		secs float64
	}{{"ms", 0.001}, {"h", 3600}, {"m", 60}, {"s", 1}, {"f", 1 / rates.frame}, {"t", 1 / rates.tick}} {
		if num, ok := strings.CutSuffix(s, m.unit); ok {
			v, err := decimal(num)
			if err != nil {
				return 0, err
			}
			return v * m.secs, nil
		}
	}
	return 0, fmt.Errorf("no time expression (want HH:MM:SS.mmm or a number with h, m, s, ms, f or t)")
}

// clockTime parses hours:minutes:seconds[.fraction] or
// hours:minutes:seconds:frames[.subframes].
func clockTime(s string, rates ttmlRates) (float64, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 && len(parts) != 4 {
		return 0, fmt.Errorf("clock time with %d fields, want 3 or 4", len(parts))
	}
	var v [4]float64
	for i, p := range parts {
		if i < 2 || (i == 2 && len(parts) == 4) {
			if !allDigits(p) {
				return 0, fmt.Errorf("clock time field %q is no integer", p)
			}
		}
		x, err := decimal(p)
		if err != nil {
			return 0, err
		}
		v[i] = x
	}
	if v[1] >= 60 || v[2] >= 61 {
		return 0, fmt.Errorf("clock time minutes or seconds out of range")
	}
	return v[0]*3600 + v[1]*60 + v[2] + v[3]/rates.frame, nil
}

// decimal parses digits with an optional fraction (no sign, no exponent).
func decimal(s string) (float64, error) {
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || !allDigits(whole) || (strings.Contains(s, ".") && (frac == "" || !allDigits(frac))) {
		return 0, fmt.Errorf("%q is no decimal number", s)
	}
	return strconv.ParseFloat(s, 64)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
