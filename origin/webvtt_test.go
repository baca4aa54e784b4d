package origin_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
)

// The WebVTT track of withWebVTT.
const vttRep = "subs-de"

// withWebVTT is recorded with a wvtt text track, vttRep, of K k0..lastK
// but gapK: a cue "segment <K>" in each segment.
func withWebVTT(t *testing.T) *archivetest.Env {
	t.Helper()
	e := recorded(t)
	offerWebVTT(t, e, k0, lastK, gapK)
	return e
}

// offerWebVTT records the wvtt track vttRep of K from..to but skip into e.
func offerWebVTT(t *testing.T, e *archivetest.Env, from, to int64, skip ...int64) {
	t.Helper()
	ctx := context.Background()
	init, err := testenv.WebVTTInit(4, 1000, "deu")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Channel.OfferInit(ctx, "a", vttRep, init, false); err != nil {
		t.Fatal(err)
	}
	for k := from; k <= to; k++ {
		if slices.Contains(skip, k) {
			continue
		}
		if _, err := e.Channel.OfferSegment(ctx, archive.Offer{Source: "a", Rep: vttRep, Data: testenv.KWebVTTSegment(t, 4, k, false), ExpectK: k}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestWebVTTForHLS checks that the origin's HLS presents a wvtt track as
// export-vod's HLS does: its media playlist (live, start-over, catch-up)
// lists WebVTT text files, _vtt-<rep>/seg-<K>.vtt, without EXT-X-MAP, the
// catch-up one byte for byte export-vod's apart from that directory, and
// each file is the bytes export-vod writes for K, with a strong ETag,
// immutable, answering If-None-Match; a K without segment and a track
// that is no wvtt are 404s.
func TestWebVTTForHLS(t *testing.T) {
	t.Parallel()
	e := withWebVTT(t)
	s := newServer(t, e, e.DB, &clock{liveNow}, originConfig())
	from, to := kTime(k0+2), kTime(k0+14) // over gapK
	x := export.Deps{Store: e.Store, DB: e.DB}
	if _, err := x.VoD(context.Background(), export.Options{Channel: channel, From: from, To: to, Out: e.StoreURL + "/vod/day.mpd",
		Formats: []string{export.FormatDASH, export.FormatHLS}}); err != nil {
		t.Fatal(err)
	}
	wantCatchUp := strings.ReplaceAll(string(e.Get(t, "vod/day-"+vttRep+".m3u8")), "day-"+vttRep+"/", "_vtt-"+vttRep+"/")
	if master := mustGet(t, s, "/ch1/master.m3u8"); !strings.Contains(string(master), `TYPE=SUBTITLES`) || !strings.Contains(string(master), "media-"+vttRep+".m3u8") {
		t.Errorf("multivariant playlist without the subtitles:\n%s", master)
	}
	uri := regexp.MustCompile(`(?m)^_vtt-` + vttRep + `/seg-(\d+)\.vtt$`)
	for _, tc := range []struct{ name, target string }{
		{"live", "/ch1/media-" + vttRep + ".m3u8"},
		{"start-over", fmt.Sprintf("/ch1/media-%s~start=%d.m3u8", vttRep, from.Unix())},
		{"catch-up", fmt.Sprintf("/ch1/media-%s~start=%d~end=%d.m3u8", vttRep, from.Unix(), to.Unix())},
	} {
		pl := string(mustGet(t, s, tc.target))
		if strings.Contains(pl, "#EXT-X-MAP") || strings.Contains(pl, ".m4s") || !uri.MatchString(pl) {
			t.Errorf("%s: the WebVTT media playlist does not list WebVTT text files:\n%s", tc.name, pl)
		}
		if tc.name == "catch-up" && pl != wantCatchUp {
			t.Errorf("catch-up differs from export-vod's playlist:\n%s\n----\n%s", pl, wantCatchUp)
		}
	}
	for _, m := range uri.FindAllStringSubmatch(wantCatchUp, -1) {
		if m[1] == fmt.Sprint(gapK) {
			continue // an EXT-X-GAP entry: no file
		}
		res, body := get(t, s, http.MethodGet, "/ch1/"+m[0], nil)
		want := e.Get(t, "vod/day-"+vttRep+"/seg-"+m[1]+".vtt")
		etag := res.Header.Get("ETag")
		if res.StatusCode != http.StatusOK || string(body) != string(want) || !strings.HasPrefix(etag, `"`) ||
			res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/vtt") {
			t.Errorf("GET %s: %d %v\n%s\nwant export-vod's\n%s", m[0], res.StatusCode, res.Header, body, want)
		}
		if res, _ := get(t, s, http.MethodGet, "/ch1/"+m[0], map[string]string{"If-None-Match": etag}); res.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-None-Match its ETag: %d", m[0], res.StatusCode)
		}
	}
	for _, target := range []string{fmt.Sprintf("/ch1/_vtt-%s/seg-%d.vtt", vttRep, gapK), fmt.Sprintf("/ch1/_vtt-video/seg-%d.vtt", k0), "/ch1/_vtt-" + vttRep + "/x.vtt"} {
		if res, body := get(t, s, http.MethodGet, target, nil); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d %s; want 404", target, res.StatusCode, body)
		}
	}
}
