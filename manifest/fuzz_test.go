package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseLive feeds untrusted MPD bytes to ParseLive: it must return (no
// panic, no hang: a dash-mpd unmarshal that outlives the time bound fails
// the target), and what it accepts must be usable.
func FuzzParseLive(f *testing.F) {
	for _, pattern := range []string{"testdata/*.mpd", "testdata/golden/*.mpd"} {
		names, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	// The inputs that hung dash-mpd v0.16.0 (issue 10 item 3).
	f.Add([]byte(">\n    "))
	f.Add([]byte(`<MPD type="static">a>b</MPD>`))
	f.Add([]byte(`<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic"><![CDATA[>]]></MPD>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := ParseLive(data, "http://h/live/m.mpd")
		if errors.Is(err, ErrMPDParseTimeout) {
			t.Fatalf("dash-mpd did not finish on an input the pre-check accepted: %q", data)
		}
		if err != nil {
			return
		}
		if len(l.Tracks) == 0 {
			t.Fatal("ParseLive accepted an MPD without tracks")
		}
		for i := range l.Tracks {
			tr := &l.Tracks[i]
			if tr.Rep == "" {
				t.Fatal("track without Representation id")
			}
			_, _ = tr.MediaURL(1) // must not panic
			_, _ = tr.EntryFor(1)
		}
	})
}
