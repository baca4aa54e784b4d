package archive

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/index"
)

// ErrBody marks a streamed segment (Offer.Body) whose body failed or ended
// early while the archive read it: nothing of it is stored or indexed.
var ErrBody = errors.New("segment body incomplete")

// errBodyUsed: a streamed segment's body was needed a second time (it had
// gone into an object whose key turned out to be taken, and was then to
// replace an encoder's filler); the source's retry completes it.
var errBodyUsed = errors.New("segment body already read once: retry the delivery")

// StreamsSegments is the one rule that says how the media segments of a
// track whose content is contentType (cmaf.InitInfo.ContentType) reach the
// store. True: streamed — an adapter may hand OfferSegment only a
// segment's head and its mdat payload as a stream (Offer.Body), written to
// the object as it arrives, so memory per delivery is a chunk, not the
// segment. That needs a store that takes streams
// (cloud.Store.CanCreateStream: file stores with xattrs), no spool (a
// spooled segment needs its bytes) and video or audio (the archive reads
// the samples of text tracks; events come from the head). False: buffered
// — the whole segment in Offer.Data, as for S3 and GCS.
func (a *Archive) StreamsSegments(contentType string) bool {
	return a.Store.CanCreateStream() && a.Spool == nil && (contentType == "video" || contentType == "audio")
}

// segmentBody is a streamed segment's body (Offer.Body) as OfferSegment
// reads it: exactly Offer.BodySize bytes, hashed (after the head) as they
// pass. A read error, or an end before BodySize, wraps ErrBody.
type segmentBody struct {
	r       io.Reader
	left    int64
	sum     hash.Hash
	started bool // reading began: the body cannot be read again
}

// newSegmentBody is o's body, its hash fed o's head.
func newSegmentBody(o Offer) *segmentBody {
	sum := sha256.New()
	sum.Write(o.Data)
	return &segmentBody{r: o.Body, left: o.BodySize, sum: sum}
}

func (b *segmentBody) Read(p []byte) (int, error) {
	b.started = true
	if b.left <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.left)]
	n, err := b.r.Read(p)
	b.sum.Write(p[:n])
	b.left -= int64(n)
	switch {
	case err == io.EOF && b.left > 0:
		return n, fmt.Errorf("%w: %w: %d bytes missing", ErrBody, io.ErrUnexpectedEOF, b.left)
	case err != nil && err != io.EOF:
		return n, fmt.Errorf("%w: %w", ErrBody, err)
	}
	return n, err
}

// digest is the segment's SHA-256 (lower-case hex), once the body is read.
func (b *segmentBody) digest() string { return hex.EncodeToString(b.sum.Sum(nil)) }

// parseOffer parses o with the init it decodes with: the whole segment,
// or (streamed) its head.
func parseOffer(o Offer, init *cmaf.InitInfo) (*cmaf.SegmentInfo, error) {
	if o.Body == nil {
		return cmaf.ParseSegmentWithSum(o.Data, init, o.SHA256)
	}
	return cmaf.ParseSegmentHead(o.Data, o.size(), init)
}

// size is the bytes of o's segment.
func (o Offer) size() int64 { return int64(len(o.Data)) + o.BodySize }

// streamOrBuffer keeps d streamed if StreamsSegments says so for its
// track; otherwise (a streamed offer for a track that is not, or no
// longer, streamed) it reads the rest of the body into d's Data, and d
// goes the buffered way.
func (c *Channel) streamOrBuffer(d *offered) error {
	if d.body == nil || c.a.StreamsSegments(d.cur.info.ContentType) {
		return nil
	}
	data := make([]byte, d.o.size())
	copy(data, d.o.Data)
	if _, err := io.ReadFull(d.body, data[len(d.o.Data):]); err != nil {
		return fmt.Errorf("%s %s from %s: %w", c.Info.Name, d.o.Rep, d.o.Source, err)
	}
	d.info.SHA256 = d.body.digest()
	d.o.Data, d.o.Body, d.body = data, nil, nil
	return nil
}

// createObject writes d's segment create-only under key with its
// attributes: streamed (cloud.Store.CreateStream: d.info.SHA256 is set
// once the body is read, before the attributes are) or buffered.
func (c *Channel) createObject(ctx context.Context, d *offered, key string) error {
	if d.body == nil {
		return c.a.Store.Create(ctx, key, d.o.Data, segmentMeta(d.info, d.cur, d.track, d.o.Source))
	}
	if d.body.started {
		return fmt.Errorf("store %s: %w", key, errBodyUsed)
	}
	return c.a.Store.CreateStream(ctx, key, d.o.Data, d.body, d.o.BodySize, func() (map[string]string, error) {
		d.info.SHA256 = d.body.digest()
		return segmentMeta(d.info, d.cur, d.track, d.o.Source), nil
	})
}

// hashUnwritten reads what is left of d's streamed body without writing
// it, for its SHA-256: d is a later copy of K, whose copy stored is kept
// and is compared by hash (classify). A real copy of a K whose stored copy
// is an encoder's filler is left unread: replaceFiller writes it.
func (c *Channel) hashUnwritten(d *offered, stored index.Segment) error {
	if d.body == nil || d.body.started || (stored.Filler && !d.info.Filler) {
		return nil
	}
	if _, err := io.Copy(io.Discard, d.body); err != nil {
		return fmt.Errorf("%s %s from %s: %w", c.Info.Name, d.o.Rep, d.o.Source, err)
	}
	d.info.SHA256 = d.body.digest()
	return nil
}
