package mpdtest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Eyevinn/hls-m3u8/m3u8"
)

// HLSSeg is one segment of a media playlist.
type HLSSeg struct {
	URI                string
	Gap, Discontinuity bool
	Map                string // EXT-X-MAP in force
	Duration           float64
}

// ReadHLS reads a multivariant playlist and its media playlists (by the
// URI the multivariant playlist gives, relative to it).
func ReadHLS(t testing.TB, p string) map[string][]HLSSeg {
	t.Helper()
	body, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	pl, typ, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
	if err != nil || typ != m3u8.MASTER {
		t.Fatalf("%s: %v (type %v)", p, err, typ)
	}
	uris := map[string]bool{}
	for _, v := range pl.(*m3u8.MasterPlaylist).Variants {
		uris[v.URI] = true
		for _, a := range v.Alternatives {
			uris[a.URI] = true
		}
	}
	out := map[string][]HLSSeg{}
	for u := range uris {
		body, err := os.ReadFile(filepath.Join(filepath.Dir(p), u))
		if err != nil {
			t.Fatal(err)
		}
		mp, typ, err := m3u8.DecodeFrom(bytes.NewReader(body), true)
		if err != nil || typ != m3u8.MEDIA {
			t.Fatalf("%s: %v", u, err)
		}
		m := mp.(*m3u8.MediaPlaylist)
		cur := ""
		if m.Map != nil {
			cur = m.Map.URI
		}
		var segs []HLSSeg
		for _, s := range m.GetAllSegments() {
			if s.Map != nil {
				cur = s.Map.URI
			}
			segs = append(segs, HLSSeg{URI: s.URI, Gap: s.Gap, Discontinuity: s.Discontinuity, Map: cur, Duration: s.Duration})
		}
		rep := strings.TrimSuffix(strings.TrimPrefix(u, strings.TrimSuffix(filepath.Base(p), ".m3u8")+"-"), ".m3u8")
		out[rep] = segs
	}
	return out
}
