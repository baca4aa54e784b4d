package layout

import (
	"errors"
	"reflect"
	"testing"
)

func TestIndexObjectRoundTrip(t *testing.T) {
	t.Parallel()
	key := IndexObjectKey("news", "V300", 100, 199)
	o := &IndexObject{IndexHeader: IndexHeader{Version: IndexObjectVersion, Channel: "news", Rep: "V300", FromK: 100, ToK: 199, Timescale: 90000, SegDur: 180000},
		Entries: []IndexEntry{
			{K: 100, Name: "100.m4s", Size: 1234, EPT: 18000000, Dur: 180000, SHA256: "ab12", Init: "0123456789abcdef", Source: "a", Events: 2},
			{K: 101, Name: "real/101.m4s", Size: 99, EPT: 18180000, Dur: 180000, SHA256: "cd34", Init: "0123456789abcdef", Filler: false, Last: true},
		}}
	data, err := o.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseIndexObject(key, data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, o) {
		t.Errorf("round trip:\n %+v\nwant\n %+v", got, o)
	}
	if a := got.Entries[0].Attrs(got.IndexHeader); a.SegDur != 180000 || a.Timescale != 90000 || a.Events != 2 || a.Source != "a" {
		t.Errorf("Attrs = %+v", a)
	}

	other := *o
	other.Version = 2
	v2, _ := other.Encode()
	other = *o
	other.Entries = append([]IndexEntry{{K: 300, Name: "300.m4s", SHA256: "x"}}, o.Entries...)
	outOfRange, _ := other.Encode()
	bad := []struct {
		name string
		key  string
		data []byte
	}{
		{"truncated", key, data[:len(data)-6]},
		{"not gzip", key, []byte(`{"version":1}`)},
		{"empty", key, nil},
		{"other version", key, v2},
		{"under another key", IndexObjectKey("news", "V300", 100, 200), data},
		{"not an index key", "news/V300/100.m4s", data},
		{"entry out of range", key, outOfRange},
	}
	for _, tt := range bad {
		if _, err := ParseIndexObject(tt.key, tt.data); !errors.Is(err, ErrBadIndexObject) {
			t.Errorf("%s: error %v, want ErrBadIndexObject", tt.name, err)
		}
	}
}
