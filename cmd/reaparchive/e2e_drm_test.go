package main

// End-to-end test of protected content: livesim2's eccp_cbcs is cbcs
// encrypted with a ClearKey licence server; the export must signal it so
// players fetch the licence and play.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/dash-mpd/mpd"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/manifest"
)

// TestE2EExportClearKey records livesim2's eccp_cbcs for 20 s, exports it
// with --format dash,hls --copy, and checks that the MPD carries
// mp4protection with cenc:default_KID and the ClearKey element with the
// licence URL livesim2 announced, that the playlists carry EXT-X-KEY and
// EXT-X-SESSION-KEY, and that Shaka Player and dash.js play the DASH export
// to the end after requesting the licence (a player can run through
// encrypted samples without decrypting them).
func TestE2EExportClearKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	l := testenv.StartLivesim2(t)
	ar := newE2EArchive(t)
	const ch = "drm"
	ar.record(t, ctx, ch, 20*time.Second, "a="+mpdURL(l, "eccp_cbcs/"))
	video := ar.status(t, ctx, ch).track(t, e2eVideo)
	from, to := exportRange(t, video)
	out := filepath.Join(ar.store, "vod", "drm.mpd")
	mustCLI(t, ctx, ar.args("export-vod", "--channel", ch, "--from", from, "--to", to, "--format", "dash,hls", "--copy",
		"--out", "file://"+filepath.ToSlash(out))...)

	laURL := l.URL() + "eccp_cbcs/" + e2eAsset + "/eccp.json"
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mpd.ReadFromString(string(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.Periods {
		for _, as := range p.AdaptationSets {
			var kid, la string
			for _, cp := range as.ContentProtections {
				switch {
				case cp.SchemeIdUri == manifest.MP4ProtectionScheme && cp.Value == "cbcs":
					kid = cp.DefaultKID
				case cp.SchemeIdUri == "urn:uuid:"+manifest.ClearKeySystemID && cp.LaURL != nil:
					la = string(cp.LaURL.Value)
				}
			}
			if kid != "2880fe36-e44b-f9bf-79d2-752e234818a5" || la != laURL {
				t.Errorf("%s AdaptationSet: default_KID %q, ClearKey Laurl %q; want livesim2's KID and %s\n%s", as.ContentType, kid, la, laURL, data)
			}
		}
	}
	hls := map[string]string{"drm.m3u8": "#EXT-X-SESSION-KEY:METHOD=SAMPLE-AES,", "drm-" + e2eVideo + ".m3u8": "#EXT-X-KEY:METHOD=SAMPLE-AES,"}
	for name, want := range hls {
		body, err := os.ReadFile(filepath.Join(filepath.Dir(out), name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), want+`URI="`+laURL+`",KEYFORMAT="org.w3.clearkey"`) {
			t.Errorf("%s lacks %s with the ClearKey licence URL\n%s", name, want, body)
		}
	}
	if t.Failed() {
		return
	}
	for _, player := range []string{"shaka", "dashjs"} {
		res := testenv.PlayAt(t, ctx, player, ar.store, "vod/drm.mpd", 4)
		t.Logf("%s: %+v", player, res)
		if len(res.LicenceRequests) == 0 || !strings.HasPrefix(res.LicenceRequests[0], laURL) {
			t.Errorf("%s played without requesting the licence from %s (requests %v)", player, laURL, res.LicenceRequests)
		}
	}
}
