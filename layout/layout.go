// Package layout says where every object of an archive lives. Every key is a
// pure function of (channel, representation, epoch index K) or of an object's
// content (a splice's objects: also of the splice id), so a segment is found
// from time alone, without listing. LAYOUT.md
// at the repository root is the normative description of these keys.
package layout

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Kind is what an object key denotes.
type Kind int

// Kinds of archive objects.
const (
	KindUnknown    Kind = iota
	KindMedia           // <channel>/<rep>/<K>.<ext>
	KindInit            // <channel>/<rep>/init-<hash>.mp4
	KindIMPD            // <channel>/impd-<hash>.mpd
	KindFiller          // <channel>/<rep>/filler/<K>-<slate>.<ext>
	KindFillerInit      // <channel>/<rep>/filler/init-<hash>.mp4
	KindSpliced         // <channel>/<rep>/splice-<id>/<K>.<ext>
	KindSplice          // <channel>/splice-<id>.json
	KindReal            // <channel>/<rep>/real/<K>.<ext>
	KindIndex           // <channel>/<rep>/index/<fromK>-<toK>.jsonl.gz
)

// Object is a parsed key.
type Object struct {
	Kind    Kind
	Channel string
	Rep     string
	K       int64  // KindMedia, KindFiller, KindSpliced, KindReal; the first K of a KindIndex
	ToK     int64  // the last K of a KindIndex
	Hash    string // KindInit, KindIMPD, KindFillerInit; the slate id of a KindFiller; the splice id of KindSplice and KindSpliced
	Ext     string // without dot
}

// HashLen is the number of hex digits of sha256 used in content-addressed keys.
const HashLen = 16

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// ErrBadName is returned for channel, source or representation names that
// cannot be used as key components.
var ErrBadName = errors.New("invalid name")

// ValidName checks a channel, source or representation name: 1–128 characters
// of [A-Za-z0-9._-], starting with a letter or digit (so never "." or "..").
func ValidName(kind, s string) error {
	if !nameRE.MatchString(s) {
		return fmt.Errorf("%w: %s %q (want 1-128 of [A-Za-z0-9._-], starting with a letter or digit)", ErrBadName, kind, s)
	}
	return nil
}

// Ext returns the extension (no dot) of a track's media segments. It is
// "m4s" for every track type: the CMAF extensions (cmfv, cmfa, cmft, cmfm)
// would say more, but ffmpeg's DASH demuxer refuses to open them (its
// allowed_extensions list), and zero-copy exports must play as they are.
// The track type is recorded in the init segment and the index. The index
// keeps the extension per track, so a later layout version can change it.
func Ext(contentType string) string {
	_ = contentType
	return "m4s"
}

// InitExt is the extension of init segments.
const InitExt = "mp4"

// MediaKey is the key of media segment K of a representation.
func MediaKey(channel, rep string, k int64, ext string) string {
	return channel + "/" + rep + "/" + strconv.FormatInt(k, 10) + "." + ext
}

// InitKey is the key of an init segment (CMAF header), addressed by content.
// hash is the full or shortened hex sha256; it is cut to HashLen.
func InitKey(channel, rep, hash string) string {
	return channel + "/" + rep + "/init-" + short(hash) + "." + InitExt
}

// IMPDKey is the key of an I-MPD as received, addressed by content.
func IMPDKey(channel, hash string) string {
	return channel + "/impd-" + short(hash) + ".mpd"
}

// FillerDir is the directory, under a representation's, of the filler
// objects that `export-vod --gaps fill` splices over gaps.
const FillerDir = "filler"

// FillerKey is the key of the filler segment for epoch index K of a
// representation, made from the slate track whose id (the first HashLen hex
// digits of the SHA-256 of the slate track's init and media) is slate. The
// object is a pure function of (slate, track timing, K), so it is written
// create-only and reused by every later export.
func FillerKey(channel, rep string, k int64, slate, ext string) string {
	return fillerKey(channel, rep, strconv.FormatInt(k, 10), slate, ext)
}

// FillerPattern is FillerKey with the template identifier $Number$ for K,
// the media pattern of a run of fillers in a manifest.
func FillerPattern(channel, rep, slate, ext string) string {
	return fillerKey(channel, rep, "$Number$", slate, ext)
}

func fillerKey(channel, rep, k, slate, ext string) string {
	return channel + "/" + rep + "/" + FillerDir + "/" + k + "-" + short(slate) + "." + ext
}

// FillerInitKey is the key of the init segment filler segments decode with
// (the slate track's, addressed by content like InitKey).
func FillerInitKey(channel, rep, hash string) string {
	return channel + "/" + rep + "/" + FillerDir + "/init-" + short(hash) + "." + InitExt
}

// QuarantineDir is the directory, under a representation's, where repair
// keeps the bytes of a corrupt object it replaced.
const QuarantineDir = "quarantine"

// QuarantineKey is where repair keeps the bytes of a corrupt media object
// of epoch index K that it replaced: <channel>/<rep>/quarantine/<K>-<h16>.<ext>,
// h16 the first HashLen hex digits of the SHA-256 of those bytes. Nothing
// reads it; an operator may inspect or delete it.
func QuarantineKey(channel, rep string, k int64, sha256Hex, ext string) string {
	return channel + "/" + rep + "/" + QuarantineDir + "/" + strconv.FormatInt(k, 10) + "-" + short(sha256Hex) + "." + ext
}

// RealDir is the directory, under a representation's, of the real copies
// of K whose <K>.<ext> is an encoder's filler (styp brand slat).
const RealDir = "real"

// RealKey is the key of the real copy of segment K of a representation
// whose <channel>/<rep>/<K>.<ext> is an encoder's filler: the first
// delivery of K without slat, written create-only after the filler. The
// filler stays at its key; where both exist, the real copy stands for K
// (LAYOUT.md, Encoder fillers).
func RealKey(channel, rep string, k int64, ext string) string {
	return channel + "/" + rep + "/" + RealDir + "/" + strconv.FormatInt(k, 10) + "." + ext
}

// SpliceDirPrefix starts the name of a splice's directory under a
// representation's: splice-<id>.
const SpliceDirPrefix = "splice-"

// SpliceRecordExt is the extension of splice records.
const SpliceRecordExt = "json"

// SpliceKey is the key of the replacement segment for epoch index K of a
// representation written by splice id (`reaparchive splice`). The original
// <channel>/<rep>/<K>.<ext> is never overwritten: a splice only adds
// objects, and undoing it deletes exactly those.
func SpliceKey(channel, rep, id string, k int64, ext string) string {
	return SpliceDir(channel, rep, id) + strconv.FormatInt(k, 10) + "." + ext
}

// SpliceDir is the prefix (ending in "/") of every replacement segment of
// splice id in a representation.
func SpliceDir(channel, rep, id string) string {
	return channel + "/" + rep + "/" + SpliceDirPrefix + id + "/"
}

// SpliceRecordKey is the key of the record of splice id: the JSON object,
// written last and create-only, whose presence makes the splice active.
func SpliceRecordKey(channel, id string) string {
	return channel + "/" + SpliceDirPrefix + id + "." + SpliceRecordExt
}

// ValidSpliceID checks a splice id: HashLen lower-case hex digits.
func ValidSpliceID(id string) error {
	if len(id) != HashLen || !isHex(id) {
		return fmt.Errorf("%w: splice id %q (want %d lower-case hex digits)", ErrBadName, id, HashLen)
	}
	return nil
}

// InitID is the short content id of an init segment, as used in keys and in
// MetaInit.
func InitID(hash string) string { return short(hash) }

func short(h string) string {
	if len(h) > HashLen {
		return h[:HashLen]
	}
	return h
}

// Parse interprets a key. Keys that are not archive objects give KindUnknown
// and no error; malformed archive keys give an error.
func Parse(key string) (Object, error) {
	parts := strings.Split(key, "/")
	switch len(parts) {
	case 2:
		name := parts[1]
		if strings.HasPrefix(name, "impd-") && strings.HasSuffix(name, ".mpd") {
			h := strings.TrimSuffix(strings.TrimPrefix(name, "impd-"), ".mpd")
			if !isHex(h) {
				return Object{}, fmt.Errorf("layout: bad I-MPD key %q", key)
			}
			return Object{Kind: KindIMPD, Channel: parts[0], Hash: h, Ext: "mpd"}, nil
		}
		if id, ok := strings.CutPrefix(name, SpliceDirPrefix); ok && strings.HasSuffix(id, "."+SpliceRecordExt) {
			id = strings.TrimSuffix(id, "."+SpliceRecordExt)
			if ValidSpliceID(id) != nil {
				return Object{}, fmt.Errorf("layout: bad splice record key %q", key)
			}
			return Object{Kind: KindSplice, Channel: parts[0], Hash: id, Ext: SpliceRecordExt}, nil
		}
		return Object{}, nil
	case 3:
		ch, rep, name := parts[0], parts[1], parts[2]
		dot := strings.LastIndexByte(name, '.')
		if dot <= 0 {
			return Object{}, nil
		}
		base, ext := name[:dot], name[dot+1:]
		if strings.HasPrefix(base, "init-") {
			h := strings.TrimPrefix(base, "init-")
			if !isHex(h) {
				return Object{}, fmt.Errorf("layout: bad init key %q", key)
			}
			return Object{Kind: KindInit, Channel: ch, Rep: rep, Hash: h, Ext: ext}, nil
		}
		k, err := strconv.ParseInt(base, 10, 64)
		if err != nil || k < 0 {
			return Object{}, nil
		}
		return Object{Kind: KindMedia, Channel: ch, Rep: rep, K: k, Ext: ext}, nil
	case 4:
		return parseSubdir(key, parts[0], parts[1], parts[2], parts[3])
	}
	return Object{}, nil
}

// parseSubdir interprets <ch>/<rep>/<dir>/<name>, a key in a directory
// below a representation's.
func parseSubdir(key, ch, rep, dir, name string) (Object, error) {
	dot := strings.LastIndexByte(name, '.')
	if id, ok := strings.CutPrefix(dir, SpliceDirPrefix); ok && dot > 0 {
		k, err := strconv.ParseInt(name[:dot], 10, 64)
		if ValidSpliceID(id) != nil || err != nil || k < 0 || strconv.FormatInt(k, 10) != name[:dot] {
			return Object{}, nil // e.g. a fileblob sidecar "<K>.m4s.attrs"
		}
		return Object{Kind: KindSpliced, Channel: ch, Rep: rep, K: k, Hash: id, Ext: name[dot+1:]}, nil
	}
	if dir == IndexDir {
		from, to, ok, err := parseIndexObjectName(name)
		if err != nil {
			return Object{}, fmt.Errorf("layout: bad index object key %q: %w", key, err)
		}
		if !ok {
			return Object{}, nil // e.g. a fileblob sidecar "<from>-<to>.jsonl.gz.attrs"
		}
		return Object{Kind: KindIndex, Channel: ch, Rep: rep, K: from, ToK: to, Ext: strings.TrimPrefix(IndexObjectExt, ".")}, nil
	}
	if dir == RealDir && dot > 0 {
		k, err := strconv.ParseInt(name[:dot], 10, 64)
		if err != nil || k < 0 || strconv.FormatInt(k, 10) != name[:dot] {
			return Object{}, nil // e.g. a fileblob sidecar "<K>.m4s.attrs"
		}
		return Object{Kind: KindReal, Channel: ch, Rep: rep, K: k, Ext: name[dot+1:]}, nil
	}
	if dir != FillerDir || dot <= 0 {
		return Object{}, nil
	}
	base, ext := name[:dot], name[dot+1:]
	if h, ok := strings.CutPrefix(base, "init-"); ok {
		if !isHex(h) {
			return Object{}, fmt.Errorf("layout: bad filler init key %q", key)
		}
		return Object{Kind: KindFillerInit, Channel: ch, Rep: rep, Hash: h, Ext: ext}, nil
	}
	num, slate, ok := strings.Cut(base, "-")
	if !ok {
		return Object{}, nil
	}
	k, err := strconv.ParseInt(num, 10, 64)
	if err != nil || k < 0 || strconv.FormatInt(k, 10) != num || !isHex(slate) {
		return Object{}, nil // e.g. a fileblob sidecar "<K>-<slate>.m4s.attrs"
	}
	return Object{Kind: KindFiller, Channel: ch, Rep: rep, K: k, Hash: slate, Ext: ext}, nil
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
