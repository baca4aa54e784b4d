package manifest

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/Eyevinn/dash-mpd/mpd"
)

// placeholder prefix used to carry template identifiers (and literal "$")
// through net/url resolution untouched: "%0Nd" format tags would otherwise be
// read as percent escapes.
const phPrefix = "zqxreapph"

// resolveChain resolves the first BaseURL of each level in turn against base
// (multiple BaseURL elements on one level are alternatives; the first is
// used). It returns the resulting base and the sum of the BaseURL
// availabilityTimeOffset values met on the way.
func resolveChain(base *url.URL, levels ...[]*mpd.BaseURLType) (*url.URL, float64, error) {
	ato := 0.0
	for _, lv := range levels {
		if len(lv) == 0 || lv[0] == nil {
			continue
		}
		ato += float64(lv[0].AvailabilityTimeOffset)
		v := strings.TrimSpace(string(lv[0].Value))
		if v == "" {
			continue
		}
		ref, err := url.Parse(v)
		if err != nil {
			return nil, 0, fmt.Errorf("bad BaseURL %q: %w", v, err)
		}
		base = base.ResolveReference(ref)
	}
	return base, ato, nil
}

// resolveTemplate resolves a (partially substituted) template string
// against base, keeping template identifiers and "$$" escapes intact.
func resolveTemplate(base *url.URL, toks []tmplToken) (string, error) {
	var b strings.Builder
	for i, t := range toks {
		if t.ident == "" {
			b.WriteString(strings.ReplaceAll(t.lit, "$", phPrefix+"d"))
			continue
		}
		b.WriteString(phPrefix + "i" + strconv.Itoa(i) + "x")
	}
	s := b.String()
	for _, t := range toks {
		if strings.Contains(strings.ToLower(t.lit), phPrefix) {
			return "", fmt.Errorf("template contains reserved text %q", phPrefix)
		}
	}
	ref, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("bad URL template: %w", err)
	}
	out := ref.String()
	if base != nil {
		out = base.ResolveReference(ref).String()
	}
	out = strings.ReplaceAll(out, phPrefix+"d", "$$")
	for i, t := range toks {
		if t.ident != "" {
			out = strings.ReplaceAll(out, phPrefix+"i"+strconv.Itoa(i)+"x", identString(t))
		}
	}
	return out, nil
}
