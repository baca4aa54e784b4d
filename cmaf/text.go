package cmaf

import (
	"fmt"
	"unicode/utf8"
)

// Kinds of TextIssue.
const (
	// TextOrder: samples (or segments) of a text track go back in time,
	// overlap or last zero ticks.
	TextOrder = "order"
	// TextAlignment: the segment's span is not its slot K×D … (K+1)×D on
	// the epoch grid.
	TextAlignment = "alignment"
	// TextMalformed: a sample is no well-formed cue: a wvtt sample whose
	// boxes are not vttc (with payl), vtte (empty) or vtta, an stpp sample
	// that is not a well-formed XML document.
	TextMalformed = "malformed"
	// TextCueTime: a TTML cue's begin/end lies outside its sample's span,
	// ends before it begins or is no valid time expression.
	TextCueTime = "cue_time"
)

// MaxTextIssues is how many issues CheckText reports for one segment; a
// segment with more says so in the last one.
const MaxTextIssues = 8

// TextIssue is one violation of a text track's cue rules found in a
// segment: a Kind above and what is wrong where.
type TextIssue struct {
	Kind   string
	Detail string
}

// CheckText checks the cues of info, a parsed segment (data) of the text
// track init: that its samples are in order without overlap or zero
// durations, and that each sample is a well-formed cue of the track's
// format (wvtt: ISO/IEC 14496-30 cue boxes; stpp: a TTML document whose
// cue times lie in the sample's span). It reports at most MaxTextIssues;
// nil when the segment is clean or the track is no text track.
func CheckText(data []byte, init *InitInfo, info *SegmentInfo) []TextIssue {
	if init == nil || init.ContentType != "text" {
		return nil
	}
	var out textIssues
	checkSampleOrder(&out, info.TextSamples)
	for i, s := range info.TextSamples {
		if s.Offset < 0 || s.Size < 0 || s.Offset+s.Size > int64(len(data)) {
			out.add(TextMalformed, "sample %d: bytes [%d,%d) outside the segment", i+1, s.Offset, s.Offset+s.Size)
			continue
		}
		payload := data[s.Offset : s.Offset+s.Size]
		switch init.SampleEntry {
		case "wvtt":
			if err := checkWvttSample(payload); err != nil {
				out.add(TextMalformed, "sample %d: %v", i+1, err)
			}
		case "stpp":
			start := presentation(s)
			checkTTMLSample(&out, i+1, payload, start, start+uint64(s.Dur), init.Timescale)
		}
	}
	return out.list()
}

// textIssues collects at most MaxTextIssues issues and counts the rest.
type textIssues struct {
	issues []TextIssue
	more   int
}

func (t *textIssues) add(kind, format string, args ...any) {
	if len(t.issues) < MaxTextIssues {
		t.issues = append(t.issues, TextIssue{Kind: kind, Detail: fmt.Sprintf(format, args...)})
		return
	}
	t.more++
}

func (t *textIssues) list() []TextIssue {
	if t.more > 0 {
		last := &t.issues[len(t.issues)-1]
		last.Detail += fmt.Sprintf(" (and %d more issues in this segment)", t.more)
	}
	return t.issues
}

// presentation is when sample s is presented: DTS+CTO (ParseSegment has
// checked that it is not negative).
func presentation(s TextSample) uint64 {
	if s.CTO < 0 {
		return s.DTS - uint64(-s.CTO)
	}
	return s.DTS + uint64(s.CTO)
}

// checkSampleOrder reports samples that last zero ticks, or that start
// before the previous one ends (presentation times: decode times of a
// segment are sequential by construction).
func checkSampleOrder(out *textIssues, samples []TextSample) {
	var prevStart, prevEnd uint64
	for i, s := range samples {
		start := presentation(s)
		end := start + uint64(s.Dur)
		switch {
		case s.Dur == 0:
			out.add(TextOrder, "sample %d at %d has zero duration", i+1, start)
		case i > 0 && start < prevStart:
			out.add(TextOrder, "sample %d at %d goes back before sample %d at %d", i+1, start, i, prevStart)
		case i > 0 && start < prevEnd:
			out.add(TextOrder, "sample %d at %d overlaps sample %d, which ends at %d", i+1, start, i, prevEnd)
		}
		prevStart, prevEnd = start, max(prevEnd, end)
	}
}

// checkWvttSample checks that a wvtt sample is a sequence of cue boxes
// (ISO/IEC 14496-30): vttc holding a payl with UTF-8 text (and optional
// sttg, iden, ctim, vsid), vtte (an empty cue, no payload) or vtta.
func checkWvttSample(p []byte) error {
	if len(p) == 0 {
		return fmt.Errorf("empty sample: want vttc or vtte boxes")
	}
	return walkBoxes(p, func(typ string, body []byte) error {
		switch typ {
		case "vttc":
			return checkVttc(body)
		case "vtte":
			if len(body) != 0 {
				return fmt.Errorf("vtte (empty cue) has %d bytes of payload", len(body))
			}
		case "vtta":
		default:
			return fmt.Errorf("%q box where a cue (vttc, vtte, vtta) belongs", typ)
		}
		return nil
	})
}

// checkVttc checks a vttc box's children: one payl with UTF-8 text.
func checkVttc(body []byte) error {
	payls := 0
	err := walkBoxes(body, func(typ string, b []byte) error {
		switch typ {
		case "payl":
			payls++
			if !utf8.Valid(b) {
				return fmt.Errorf("payl is not UTF-8 text")
			}
		case "sttg", "iden", "ctim", "vsid":
			if !utf8.Valid(b) {
				return fmt.Errorf("%s is not UTF-8 text", typ)
			}
		default:
			return fmt.Errorf("%q box in vttc", typ)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("vttc: %w", err)
	}
	if payls != 1 {
		return fmt.Errorf("vttc has %d payl boxes, want 1", payls)
	}
	return nil
}

// walkBoxes calls fn with the type and body of each box of p, which must
// be a sequence of complete boxes with 32-bit sizes.
func walkBoxes(p []byte, fn func(typ string, body []byte) error) error {
	for off := 0; off < len(p); {
		if len(p)-off < BoxHeaderLen {
			return fmt.Errorf("%d stray bytes at offset %d, not a box", len(p)-off, off)
		}
		h, _ := ParseBoxHeader(p[off : off+BoxHeaderLen]) // 32-bit sizes only
		typ, size := h.Type, int64(h.Size)
		if !validFourCC(typ) {
			return fmt.Errorf("no box at offset %d (type %q)", off, typ)
		}
		if size < 8 || size > int64(len(p)-off) {
			return fmt.Errorf("%s box at offset %d has size %d, %d bytes left", typ, off, size, len(p)-off)
		}
		if err := fn(typ, p[off+BoxHeaderLen:off+int(size)]); err != nil {
			return err
		}
		off += int(size)
	}
	return nil
}

// GridTolerance is how far, in ticks, a segment's start and end may lie
// from its slot K×D … (K+1)×D on the epoch grid (segDur = D in the track
// timescale): less than one sample (the segment's first sample duration
// sampleDur; REaP audio starts within a frame of K×D), or D/100 when a
// sample is longer than D/4 (text and metadata tracks carry few, long
// samples).
func GridTolerance(sampleDur uint32, segDur uint64) int64 {
	tol := int64(sampleDur)
	if tol <= 0 || tol > int64(segDur)/4 {
		tol = int64(segDur) / 100
	}
	return tol
}

// TextTimingIssues says where info, segment K of a text track, is off its
// slot K×D … (K+1)×D on the epoch grid (segDur = D in the track
// timescale; GridTolerance) or overlaps the stored segment before it
// (ending at prevEnd) or after it (starting at nextStart) by GridTolerance
// or more; a nil neighbour is not stored.
func TextTimingIssues(k int64, segDur uint64, info *SegmentInfo, prevEnd, nextStart *uint64) []TextIssue {
	if segDur == 0 { // no grid known: nothing to check against
		return nil
	}
	var out textIssues
	d := int64(segDur)
	tol := GridTolerance(info.SampleDuration, segDur)
	start, end := int64(info.EPT), int64(info.EPT+info.Duration)
	if off := start - k*d; abs64(off) >= tol {
		out.add(TextAlignment, "starts at %d, %+d ticks from K×D = %d (tolerance under %d ticks)", start, off, k*d, tol)
	}
	if off := end - (k+1)*d; abs64(off) >= tol {
		out.add(TextAlignment, "ends at %d, %+d ticks from (K+1)×D = %d (tolerance under %d ticks)", end, off, (k+1)*d, tol)
	}
	if prevEnd != nil {
		if pe := int64(*prevEnd); pe-start >= tol {
			out.add(TextOrder, "starts at %d, %d ticks before the stored K %d ends (%d)", start, pe-start, k-1, pe)
		}
	}
	if nextStart != nil {
		if ns := int64(*nextStart); end-ns >= tol {
			out.add(TextOrder, "ends at %d, %d ticks after the stored K %d starts (%d)", end, end-ns, k+1, ns)
		}
	}
	return out.list()
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}
