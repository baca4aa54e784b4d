package ingest

import (
	"io"
	"slices"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
)

// headHint is the buffer a streamed segment's head starts in: its styp,
// prft, emsg and moof boxes (a moof of a few hundred samples fits).
const headHint = 16 << 10

// readBody reads the rest of a per-segment body, whose first box header h
// is read, into o.Data, growing buf (the request's share of the buffer
// budget) as it grows. streamed (the archive streams the track's segments
// and the body has a Content-Length, total): whole boxes up to the header
// of an mdat that directly follows a moof and ends the body (readHead);
// o.BodySize is then that mdat's payload, left in the body, and buf grows
// by the chunk the store writes it in. Otherwise, or if the body's boxes
// do not end so, all of it.
func readBody(in io.Reader, h boxHeader, o archive.Offer, total, limit int64, streamed bool, buf *reservation) (archive.Offer, error) {
	var err error
	if !streamed {
		if o.Data, err = readBoxBody(in, h, o.Data); err != nil {
			return o, err
		}
		o.Data, err = readRest(in, o.Data, limit, buf)
		return o, err
	}
	var rest int64
	o.Data, rest, err = readHead(in, h, o.Data, total, limit, buf)
	if err != nil || rest < 0 {
		if err == nil {
			o.Data, err = readAll(in, o.Data, total, limit, buf)
		}
		return o, err
	}
	o.BodySize = rest
	return o, buf.grow(int64(cap(o.Data)) + cloud.StreamChunk)
}

// readHead reads whole boxes, the first with header h, into data until
// the header of an mdat that directly follows a moof and whose end is the
// body's end (total bytes): rest is then that mdat's payload, still in
// the body. A body that ends otherwise (an init segment, several
// fragments, a box that runs past the end) has rest -1, data what is read
// so far, and the caller reads the remainder as bytes. A box that starts
// is read whole, growing buf first. A box header that is not CMAF, or
// over limit bytes, is refused as readBoxHeader says.
func readHead(in io.Reader, h boxHeader, data []byte, total, limit int64, buf *reservation) (_ []byte, rest int64, err error) {
	prev := ""
	for {
		end := int64(len(data)) + h.size
		if h.typ == "mdat" && prev == "moof" && end == total {
			return append(data, h.raw[:h.hdrLen]...), h.size - int64(h.hdrLen), nil
		}
		if h.typ == "mdat" || h.typ == "moov" || end >= total {
			return append(data, h.raw[:h.hdrLen]...), -1, nil
		}
		if err := buf.grow(end); err != nil {
			return data, 0, err
		}
		if data, err = readBoxBody(in, h, data); err != nil {
			return data, 0, err
		}
		prev = h.typ
		if h, err = readBoxHeader(in, limit); err == io.EOF {
			return data, -1, nil // the body ended (then it is not a media segment)
		} else if err != nil {
			return data, 0, err
		}
	}
}

// readAll reads the rest of a body of total bytes (its Content-Length)
// into data as bytes, taking its room in buf up front, as a body that is
// not streamed does.
func readAll(in io.Reader, data []byte, total, limit int64, buf *reservation) ([]byte, error) {
	if err := buf.grow(total); err != nil {
		return data, err
	}
	data = slices.Grow(data, int(min(total, limit+1))-len(data))
	return readRest(in, data, limit, buf)
}
