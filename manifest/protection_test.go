package manifest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"
)

const (
	testKID      = "2880fe36-e44b-f9bf-79d2-752e234818a5"
	testKID2     = "00112233-4455-6677-8899-aabbccddeeff"
	widevineID   = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
	livesimLaURL = "http://127.0.0.1:8888/livesim2/eccp_cbcs/testpic_2s/eccp.json"
)

// drmInput is a two-Period export of livesim2's eccp_cbcs: the ClearKey
// system from its MPD (testdata/livesim_eccp_cbcs.mpd), a Widevine pssh as
// an init would carry it, and a key rotation at the second Period.
func drmInput(t *testing.T) VoDInput {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "livesim_eccp_cbcs.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	impd, err := IMPDSystems(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	wv := DRMSystem{SystemID: widevineID, Pssh: []byte("\x00\x00\x00\x20psshfake-widevine-box-")}
	prot := func(kid, rep string) *Protection {
		return &Protection{Scheme: "cbcs", DefaultKID: kid, Systems: MergeSystems([]DRMSystem{wv}, impd[rep])}
	}
	k1 := int64(k0 + 3)
	p0v, p0a := videoTrack("V300", 300000, videoSegs(k0, k1)), audioTrack("A48", audioSegs(k0, k1))
	p0v.Protection, p0a.Protection = prot(testKID, "V300"), prot(testKID, "A48")
	p1v, p1a := videoTrack("V300", 300000, videoSegs(k1, k1+2)), audioTrack("A48", audioSegs(k1, k1+2))
	p1v.Protection, p1a.Protection = prot(testKID2, "V300"), prot(testKID2, "A48")
	return VoDInput{Title: "drm", Periods: []VoDPeriod{{Tracks: []VoDTrack{p0v, p0a}}, {StartK: &k1, Tracks: []VoDTrack{p1v, p1a}}}}
}

// TestIMPDSystems: livesim2's eccp_cbcs MPD gives each Representation the
// ClearKey system with its dashif:Laurl; mp4protection is not a system.
func TestIMPDSystems(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("testdata", "livesim_eccp_cbcs.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := IMPDSystems(context.Background(), data)
	if err != nil {
		t.Fatal(err)
	}
	want := DRMSystem{SystemID: ClearKeySystemID, Value: "ClearKey1.0", LaURL: livesimLaURL, LicenseType: "EME-1.0"}
	for _, rep := range []string{"V300", "A48"} {
		if s := got[rep]; len(s) != 1 || s[0].SystemID != want.SystemID || s[0].LaURL != want.LaURL || s[0].Value != want.Value || s[0].LicenseType != want.LicenseType {
			t.Errorf("%s: systems %+v, want [%+v]", rep, s, want)
		}
	}
}

// TestBuildVoDContentProtection: every AdaptationSet of an encrypted
// export has mp4protection with cenc:default_KID and the ClearKey element
// with the source's licence URL; the second Period has the rotated KID.
func TestBuildVoDContentProtection(t *testing.T) {
	t.Parallel()
	out, err := BuildVoD(drmInput(t))
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "golden", "drm.mpd"), out)
	m, err := mpd.ReadFromString(string(out))
	if err != nil {
		t.Fatal(err)
	}
	for pi, kid := range []string{testKID, testKID2} {
		for _, as := range m.Periods[pi].AdaptationSets {
			cps := as.ContentProtections
			if len(cps) != 3 {
				t.Fatalf("Period %d %s: %d ContentProtection, want 3\n%s", pi, as.ContentType, len(cps), out)
			}
			if cps[0].SchemeIdUri != MP4ProtectionScheme || cps[0].Value != "cbcs" || cps[0].DefaultKID != kid {
				t.Errorf("Period %d %s: mp4protection %+v, want cbcs %s", pi, as.ContentType, cps[0], kid)
			}
			if cps[1].SchemeIdUri != "urn:uuid:"+widevineID || cps[1].Pssh == nil || cps[1].Pssh.Value == "" {
				t.Errorf("Period %d %s: Widevine element without cenc:pssh: %+v", pi, as.ContentType, cps[1])
			}
			if cps[2].SchemeIdUri != "urn:uuid:"+ClearKeySystemID || cps[2].LaURL == nil || string(cps[2].LaURL.Value) != livesimLaURL {
				t.Errorf("Period %d %s: ClearKey element without the licence URL: %+v", pi, as.ContentType, cps[2])
			}
		}
	}
	for _, ns := range []string{`xmlns:cenc="urn:mpeg:cenc:2013"`, `xmlns:dashif="https://dashif.org/CPS"`} {
		if !bytes.Contains(out, []byte(ns)) {
			t.Errorf("MPD lacks %s", ns)
		}
	}
}

// TestBuildHLSKeys: each media playlist has the EXT-X-KEY tags of its
// Period (ClearKey with the licence URL, Widevine with the pssh as a data
// URI, KEYID), again after the discontinuity with the rotated KID; the
// multivariant playlist has EXT-X-SESSION-KEY for both.
func TestBuildHLSKeys(t *testing.T) {
	t.Parallel()
	pls, err := BuildHLS(drmInput(t), hlsName)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "golden", "drm.m3u8"), joinHLS(pls))
	kidHex1, kidHex2 := strings.ReplaceAll(testKID, "-", ""), strings.ReplaceAll(testKID2, "-", "")
	ck := `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="` + livesimLaURL + `",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1",KEYID=0x`
	wv := `#EXT-X-KEY:METHOD=SAMPLE-AES,URI="data:text/plain;base64,AAAAIHBzc2hmYWtlLXdpZGV2aW5lLWJveC0=",KEYFORMAT="urn:uuid:` + widevineID + `",KEYFORMATVERSIONS="1",KEYID=0x`
	for _, p := range pls {
		body := string(p.Body)
		if p.Rep == "" {
			for _, want := range []string{
				strings.Replace(ck, "EXT-X-KEY", "EXT-X-SESSION-KEY", 1) + kidHex1,
				strings.Replace(ck, "EXT-X-KEY", "EXT-X-SESSION-KEY", 1) + kidHex2,
				strings.Replace(wv, "EXT-X-KEY", "EXT-X-SESSION-KEY", 1) + kidHex1,
			} {
				if !strings.Contains(body, want+"\n") {
					t.Errorf("multivariant playlist lacks %s\n%s", want, body)
				}
			}
			continue
		}
		disc := strings.Index(body, "#EXT-X-DISCONTINUITY")
		if disc < 0 {
			t.Fatalf("%s: no discontinuity\n%s", p.Name, body)
		}
		before, after := body[:disc], body[disc:]
		for _, c := range []struct{ part, want string }{
			{before, ck + kidHex1}, {before, wv + kidHex1}, {after, ck + kidHex2}, {after, wv + kidHex2},
		} {
			if strings.Count(c.part, c.want+"\n") != 1 {
				t.Errorf("%s: want once %s\n%s", p.Name, c.want, body)
			}
		}
	}
}

func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept):\n%s", path, got)
	}
}

// TestHLSKeys: the METHOD follows the scheme, a system without pssh or
// licence URL gets no key, an unknown scheme is an error, and a clear
// Period after an encrypted one says METHOD=NONE.
func TestHLSKeys(t *testing.T) {
	t.Parallel()
	ck := DRMSystem{SystemID: ClearKeySystemID, LaURL: livesimLaURL}
	tests := []struct {
		name    string
		p       *Protection
		after   bool // an encrypted Period came before
		want    []string
		wantErr string
	}{
		{name: "cenc", p: &Protection{Scheme: "cenc", DefaultKID: testKID, Systems: []DRMSystem{ck}}, want: []string{"SAMPLE-AES-CTR org.w3.clearkey " + livesimLaURL}},
		{name: "cbcs", p: &Protection{Scheme: "cbcs", DefaultKID: testKID, Systems: []DRMSystem{ck}}, want: []string{"SAMPLE-AES org.w3.clearkey " + livesimLaURL}},
		{name: "system without pssh or licence URL", p: &Protection{Scheme: "cbcs", DefaultKID: testKID, Systems: []DRMSystem{{SystemID: widevineID}, {SystemID: ClearKeySystemID}}}},
		{name: "clear first Period", p: nil},
		{name: "clear after encrypted", p: nil, after: true, want: []string{"NONE  "}},
		{name: "unknown scheme", p: &Protection{Scheme: "cens", DefaultKID: testKID, Systems: []DRMSystem{ck}}, wantErr: `"cens"`},
		{name: "bad KID", p: &Protection{Scheme: "cbcs", DefaultKID: "xyz", Systems: []DRMSystem{ck}}, wantErr: `"xyz"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			keys, err := periodKeys(&VoDTrack{Protection: tc.p}, tc.after)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, k := range keys {
				got = append(got, k.Method+" "+k.Keyformat+" "+k.URI)
			}
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("keys %q, want %q", got, tc.want)
			}
		})
	}
}
