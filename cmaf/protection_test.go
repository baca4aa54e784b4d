package cmaf

import (
	"bytes"
	"os"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

// withPssh returns init with a pssh box of systemID appended to its moov.
func withPssh(t *testing.T, init []byte, systemID string, data []byte) []byte {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		t.Fatal(err)
	}
	sid, err := mp4.NewUUIDFromString(systemID)
	if err != nil {
		t.Fatal(err)
	}
	f.Init.Moov.AddChild(&mp4.PsshBox{SystemID: sid, Data: data})
	var buf bytes.Buffer
	if err := f.Encode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseInitProtection(t *testing.T) {
	t.Parallel()
	video, err := os.ReadFile("testdata/eccp_cbcs_V300_init.mp4")
	if err != nil {
		t.Fatal(err)
	}
	audio, err := os.ReadFile("testdata/eccp_cbcs_A48_init.mp4")
	if err != nil {
		t.Fatal(err)
	}
	const kid = "2880fe36-e44b-f9bf-79d2-752e234818a5"
	const widevine = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
	tests := []struct {
		name      string
		data      []byte
		codecs    string
		psshSys   []string
		wantClear bool
	}{
		{name: "livesim2 cbcs video", data: video, codecs: "avc1.64001E"},
		{name: "livesim2 cbcs audio", data: audio, codecs: "mp4a.40.2"},
		{name: "video with a pssh", data: withPssh(t, video, widevine, []byte("wv")), codecs: "avc1.64001E", psshSys: []string{widevine}},
		{name: "clear init", data: loadSplit(t, "video.cmfv").init, wantClear: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			info, err := ParseInit(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			p := info.Protection
			if tc.wantClear {
				if p != nil {
					t.Fatalf("Protection = %+v, want nil for a clear init", p)
				}
				return
			}
			if p == nil {
				t.Fatal("Protection = nil, want cbcs")
			}
			if p.Scheme != "cbcs" || p.DefaultKID != kid {
				t.Errorf("scheme, KID = %q, %q; want cbcs, %s", p.Scheme, p.DefaultKID, kid)
			}
			if tc.codecs != "" && !bytes.EqualFold([]byte(info.Codecs), []byte(tc.codecs)) {
				t.Errorf("Codecs = %q, want %q", info.Codecs, tc.codecs)
			}
			if len(p.Pssh) != len(tc.psshSys) {
				t.Fatalf("%d pssh, want %d", len(p.Pssh), len(tc.psshSys))
			}
			for i, s := range tc.psshSys {
				if p.Pssh[i].SystemID != s {
					t.Errorf("pssh %d SystemID = %s, want %s", i, p.Pssh[i].SystemID, s)
				}
				if !bytes.Contains(tc.data, p.Pssh[i].Box) || string(p.Pssh[i].Box[4:8]) != "pssh" {
					t.Errorf("pssh %d box is not the stored pssh box: % x", i, p.Pssh[i].Box)
				}
			}
		})
	}
}
