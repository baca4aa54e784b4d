package layout

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestSpliceRecord(t *testing.T) {
	t.Parallel()
	r := &SpliceRecord{Version: SpliceRecordVersion, ID: "00ff00ff00ff00ff", Channel: "news", FromK: 10, ToK: 12,
		From: time.Unix(20, 0).UTC(), To: time.Unix(26, 0).UTC(), Source: "http://enc/m.mpd", SourceName: "splice.enc",
		Created: time.Unix(1800000000, 5).UTC(), Tracks: []SpliceRecordTrack{{Rep: "V300", Ext: "m4s", Ks: []int64{10, 12}}},
		InitsCreated: []string{InitKey("news", "V300", "0123456789abcdef")}}
	b, err := r.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{`"version": 1`, `"from_k": 10`, `"ks": [`, `"inits_created": [`, `"source_name": "splice.enc"`} {
		if !strings.Contains(string(b), f) {
			t.Errorf("record has no %s:\n%s", f, b)
		}
	}
	got, err := ParseSpliceRecord(b)
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Errorf("round trip: %v\n%+v\n%+v", err, got, r)
	}
	unsorted := *r
	unsorted.Tracks = []SpliceRecordTrack{{Rep: "V300", Ext: "m4s", Ks: []int64{12, 10}}}
	ub, _ := unsorted.Marshal()
	for name, bad := range map[string]string{
		"K order":    string(ub),
		"not JSON":   "{",
		"version":    strings.Replace(string(b), `"version": 1`, `"version": 2`, 1),
		"id":         strings.Replace(string(b), `"00ff00ff00ff00ff"`, `"../x"`, 1),
		"channel":    strings.Replace(string(b), `"news"`, `"a/b"`, 1),
		"rep":        strings.Replace(string(b), `"V300"`, `".."`, 1),
		"no created": strings.Replace(string(b), `"created": "2027-01-15T08:00:00.000000005Z"`, `"created": "0001-01-01T00:00:00Z"`, 1),
		"no ext":     strings.Replace(string(b), `"ext": "m4s"`, `"ext": ""`, 1),
	} {
		if _, err := ParseSpliceRecord([]byte(bad)); err == nil {
			t.Errorf("%s: no error for\n%s", name, bad)
		}
	}
}
