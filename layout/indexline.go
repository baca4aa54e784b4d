package layout

import (
	"bytes"
	"strconv"
)

// parseEntryLine decodes an entry line of an index object into e (zero)
// without reflection, for lines exactly as IndexObject.Encode writes them:
// the fields in their order, omitted when empty where they may be, no white
// space, strings of printable ASCII without escapes, integers in canonical
// form. It decodes such a line as encoding/json does; for any other line it
// returns false, leaving e partly set, and the caller decodes the line with
// encoding/json. prev is the entry before (or nil): its init and source
// strings are reused when they repeat, as they mostly do.
func parseEntryLine(line []byte, e, prev *IndexEntry) bool {
	p := entryParser{b: line}
	ok := p.lit(`{"k":`) && p.int(&e.K) &&
		p.lit(`,"name":`) && p.str(&e.Name, "") &&
		p.lit(`,"size":`) && p.int(&e.Size) &&
		p.lit(`,"ept":`) && p.uint(&e.EPT) &&
		p.lit(`,"dur":`) && p.uint(&e.Dur) &&
		p.lit(`,"sha256":`) && p.str(&e.SHA256, "")
	if !ok {
		return false
	}
	var prevInit, prevSource string
	if prev != nil {
		prevInit, prevSource = prev.Init, prev.Source
	}
	if !p.lit(`,"init":`) || !p.str(&e.Init, prevInit) {
		return false
	}
	if p.lit(`,"source":`) && (!p.str(&e.Source, prevSource) || e.Source == "") {
		return false // omitempty: "source":"" is not what Encode writes
	}
	var events int64
	if !p.lit(`,"events":`) || !p.int(&events) {
		return false
	}
	e.Events = int(events)
	e.Filler = p.lit(`,"filler":true`)
	e.Last = p.lit(`,"lmsg":true`)
	return p.lit("}") && len(p.b) == 0
}

// entryParser consumes an index object's entry line from the front.
type entryParser struct{ b []byte }

// lit consumes s if the line goes on with it.
func (p *entryParser) lit(s string) bool {
	if len(p.b) < len(s) || string(p.b[:len(s)]) != s {
		return false
	}
	p.b = p.b[len(s):]
	return true
}

// digits consumes a JSON integer (an optional minus if signed, no leading
// zero) and returns its text.
func (p *entryParser) digits(signed bool) ([]byte, bool) {
	n := 0
	if signed && len(p.b) > 0 && p.b[0] == '-' {
		n++
	}
	start := n
	for n < len(p.b) && p.b[n] >= '0' && p.b[n] <= '9' {
		n++
	}
	if n == start || (p.b[start] == '0' && n > start+1) {
		return nil, false
	}
	d := p.b[:n]
	p.b = p.b[n:]
	return d, true
}

func (p *entryParser) int(v *int64) bool {
	d, ok := p.digits(true)
	if !ok {
		return false
	}
	n, err := strconv.ParseInt(string(d), 10, 64)
	*v = n
	return err == nil
}

func (p *entryParser) uint(v *uint64) bool {
	d, ok := p.digits(false)
	if !ok {
		return false
	}
	n, err := strconv.ParseUint(string(d), 10, 64)
	*v = n
	return err == nil
}

// str consumes a JSON string of printable ASCII without escapes into v,
// reusing same when the string is equal to it.
func (p *entryParser) str(v *string, same string) bool {
	if len(p.b) == 0 || p.b[0] != '"' {
		return false
	}
	end := bytes.IndexByte(p.b[1:], '"')
	if end < 0 {
		return false
	}
	s := p.b[1 : 1+end]
	for _, c := range s {
		if c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	if string(s) == same {
		*v = same
	} else {
		*v = string(s)
	}
	p.b = p.b[end+2:]
	return true
}
