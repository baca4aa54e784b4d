package layout

import (
	"errors"
	"testing"
)

func TestKeys(t *testing.T) {
	t.Parallel()
	h := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, got, want string
	}{
		{"media", MediaKey("news", "V300", 897655088, Ext("video")), "news/V300/897655088.m4s"},
		{"media zero", MediaKey("news", "A48", 0, Ext("audio")), "news/A48/0.m4s"},
		{"init", InitKey("news", "V300", h), "news/V300/init-0123456789abcdef.mp4"},
		{"init short hash", InitKey("news", "V300", "abc"), "news/V300/init-abc.mp4"},
		{"impd", IMPDKey("news", h), "news/impd-0123456789abcdef.mpd"},
		{"filler", FillerKey("news", "V300", 897655088, h, Ext("video")), "news/V300/filler/897655088-0123456789abcdef.m4s"},
		{"filler pattern", FillerPattern("news", "V300", h, Ext("video")), "news/V300/filler/$Number$-0123456789abcdef.m4s"},
		{"filler init", FillerInitKey("news", "A48", h), "news/A48/filler/init-0123456789abcdef.mp4"},
		{"splice media", SpliceKey("news", "V300", "00ff00ff00ff00ff", 897655088, Ext("video")), "news/V300/splice-00ff00ff00ff00ff/897655088.m4s"},
		{"splice dir", SpliceDir("news", "A48", "00ff00ff00ff00ff"), "news/A48/splice-00ff00ff00ff00ff/"},
		{"splice record", SpliceRecordKey("news", "00ff00ff00ff00ff"), "news/splice-00ff00ff00ff00ff.json"},
		{"real copy of a filler", RealKey("news", "V300", 897655088, Ext("video")), "news/V300/real/897655088.m4s"},
		{"index object", IndexObjectKey("news", "V300", 888000000, 888001799), "news/V300/index/888000000-888001799.jsonl.gz"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key     string
		want    Object
		wantErr bool
	}{
		{key: "news/V300/897655088.m4s", want: Object{Kind: KindMedia, Channel: "news", Rep: "V300", K: 897655088, Ext: "m4s"}},
		{key: "news/A48/12.cmfa", want: Object{Kind: KindMedia, Channel: "news", Rep: "A48", K: 12, Ext: "cmfa"}},
		{key: "news/V300/init-0123456789abcdef.mp4", want: Object{Kind: KindInit, Channel: "news", Rep: "V300", Hash: "0123456789abcdef", Ext: "mp4"}},
		{key: "news/impd-0123456789abcdef.mpd", want: Object{Kind: KindIMPD, Channel: "news", Hash: "0123456789abcdef", Ext: "mpd"}},
		{key: "news/impd-XYZ.mpd", wantErr: true},
		{key: "news/V300/init-nothex.mp4", wantErr: true},
		{key: "vod/out.mpd"},            // an export: not an archive object
		{key: "news/V300/-1.m4s"},       // negative K: not a media key
		{key: "news/V300/12"},           // no extension
		{key: "news/V300/sub/12.m4s"},   // too deep
		{key: "news"},                   // too shallow
		{key: "news/V300/12.m4s.attrs"}, // a fileblob sidecar: base "12.m4s" is not a number
		{key: "news/V300/abc.m4s"},      // not a number
		{key: "news/V300/1e3.m4s"},      // not a decimal
		{key: "news/V300/.m4s"},         // empty base
		{key: "news/V300/init-.mp4", wantErr: true},
		{key: "news/V300/filler/897655088-0123456789abcdef.m4s", want: Object{Kind: KindFiller, Channel: "news", Rep: "V300", K: 897655088, Hash: "0123456789abcdef", Ext: "m4s"}},
		{key: "news/A48/filler/init-0123456789abcdef.mp4", want: Object{Kind: KindFillerInit, Channel: "news", Rep: "A48", Hash: "0123456789abcdef", Ext: "mp4"}},
		{key: "news/V300/real/897655088.m4s", want: Object{Kind: KindReal, Channel: "news", Rep: "V300", K: 897655088, Ext: "m4s"}},
		{key: "news/V300/real/897655088.m4s.attrs"}, // a fileblob sidecar
		{key: "news/V300/real/012.m4s"},             // K with a leading zero
		{key: "news/V300/filler/12-XYZ.m4s"},        // slate id not hex: not a filler object
		{key: "news/V300/filler/012-abc.m4s"},       // K with a leading zero
		{key: "news/V300/filler/-1-abc.m4s"},        // negative K
		{key: "news/V300/filler/init-nothex.mp4", wantErr: true},
		{key: "news/V300/filler/notes.txt"},        // not a filler object
		{key: "news/V300/other/12-abc.m4s"},        // not the filler directory
		{key: "news/V300/filler/12-abc.m4s.attrs"}, // a fileblob sidecar
		{key: "vod/2026/04/x.mpd"},                 // an export
		{key: "news/V300/splice-00ff00ff00ff00ff/897655088.m4s", want: Object{Kind: KindSpliced, Channel: "news", Rep: "V300", K: 897655088, Hash: "00ff00ff00ff00ff", Ext: "m4s"}},
		{key: "news/splice-00ff00ff00ff00ff.json", want: Object{Kind: KindSplice, Channel: "news", Hash: "00ff00ff00ff00ff", Ext: "json"}},
		{key: "news/splice-XYZ.json", wantErr: true},
		{key: "news/splice-00ff.json", wantErr: true},                        // id too short
		{key: "news/splice-00ff00ff00ff00ff.json.attrs"},                     // a fileblob sidecar
		{key: "news/splice-00ff00ff00ff00ff.txt"},                            // not a record
		{key: "news/V300/splice-00ff00ff00ff00ff/897655088.m4s.attrs"},       // a fileblob sidecar
		{key: "news/V300/splice-00ff00ff00ff00ff/012.m4s"},                   // K with a leading zero
		{key: "news/V300/splice-00ff00ff00ff00ff/-1.m4s"},                    // negative K
		{key: "news/V300/splice-nothex/12.m4s"},                              // not a splice id
		{key: "news/V300/splice-00ff00ff00ff00ff/init-0123456789abcdef.mp4"}, // inits are not kept under a splice
		{key: "news/V300/splice-00ff00ff00ff00ff/sub/12.m4s"},                // too deep
		{key: "news/V300/index/0-1799.jsonl.gz", want: Object{Kind: KindIndex, Channel: "news", Rep: "V300", K: 0, ToK: 1799, Ext: "jsonl.gz"}},
		{key: "news/V300/index/5-5.jsonl.gz", want: Object{Kind: KindIndex, Channel: "news", Rep: "V300", K: 5, ToK: 5, Ext: "jsonl.gz"}},
		{key: "news/V300/index/0-1799.jsonl.gz.attrs"},        // a fileblob sidecar
		{key: "news/V300/index/notes.txt"},                    // not an index object
		{key: "news/V300/index/9-5.jsonl.gz", wantErr: true},  // range backwards
		{key: "news/V300/index/05-9.jsonl.gz", wantErr: true}, // a leading zero
		{key: "news/V300/index/5.jsonl.gz", wantErr: true},    // no range
		{key: "news/V300/index/a-b.jsonl.gz", wantErr: true},  // not numbers
		{key: "news/V300/index/-1-5.jsonl.gz", wantErr: true}, // negative
		{key: "news/V300/index/sub/0-1.jsonl.gz"},             // too deep
	}
	for _, tt := range tests {
		got, err := Parse(tt.key)
		if (err != nil) != tt.wantErr {
			t.Errorf("Parse(%q) error = %v, wantErr %v", tt.key, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.key, got, tt.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, k := range []int64{0, 1, 897655088, 1 << 40} {
		key := MediaKey("c", "r", k, "m4s")
		o, err := Parse(key)
		if err != nil || o.Kind != KindMedia || o.K != k {
			t.Errorf("round trip of %q: %+v, %v", key, o, err)
		}
		key = SpliceKey("c", "r", "00ff00ff00ff00ff", k, "m4s")
		o, err = Parse(key)
		if err != nil || o.Kind != KindSpliced || o.K != k || o.Hash != "00ff00ff00ff00ff" || o.Rep != "r" || o.Channel != "c" {
			t.Errorf("round trip of %q: %+v, %v", key, o, err)
		}
		key = IndexObjectKey("c", "r", k, k+1799)
		o, err = Parse(key)
		if err != nil || o.Kind != KindIndex || o.K != k || o.ToK != k+1799 || o.Rep != "r" || o.Channel != "c" {
			t.Errorf("round trip of %q: %+v, %v", key, o, err)
		}
		key = FillerKey("c", "r", k, "00ff00ff00ff00ff00", "m4s")
		o, err = Parse(key)
		if err != nil || o.Kind != KindFiller || o.K != k || o.Hash != "00ff00ff00ff00ff" || o.Rep != "r" {
			t.Errorf("round trip of %q: %+v, %v", key, o, err)
		}
	}
}

func TestValidSpliceID(t *testing.T) {
	t.Parallel()
	if err := ValidSpliceID("00ff00ff00ff00ff"); err != nil {
		t.Errorf("ValidSpliceID: %v", err)
	}
	for _, s := range []string{"", "00ff", "00FF00FF00FF00FF", "00ff00ff00ff00ffa", "00ff00ff00ff00fg", "../../../../x"} {
		if err := ValidSpliceID(s); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidSpliceID(%q) = %v, want ErrBadName", s, err)
		}
	}
}

func TestValidName(t *testing.T) {
	t.Parallel()
	good := []string{"news", "V300", "A48", "a", "video_1080p-hi.2", "0"}
	bad := []string{"", ".", "..", ".hidden", "-dash", "_u", "a/b", "a\\b", "a b", "a%2f", "ü", string(make([]byte, 129))}
	for _, s := range good {
		if err := ValidName("rep", s); err != nil {
			t.Errorf("ValidName(%q) = %v, want nil", s, err)
		}
	}
	for _, s := range bad {
		err := ValidName("rep", s)
		if !errors.Is(err, ErrBadName) {
			t.Errorf("ValidName(%q) = %v, want ErrBadName", s, err)
		}
	}
}
