package ingest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/reaparchive/reaparchive/layout"
)

// Prefix is the URL path prefix of every ingest endpoint.
const Prefix = "/ingest/"

// maxPathLen bounds the escaped request path.
const maxPathLen = 1024

// targetKind is what an ingest URL addresses.
type targetKind int

const (
	kindSegment targetKind = iota // /ingest/<channel>/<source>/<rep>/<name>.<ext>
	kindStream                    // /ingest/<channel>/<source>/Streams(<rep>.<ext>)
	kindMPD                       // /ingest/<channel>/<source>/<name>.mpd
)

func (k targetKind) String() string {
	switch k {
	case kindSegment:
		return "segment"
	case kindStream:
		return "stream"
	default:
		return "mpd"
	}
}

// target is a parsed and validated ingest URL path.
type target struct {
	kind    targetKind
	channel string
	source  string
	rep     string // kindSegment, kindStream
	name    string // the last path segment as sent
	ext     string // without dot
}

// mediaExts are the extensions accepted for init and media segments.
var mediaExts = map[string]bool{"cmfv": true, "cmfa": true, "cmft": true, "cmfm": true, "m4s": true, "mp4": true}

// errPath is a malformed ingest path: 400 with the reason.
var errPath = errors.New("bad ingest path")

func pathErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errPath, fmt.Sprintf(format, args...))
}

// parseTarget validates the escaped request path (as sent, before any
// decoding) and splits it. Only the parentheses of Streams(…) may be
// percent-encoded; any other escape (%2F, %2E, %5C, …) is refused, as are
// empty, "." and ".." segments, so a path can never name anything outside
// <channel>/<source>/<rep>.
func parseTarget(escaped string) (target, error) {
	if len(escaped) > maxPathLen {
		return target{}, pathErr("path of %d bytes is longer than %d", len(escaped), maxPathLen)
	}
	rest, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		return target{}, pathErr("path must start with %s", Prefix)
	}
	if i := strings.IndexByte(rest, '%'); i >= 0 {
		r := strings.NewReplacer("%28", "(", "%29", ")")
		rest = r.Replace(rest)
		if j := strings.IndexByte(rest, '%'); j >= 0 {
			esc := rest[j:min(j+3, len(rest))]
			return target{}, pathErr("percent-encoded %q in path: encoded characters (separators, dots) are not accepted", esc)
		}
	}
	parts := strings.Split(rest, "/")
	for _, p := range parts {
		switch p {
		case "":
			return target{}, pathErr("empty path segment (double or trailing slash, or an absolute path)")
		case ".", "..":
			return target{}, pathErr("dot segment %q in path", p)
		}
	}
	const shape = "want /ingest/<channel>/<source>/<rep>/<name>.<ext>, /ingest/<channel>/<source>/Streams(<rep>.<ext>) or /ingest/<channel>/<source>/<name>.mpd"
	if len(parts) != 3 && len(parts) != 4 {
		return target{}, pathErr("%d path segments after %s: %s", len(parts), Prefix, shape)
	}
	t := target{channel: parts[0], source: parts[1], name: parts[len(parts)-1]}
	if err := layout.ValidName("channel", t.channel); err != nil {
		return target{}, fmt.Errorf("%w: %w", errPath, err)
	}
	if err := layout.ValidName("source", t.source); err != nil {
		return target{}, fmt.Errorf("%w: %w", errPath, err)
	}
	if len(parts) == 4 {
		t.kind, t.rep = kindSegment, parts[2]
		if err := layout.ValidName("representation", t.rep); err != nil {
			return target{}, fmt.Errorf("%w: %w", errPath, err)
		}
		stem, ext, err := splitExt(t.name)
		if err != nil {
			return target{}, err
		}
		if err := layout.ValidName("segment name", stem); err != nil {
			return target{}, fmt.Errorf("%w: %w", errPath, err)
		}
		t.ext = ext
		return t, nil
	}
	if inner, ok := strings.CutPrefix(t.name, "Streams("); ok {
		inner, ok = strings.CutSuffix(inner, ")")
		if !ok {
			return target{}, pathErr("%q: want Streams(<rep>.<ext>)", t.name)
		}
		rep, ext, err := splitExt(inner)
		if err != nil {
			return target{}, err
		}
		if err := layout.ValidName("representation", rep); err != nil {
			return target{}, fmt.Errorf("%w: %w", errPath, err)
		}
		t.kind, t.rep, t.ext = kindStream, rep, ext
		return t, nil
	}
	if stem, ok := strings.CutSuffix(t.name, ".mpd"); ok {
		if err := layout.ValidName("MPD name", stem); err != nil {
			return target{}, fmt.Errorf("%w: %w", errPath, err)
		}
		t.kind, t.ext = kindMPD, "mpd"
		return t, nil
	}
	return target{}, pathErr("%q: %s", t.name, shape)
}

// splitExt splits name.ext and checks that ext is a CMAF (or .m4s/.mp4)
// segment extension.
func splitExt(name string) (stem, ext string, err error) {
	dot := strings.LastIndexByte(name, '.')
	if dot <= 0 {
		return "", "", pathErr("%q has no extension: want .cmfv, .cmfa, .cmft, .cmfm, .m4s or .mp4", name)
	}
	stem, ext = name[:dot], name[dot+1:]
	if !mediaExts[ext] {
		return "", "", pathErr("%q: extension %q is not one of .cmfv, .cmfa, .cmft, .cmfm, .m4s, .mp4", name, ext)
	}
	return stem, ext, nil
}
