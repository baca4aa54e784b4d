package layout

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// IndexDir is the directory, under a representation's, of its index
// objects (IndexObjectKey).
const IndexDir = "index"

// IndexObjectExt ends the name of an index object: gzip'd JSON lines.
const IndexObjectExt = ".jsonl.gz"

// IndexObjectVersion is the version of the index object format.
const IndexObjectVersion = 1

// IndexObjectKey is the key of the index object of a representation for
// the epoch indexes fromK..toK (inclusive):
// <channel>/<rep>/index/<fromK>-<toK>.jsonl.gz. An index object is a cache
// of facts about the representation's segment objects (IndexObject), written
// create-only and never changed; reindex reads it instead of each object's
// attributes.
func IndexObjectKey(channel, rep string, fromK, toK int64) string {
	return channel + "/" + rep + "/" + IndexDir + "/" + strconv.FormatInt(fromK, 10) + "-" + strconv.FormatInt(toK, 10) + IndexObjectExt
}

// parseIndexObjectName parses the <fromK>-<toK>.jsonl.gz of an index
// object's key; ok is false for a name not of that form at all (a fileblob
// sidecar, say), err set for one that ends like it but is malformed.
func parseIndexObjectName(name string) (fromK, toK int64, ok bool, err error) {
	base, found := strings.CutSuffix(name, IndexObjectExt)
	if !found {
		return 0, 0, false, nil
	}
	a, b, _ := strings.Cut(base, "-")
	fromK, e1 := strconv.ParseInt(a, 10, 64)
	toK, e2 := strconv.ParseInt(b, 10, 64)
	if e1 != nil || e2 != nil || fromK < 0 || toK < fromK || strconv.FormatInt(fromK, 10) != a || strconv.FormatInt(toK, 10) != b {
		return 0, 0, true, fmt.Errorf("not <fromK>-<toK>%s", IndexObjectExt)
	}
	return fromK, toK, true, nil
}

// IndexObject is the content of an index object: its header line, then
// one line per segment object.
type IndexObject struct {
	IndexHeader
	Entries []IndexEntry
}

// IndexHeader is the first line of an index object.
type IndexHeader struct {
	Version   int    `json:"version"`
	Channel   string `json:"channel"`
	Rep       string `json:"rep"`
	FromK     int64  `json:"from_k"`
	ToK       int64  `json:"to_k"`      // inclusive
	Timescale uint32 `json:"timescale"` // the track's, reap-timescale of every entry
	SegDur    uint64 `json:"segdur"`    // the track's D*T, reap-segdur of every entry
}

// IndexEntry describes one segment object of an index object: its name
// below <channel>/<rep>/ (<K>.<ext>, real/<K>.<ext> or
// splice-<id>/<K>.<ext>), its size, and what its reap-* attributes say.
type IndexEntry struct {
	K      int64  `json:"k"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	EPT    uint64 `json:"ept"`
	Dur    uint64 `json:"dur"`
	SHA256 string `json:"sha256"`
	Init   string `json:"init"`             // reap-init
	Source string `json:"source,omitempty"` // reap-source, "" when unknown
	Events int    `json:"events"`           // reap-events: 0 none
	Filler bool   `json:"filler,omitempty"` // reap-filler
	Last   bool   `json:"lmsg,omitempty"`   // reap-lmsg
}

// Attrs are the reap-* attributes e stands for, given the header h.
func (e IndexEntry) Attrs(h IndexHeader) SegmentAttrs {
	return SegmentAttrs{EPT: e.EPT, Duration: e.Dur, Timescale: h.Timescale, SegDur: h.SegDur, SHA256: e.SHA256,
		Init: e.Init, Source: e.Source, Events: e.Events, Filler: e.Filler, Last: e.Last}
}

// Encode is o as stored: gzip'd JSON lines.
func (o *IndexObject) Encode() ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(o.IndexHeader); err != nil {
		return nil, err
	}
	for i := range o.Entries {
		if err := enc.Encode(&o.Entries[i]); err != nil {
			return nil, err
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ErrBadIndexObject is an index object that cannot be read: not gzip'd
// JSON lines, truncated, of another version, or with an entry that does
// not fit its header.
var ErrBadIndexObject = errors.New("bad index object")

// ParseIndexObject reads an index object stored at key. Anything wrong,
// including a truncated object (gzip checks its length and CRC), gives an
// error wrapping ErrBadIndexObject: the whole object is then to be ignored.
func ParseIndexObject(key string, data []byte) (*IndexObject, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %s: %s", ErrBadIndexObject, key, fmt.Sprintf(format, args...))
	}
	k, err := Parse(key)
	if err != nil || k.Kind != KindIndex {
		return nil, bad("not an index object key")
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, bad("%v", err)
	}
	raw, err := inflate(zr, data)
	if err != nil {
		return nil, bad("%v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(nil, 1<<20)
	o := &IndexObject{Entries: make([]IndexEntry, 0, bytes.Count(raw, []byte("\n")))}
	for line := 0; sc.Scan(); line++ {
		if err := o.decodeLine(line, sc.Bytes()); err != nil {
			return nil, bad("line %d: %v", line+1, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, bad("%v", err)
	}
	if err := o.check(k); err != nil {
		return nil, bad("%v", err)
	}
	return o, nil
}

// inflate reads the gzip stream zr of data into a buffer sized once by the
// stream's trailer (ISIZE: the length of the last member's data, mod 2^32;
// trusted up to 64 MiB, beyond that the buffer grows as it is read).
func inflate(zr io.Reader, data []byte) ([]byte, error) {
	var b bytes.Buffer
	if n := len(data); n >= 4 {
		if size := binary.LittleEndian.Uint32(data[n-4:]); size <= 64<<20 {
			b.Grow(int(size) + bytes.MinRead)
		}
	}
	_, err := b.ReadFrom(zr)
	return b.Bytes(), err
}

// decodeLine decodes line number line (from 0) of an index object into o:
// the header, then one entry a line, decoded by parseEntryLine where it can
// and else by encoding/json (unknown fields refused).
func (o *IndexObject) decodeLine(line int, data []byte) error {
	if line == 0 {
		return decodeJSONLine(data, &o.IndexHeader)
	}
	var prev *IndexEntry
	if n := len(o.Entries); n > 0 {
		prev = &o.Entries[n-1]
	}
	var e IndexEntry
	if !parseEntryLine(data, &e, prev) {
		e = IndexEntry{}
		if err := decodeJSONLine(data, &e); err != nil {
			return err
		}
	}
	o.Entries = append(o.Entries, e)
	return nil
}

// decodeJSONLine decodes the JSON value a line starts with into v,
// refusing unknown fields.
func decodeJSONLine(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// check says what in o does not fit its key k.
func (o *IndexObject) check(k Object) error {
	h := o.IndexHeader
	switch {
	case h.Version != IndexObjectVersion:
		return fmt.Errorf("version %d, want %d", h.Version, IndexObjectVersion)
	case h.Channel != k.Channel || h.Rep != k.Rep || h.FromK != k.K || h.ToK != k.ToK:
		return fmt.Errorf("header says %s/%s K %d..%d, not what its key says", h.Channel, h.Rep, h.FromK, h.ToK)
	}
	for _, e := range o.Entries {
		if e.K < h.FromK || e.K > h.ToK || e.Name == "" || e.SHA256 == "" || e.Size < 0 {
			return fmt.Errorf("entry K %d %q: out of range or incomplete", e.K, e.Name)
		}
	}
	return nil
}
