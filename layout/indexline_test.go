package layout

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// TestParseEntryLine: the lines IndexObject.Encode writes are decoded
// without reflection, exactly as encoding/json decodes them; any other
// line is left to encoding/json, and ParseIndexObject decodes it as before.
func TestParseEntryLine(t *testing.T) {
	t.Parallel()
	encoded := func(e IndexEntry) string {
		var b bytes.Buffer
		if err := json.NewEncoder(&b).Encode(e); err != nil {
			t.Fatal(err)
		}
		return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
	sha := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	full := IndexEntry{K: 1234567, Name: "1234567.m4s", Size: 98765, EPT: 1<<63 + 5, Dur: 180000, SHA256: sha, Init: "0123456789abcdef",
		Source: "enc-a", Events: 3, Filler: true, Last: true}
	cases := []struct {
		name string
		line string
		fast bool // parseEntryLine decodes it
	}{
		{"every field", encoded(full), true},
		{"empty fields omitted", encoded(IndexEntry{K: 0, Name: "0.cmfv", SHA256: sha}), true},
		{"a real copy, the last segment", encoded(IndexEntry{K: 7, Name: "real/7.m4s", Size: 1, SHA256: sha, Init: "ab", Last: true}), true},
		{"a splice's replacement", encoded(IndexEntry{K: 9, Name: "splice-x1/9.m4s", Size: 2, SHA256: sha, Source: "b"}), true},
		{"HTML escapes", encoded(IndexEntry{K: 1, Name: "1.m4s", SHA256: sha, Source: "a<b&c"}), false},
		{"non-ASCII source", encoded(IndexEntry{K: 1, Name: "1.m4s", SHA256: sha, Source: "Zürich"}), false},
		{"white space", `{"k": 1,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0}`, false},
		{"fields in another order", `{"name":"1.m4s","k":1,"size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0}`, false},
		{"a leading zero", `{"k":01,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0}`, false},
		{"a negative EPT", `{"k":1,"name":"1.m4s","size":1,"ept":-1,"dur":0,"sha256":"x","init":"","events":0}`, false},
		{"K over 2^63-1", `{"k":9223372036854775808,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0}`, false},
		{"filler false written", `{"k":1,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0,"filler":false}`, false},
		{"an empty source written", `{"k":1,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","source":"","events":0}`, false},
		{"an unknown field", `{"k":1,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0,"new":1}`, false},
		{"trailing bytes", `{"k":1,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0}x`, false},
		{"truncated", `{"k":1,"name":"1.m4s","size":1,"ept":0,"dur":0,"sha256":"x","init":"","events":0`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var e IndexEntry
			if fast := parseEntryLine([]byte(c.line), &e, &full); fast != c.fast {
				t.Fatalf("parseEntryLine(%s) = %v, want %v", c.line, fast, c.fast)
			}
			var want IndexEntry
			wantErr := decodeJSONLine([]byte(c.line), &want)
			if c.fast && (wantErr != nil || !reflect.DeepEqual(e, want)) {
				t.Errorf("parseEntryLine gives %+v, encoding/json %+v (%v)", e, want, wantErr)
			}
			o := &IndexObject{Entries: []IndexEntry{full}}
			err := o.decodeLine(2, []byte(c.line))
			if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(o.Entries[1], want) {
				t.Errorf("decodeLine gives %+v (%v), encoding/json %+v (%v)", o.Entries, err, want, wantErr)
			}
		})
	}
}
