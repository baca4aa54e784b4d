package manifest

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// Bounds on an untrusted MPD, checked before any byte reaches dash-mpd.
const (
	// MaxMPDSize is the largest MPD accepted, in bytes.
	MaxMPDSize = 16 << 20
	// maxMPDTokens bounds the XML tokens (elements, text runs, comments…).
	maxMPDTokens = 1 << 21
	// maxMPDDepth bounds element nesting; an MPD needs well under 20.
	maxMPDDepth = 64
	// mpdParseTimeout is the last-resort bound on dash-mpd's unmarshal of a
	// document the pre-check accepted.
	mpdParseTimeout = 10 * time.Second
)

// ErrMPDParseTimeout is returned when dash-mpd did not finish parsing an MPD
// the pre-check accepted within the time bound.
var ErrMPDParseTimeout = errors.New("MPD parser did not finish in time")

// decodeMPD is the one place untrusted MPD bytes are handed to dash-mpd's
// XML unmarshal. It bounds the size, checks well-formedness with the
// standard library's encoding/xml (token count, nesting depth, and the
// character data dash-mpd v0.16.0 loops on forever), and bounds the
// unmarshal's run time.
func decodeMPD(ctx context.Context, data []byte) (*mpd.MPD, error) {
	if len(data) > MaxMPDSize {
		return nil, fmt.Errorf("MPD of %d bytes is over the %d byte limit", len(data), MaxMPDSize)
	}
	if err := precheckXML(data); err != nil {
		return nil, err
	}
	return unmarshalBounded(ctx, data, mpdParseTimeout)
}

// precheckXML reads data as XML with encoding/xml and refuses what is not
// well-formed, nests deeper than maxMPDDepth, has more than maxMPDTokens
// tokens, or has a raw '>' in character data outside CDATA.
//
// The last is valid XML, but dash-mpd v0.16.0's fork of encoding/xml stops a
// text run at an unquoted '>' (xml.go, (*Decoder).text: "Possible end of
// tag reached", ungetc('>')) without consuming it, so rawToken returns an
// empty text token forever and (*Decoder).unmarshal's search for the start
// element never ends. MPDs write it as &gt;.
func precheckXML(data []byte) error {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	depth, root := 0, false
	for n := 0; ; n++ {
		if n >= maxMPDTokens {
			return fmt.Errorf("malformed MPD XML: more than %d XML tokens", maxMPDTokens)
		}
		start := d.InputOffset()
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("malformed MPD XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			root = true
			if depth > maxMPDDepth {
				return fmt.Errorf("malformed MPD XML: element <%s> at byte %d nests deeper than %d levels", t.Name.Local, start, maxMPDDepth)
			}
		case xml.EndElement:
			depth--
		case xml.CharData:
			raw := data[start:d.InputOffset()]
			if bytes.HasPrefix(raw, []byte("<![CDATA[")) {
				continue
			}
			if i := bytes.IndexByte(raw, '>'); i >= 0 {
				return fmt.Errorf("malformed MPD XML: unescaped '>' in character data at byte %d (write &gt;)", start+int64(i))
			}
		}
	}
	if !root {
		return errors.New("malformed MPD XML: no root element")
	}
	return nil
}

// unmarshalBounded runs dash-mpd's unmarshal with a deadline (and stops
// waiting when ctx is done). On timeout the parsing goroutine cannot be
// stopped and is left to finish; the pre-check exists so that this does not
// happen for any known input.
func unmarshalBounded(ctx context.Context, data []byte, limit time.Duration) (*mpd.MPD, error) {
	type result struct {
		m   *mpd.MPD
		err error
	}
	done := make(chan result, 1)
	go func() {
		m, err := mpd.MPDFromBytes(data)
		done <- result{m, err}
	}()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("malformed MPD XML: %w", r.err)
		}
		return r.m, nil
	case <-timer.C:
		return nil, fmt.Errorf("%w (%v)", ErrMPDParseTimeout, limit)
	case <-ctx.Done():
		return nil, fmt.Errorf("parsing MPD: %w", ctx.Err())
	}
}
