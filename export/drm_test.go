package export_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Eyevinn/dash-mpd/mpd"
	"github.com/Eyevinn/mp4ff/mp4"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/manifest"
	"github.com/reaparchive/reaparchive/simulate"
)

const (
	drmKID1  = "2880fe36-e44b-f9bf-79d2-752e234818a5"
	drmKID2  = "00112233-4455-6677-8899-aabbccddeeff"
	widevine = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
	drmLaURL = "http://127.0.0.1:8888/livesim2/eccp_cbcs/testpic_2s/eccp.json"
)

// protectedInit is data (a clear init) protected with cbcs, kid and, when
// psshData is not nil, a Widevine pssh carrying it.
func protectedInit(tb testing.TB, data []byte, kid string, psshData []byte) []byte {
	tb.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := mp4.NewUUIDFromString(kid)
	if err != nil {
		tb.Fatal(err)
	}
	var pssh []*mp4.PsshBox
	if psshData != nil {
		sid, err := mp4.NewUUIDFromString(widevine)
		if err != nil {
			tb.Fatal(err)
		}
		pssh = append(pssh, &mp4.PsshBox{SystemID: sid, Data: psshData})
	}
	if _, err := mp4.InitProtect(f.Init, make([]byte, 16), make([]byte, 16), "cbcs", k, pssh); err != nil {
		tb.Fatal(err)
	}
	var buf bytes.Buffer
	if err := f.Init.Encode(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// storeIMPD stores livesim2's eccp_cbcs MPD as the channel's I-MPD, its
// Representation ids renamed to the simulator's.
func storeIMPD(t *testing.T, e *env) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "manifest", "testdata", "livesim_eccp_cbcs.mpd"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.ReplaceAll(data, []byte(`id="V300"`), []byte(`id="`+simulate.VideoRep+`"`))
	data = bytes.ReplaceAll(data, []byte(`id="A48"`), []byte(`id="`+simulate.AudioRep+`"`))
	if err := e.store.Create(context.Background(), layout.IMPDKey(testChannel, sha(data)), data, nil); err != nil {
		t.Fatal(err)
	}
}

// TestExportProtection: an encrypted channel's export has, in every
// AdaptationSet of every Period, mp4protection with the init's default_KID,
// the init's pssh and the ClearKey licence URL of the stored I-MPD, and
// EXT-X-KEY/EXT-X-SESSION-KEY in HLS; a change of key ID or of pssh at
// K0+3 starts a new Period with the new signalling.
func TestExportProtection(t *testing.T) {
	t.Parallel()
	type prot struct {
		kid  string
		pssh []byte
	}
	tests := []struct {
		name         string
		before, from prot // the inits up to K0+2, from K0+3
		periods      int
	}{
		{name: "one key", before: prot{drmKID1, []byte("wv-1")}, from: prot{drmKID1, []byte("wv-1")}, periods: 1},
		{name: "no pssh", before: prot{drmKID1, nil}, from: prot{drmKID1, nil}, periods: 1},
		{name: "key rotation", before: prot{drmKID1, []byte("wv-1")}, from: prot{drmKID2, []byte("wv-2")}, periods: 2},
		{name: "pssh change", before: prot{drmKID1, []byte("wv-1")}, from: prot{drmKID1, []byte("wv-2")}, periods: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			sim := testenv.NewSim(t, simulate.Options{})
			storeIMPD(t, e)
			for i, p := range []prot{tc.before, tc.from} {
				for _, rep := range reps {
					if _, err := e.ch.OfferInit(ctx, "a", rep, protectedInit(t, testenv.MustInit(t, sim, rep), p.kid, p.pssh), false); err != nil {
						t.Fatal(err)
					}
					for k := k0 + 3*int64(i); k < k0+3*int64(i+1); k++ {
						e.Offer(t, "a", sim, rep, k)
					}
				}
			}
			out := filepath.Join(e.storeDir, "vod", "drm.mpd")
			res := e.export(t, export.Options{From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(out),
				Formats: []string{export.FormatDASH, export.FormatHLS}})
			if res.Periods != tc.periods {
				t.Fatalf("%d Periods, want %d", res.Periods, tc.periods)
			}
			body, err := os.ReadFile(res.MPDPath)
			if err != nil {
				t.Fatal(err)
			}
			m, err := mpd.ReadFromString(string(body))
			if err != nil {
				t.Fatal(err)
			}
			for pi, p := range m.Periods {
				want := tc.before
				if pi > 0 {
					want = tc.from
				}
				for _, as := range p.AdaptationSets {
					checkContentProtection(t, pi, as, want.kid, want.pssh)
				}
			}
			checkHLSKeys(t, res.HLSPath, tc.before.kid, tc.from.kid)
		})
	}
}

func checkContentProtection(t *testing.T, pi int, as *mpd.AdaptationSetType, kid string, psshData []byte) {
	t.Helper()
	var mp4p, wv, ck *mpd.ContentProtectionType
	for _, cp := range as.ContentProtections {
		switch string(cp.SchemeIdUri) {
		case manifest.MP4ProtectionScheme:
			mp4p = cp
		case "urn:uuid:" + widevine:
			wv = cp
		case "urn:uuid:" + manifest.ClearKeySystemID:
			ck = cp
		}
	}
	if mp4p == nil || mp4p.Value != "cbcs" || mp4p.DefaultKID != kid {
		t.Errorf("Period %d %s: mp4protection %+v, want cbcs with default_KID %s", pi, as.ContentType, mp4p, kid)
	}
	if ck == nil || ck.LaURL == nil || string(ck.LaURL.Value) != drmLaURL {
		t.Errorf("Period %d %s: ClearKey %+v, want dashif:Laurl %s", pi, as.ContentType, ck, drmLaURL)
	}
	switch {
	case psshData == nil && wv != nil:
		t.Errorf("Period %d %s: Widevine element without a pssh in the init", pi, as.ContentType)
	case psshData != nil && (wv == nil || wv.Pssh == nil):
		t.Errorf("Period %d %s: no Widevine cenc:pssh", pi, as.ContentType)
	case psshData != nil:
		box, err := base64.StdEncoding.DecodeString(wv.Pssh.Value)
		if err != nil || !bytes.HasSuffix(box, psshData) || string(box[4:8]) != "pssh" {
			t.Errorf("Period %d %s: cenc:pssh %q (%v) is not a pssh box of %q", pi, as.ContentType, wv.Pssh.Value, err, psshData)
		}
	}
}

func checkHLSKeys(t *testing.T, multivariant string, kids ...string) {
	t.Helper()
	mv, err := os.ReadFile(multivariant)
	if err != nil {
		t.Fatal(err)
	}
	media, err := os.ReadFile(strings.TrimSuffix(multivariant, ".m3u8") + "-" + simulate.VideoRep + ".m3u8")
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range kids {
		id := "KEYID=0x" + strings.ReplaceAll(kid, "-", "")
		ck := `METHOD=SAMPLE-AES,URI="` + drmLaURL + `",KEYFORMAT="org.w3.clearkey",KEYFORMATVERSIONS="1",` + id
		if !bytes.Contains(mv, []byte("#EXT-X-SESSION-KEY:"+ck)) {
			t.Errorf("multivariant playlist lacks EXT-X-SESSION-KEY %s\n%s", ck, mv)
		}
		if !bytes.Contains(media, []byte("#EXT-X-KEY:"+ck)) {
			t.Errorf("video playlist lacks EXT-X-KEY %s\n%s", ck, media)
		}
	}
}
