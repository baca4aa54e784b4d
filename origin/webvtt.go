package origin

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cmaf"
	"github.com/reaparchive/reaparchive/export"
)

// textStem names the WebVTT text files of a wvtt track in the origin's
// HLS presentations (export.SetHLSText): /<channel>/_vtt-<rep>/seg-<K>.vtt,
// beside the media playlists. A Representation id starts with a letter or
// a digit, so no track's objects are under _vtt-<rep>/.
const (
	textStem = "_vtt"
	textDir  = textStem + "-"
)

// webVTT answers GET /<channel>/_vtt-<rep>/seg-<K>.vtt: segment K of the
// wvtt track rep as the WebVTT text file export-vod writes for it,
// converted from the stored segment (the one the index names for K) on
// each request; a function of the segment, so its ETag is its sha256 and
// it is cached as the objects are.
func (s *Server) webVTT(w http.ResponseWriter, r *http.Request, ch, rep, name string) {
	body, err := s.webVTTText(r.Context(), ch, rep, name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", strongETag(body))
	h.Set("Cache-Control", immutable)
	h.Set("Content-Type", "text/vtt; charset=utf-8")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// webVTTText converts the segment the text file name of channel ch's
// track rep names.
func (s *Server) webVTTText(ctx context.Context, ch, rep, name string) ([]byte, error) {
	num, isSeg := strings.CutPrefix(name, "seg-")
	num, isVTT := strings.CutSuffix(num, ".vtt")
	k, err := strconv.ParseInt(num, 10, 64)
	if !isSeg || !isVTT || err != nil || k < 0 {
		return nil, errNotFound("%s/%s%s/%s: not a WebVTT text file (want seg-<K>.vtt)", ch, textDir, rep, name)
	}
	c, err := s.cfg.DB.Channel(ctx, ch)
	if err != nil {
		return nil, objectError(ch, err)
	}
	t, err := s.cfg.DB.Track(ctx, c.ID, rep)
	if err != nil {
		return nil, objectError(ch+"/"+rep, err)
	}
	if t.ContentType != "text" || !export.IsWebVTT(t.Codecs) {
		return nil, errNotFound("%s/%s is no WebVTT (wvtt) track", ch, rep)
	}
	g, ok, err := s.cfg.DB.Segment(ctx, t.ID, k)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNotFound("%s/%s has no segment K=%d", ch, rep, k)
	}
	in, err := s.cfg.DB.InitByID(ctx, g.InitID)
	if err != nil {
		return nil, objectError(ch+"/"+rep+" init", err)
	}
	data, err := s.cfg.Store.Get(ctx, in.Key)
	if err != nil {
		return nil, objectError(in.Key, err)
	}
	info, err := cmaf.ParseInit(data)
	if err != nil {
		return nil, err
	}
	return s.deps.ConvertWebVTT(ctx, g.Key, info)
}
