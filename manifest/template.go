package manifest

import (
	"fmt"
	"strconv"
	"strings"
)

// Template identifiers of ISO/IEC 23009-1 clause 5.3.9.4.4.
const (
	identRepresentationID = "RepresentationID"
	identNumber           = "Number"
	identTime             = "Time"
	identBandwidth        = "Bandwidth"
	identSubNumber        = "SubNumber"
)

// tmplToken is one piece of a parsed SegmentTemplate URL template: either a
// literal (with "$$" already unescaped to "$") or an identifier with an
// optional %0<width>d format tag.
type tmplToken struct {
	lit   string
	ident string // empty for a literal
	width int    // 0 when no format tag
}

// parseTemplate splits a SegmentTemplate @media / @initialization string into
// tokens. It rejects unknown identifiers, unterminated "$" and malformed
// format tags, and a format tag on $RepresentationID$ (forbidden by the spec).
func parseTemplate(s string) ([]tmplToken, error) {
	var toks []tmplToken
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, tmplToken{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' {
			lit.WriteByte(c)
			i++
			continue
		}
		end := strings.IndexByte(s[i+1:], '$')
		if end < 0 {
			return nil, fmt.Errorf("template %q: unterminated $ at offset %d", s, i)
		}
		body := s[i+1 : i+1+end]
		i += end + 2
		if body == "" { // "$$" is an escaped "$"
			lit.WriteByte('$')
			continue
		}
		name, format, hasFormat := strings.Cut(body, "%")
		switch name {
		case identRepresentationID, identNumber, identTime, identBandwidth, identSubNumber:
		default:
			return nil, fmt.Errorf("template %q: unknown identifier $%s$", s, body)
		}
		width := 0
		if hasFormat {
			if name == identRepresentationID {
				return nil, fmt.Errorf("template %q: $RepresentationID$ must not have a format tag", s)
			}
			if len(format) < 3 || format[0] != '0' || format[len(format)-1] != 'd' {
				return nil, fmt.Errorf("template %q: format tag %%%s of $%s$ is not %%0<width>d", s, format, name)
			}
			w, err := strconv.Atoi(format[1 : len(format)-1])
			if err != nil || w < 1 || w > 64 {
				return nil, fmt.Errorf("template %q: bad width in format tag %%%s", s, format)
			}
			width = w
		}
		flush()
		toks = append(toks, tmplToken{ident: name, width: width})
	}
	flush()
	return toks, nil
}

// hasIdent reports whether the tokens contain the identifier name.
func hasIdent(toks []tmplToken, name string) bool {
	for _, t := range toks {
		if t.ident == name {
			return true
		}
	}
	return false
}

// formatIdent renders an identifier value with its width (zero padded, never
// truncated, as printf %0Nd does).
func formatIdent(v string, width int) string {
	if width > 0 && len(v) < width {
		return strings.Repeat("0", width-len(v)) + v
	}
	return v
}

// renderTemplate substitutes the identifiers present in vals. When full is
// true, every identifier must be in vals and literal "$" is written as-is
// (the result is a URL); otherwise identifiers missing from vals are kept
// as template identifiers (with their format tag) and literal "$" is
// re-escaped as "$$" (the result is still a template).
func renderTemplate(toks []tmplToken, vals map[string]string, full bool) (string, error) {
	var b strings.Builder
	for _, t := range toks {
		if t.ident == "" {
			if full {
				b.WriteString(t.lit)
			} else {
				b.WriteString(strings.ReplaceAll(t.lit, "$", "$$"))
			}
			continue
		}
		if v, ok := vals[t.ident]; ok {
			b.WriteString(formatIdent(v, t.width))
			continue
		}
		if full {
			return "", fmt.Errorf("no value for $%s$", t.ident)
		}
		b.WriteString(identString(t))
	}
	return b.String(), nil
}

// identString writes an identifier token back in template syntax.
func identString(t tmplToken) string {
	if t.width > 0 {
		return fmt.Sprintf("$%s%%0%dd$", t.ident, t.width)
	}
	return "$" + t.ident + "$"
}
