package origin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// object answers GET /<channel>/<rep>/<path>: a media segment (<K>.<ext>,
// or a splice's replacement <dir>/<K>.<ext>) or an init segment, as the
// index names it (or under _vtt-<rep>/ a WebVTT text file, webVTT): the object stored for K (a splice's replacement when one
// is active), with the index's sha256 as its ETag.
func (s *Server) object(w http.ResponseWriter, r *http.Request) {
	ch, rep, rest := r.PathValue("channel"), r.PathValue("rep"), r.PathValue("path")
	if textRep, ok := strings.CutPrefix(rep, textDir); ok {
		s.webVTT(w, r, ch, textRep, rest)
		return
	}
	key, sum, err := s.lookup(r.Context(), ch, rep, rest)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("ETag", `"`+sum+`"`)
	h.Set("Cache-Control", immutable)
	h.Set("Content-Type", objectType(key))
	if s.cfg.Redirect {
		s.redirect(w, r, key)
		return
	}
	rd, _, err := s.cfg.Store.OpenReader(r.Context(), key)
	if err != nil {
		s.fail(w, r, objectError(key, err))
		return
	}
	defer rd.Close()
	http.ServeContent(w, r, "", time.Time{}, rd)
}

// redirect answers with a 302 to a presigned URL of key, which a CDN may
// keep for a little less than the URL is valid.
func (s *Server) redirect(w http.ResponseWriter, r *http.Request, key string) {
	u, err := s.cfg.Store.SignedURL(r.Context(), key, s.cfg.SignTTL)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(s.cfg.SignTTL.Seconds()/2)))
	http.Redirect(w, r, u, http.StatusFound)
}

// lookup finds the stored object the path names, and its sha256.
func (s *Server) lookup(ctx context.Context, ch, rep, rest string) (key, sum string, err error) {
	c, err := s.cfg.DB.Channel(ctx, ch)
	if err != nil {
		return "", "", objectError(ch, err)
	}
	t, err := s.cfg.DB.Track(ctx, c.ID, rep)
	if err != nil {
		return "", "", objectError(ch+"/"+rep, err)
	}
	want := ch + "/" + rep + "/" + rest
	name := path.Base(rest)
	if strings.HasPrefix(name, "init-") && !strings.Contains(rest, "/") {
		return s.lookupInit(ctx, t, want)
	}
	if fname, ok := strings.CutPrefix(rest, layout.FillerDir+"/"); ok && !strings.Contains(fname, "/") {
		return s.lookupFiller(ctx, t, want, fname)
	}
	num, ext, _ := strings.Cut(name, ".")
	k, err := strconv.ParseInt(num, 10, 64)
	if err != nil || k < 0 || ext != t.Ext {
		return "", "", errNotFound("%s: not a segment of %s/%s (want <K>.%s or init-<hash>)", want, ch, rep, t.Ext)
	}
	g, ok, err := s.cfg.DB.Segment(ctx, t.ID, k)
	switch {
	case err != nil:
		return "", "", err
	case !ok:
		return "", "", errNotFound("%s/%s has no segment K=%d", ch, rep, k)
	case rest != name && g.Key != want:
		return "", "", errNotFound("%s: the segment K=%d of %s/%s is not stored there", want, k, ch, rep)
	}
	return g.Key, g.SHA256, nil
}

// lookupInit finds the init segment stored at key.
func (s *Server) lookupInit(ctx context.Context, t index.Track, key string) (string, string, error) {
	inits, err := s.cfg.DB.Inits(ctx, t.ID)
	if err != nil {
		return "", "", err
	}
	for _, in := range inits {
		if in.Key == key {
			return in.Key, in.Hash, nil
		}
	}
	return "", "", errNotFound("%s: no such init segment", key)
}

// lookupFiller finds the slate filler (gaps=fill) stored at key, whose
// name in the track's filler directory is name: <K>-<slate16>.<ext>, which
// the index lists, or init-<h16>.<ext>, named by a hash of its content.
func (s *Server) lookupFiller(ctx context.Context, t index.Track, key, name string) (string, string, error) {
	if h, ok := strings.CutPrefix(name, "init-"); ok {
		h, _, _ = strings.Cut(h, ".")
		return key, "filler-init-" + h, nil // a 404 when the store lacks it
	}
	ks, rest, _ := strings.Cut(name, "-")
	slate, _, _ := strings.Cut(rest, ".")
	k, err := strconv.ParseInt(ks, 10, 64)
	if err != nil || k < 0 || slate == "" {
		return "", "", errNotFound("%s: not a filler (want %s/<K>-<slate>.%s or %s/init-<hash>.%s)", key, layout.FillerDir, t.Ext, layout.FillerDir, layout.InitExt)
	}
	fs, err := s.cfg.DB.Fillers(ctx, t.ID, slate, k, k)
	if err != nil {
		return "", "", err
	}
	for _, f := range fs {
		if f.Key == key {
			return f.Key, f.SHA256, nil
		}
	}
	// Made by another origin (or export-vod): the store has it, with its
	// SHA-256 in its attributes, though this index does not.
	a, err := s.cfg.Store.Attributes(ctx, key)
	if err != nil {
		return "", "", objectError(key, err)
	}
	sa, err := layout.ParseSegmentAttrs(a.Meta)
	if err != nil {
		return "", "", fmt.Errorf("filler %s: %w", key, err)
	}
	return key, sa.SHA256, nil
}

// objectError makes a missing object or index row a 404.
func objectError(what string, err error) error {
	if errors.Is(err, index.ErrNotFound) || cloud.IsNotFound(err) {
		return errNotFound("%s: not found", what)
	}
	return err
}

// objectType is the Content-Type of an archived object.
func objectType(key string) string {
	switch path.Ext(key) {
	case ".m4s":
		return "video/iso.segment"
	case ".cmfv", ".mp4", ".m4v":
		return "video/mp4"
	case ".cmfa", ".m4a":
		return "audio/mp4"
	case ".cmft":
		return "application/mp4"
	}
	return "application/octet-stream"
}
