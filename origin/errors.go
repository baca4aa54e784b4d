package origin

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
)

// fail answers with the error: 400 and 404 with their reason, 500 (and a
// log line) for the rest.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var bad *badRequest
	var nf *notFound
	code := http.StatusInternalServerError
	switch {
	case errors.As(err, &bad):
		code = http.StatusBadRequest
	case errors.As(err, &nf):
		code = http.StatusNotFound
	default:
		s.cfg.Log.Error("origin: request failed", "path", r.URL.Path, "err", err)
	}
	h := w.Header()
	h.Del("ETag")
	h.Set("Cache-Control", "no-store")
	http.Error(w, err.Error(), code)
}

// authorized checks a manifest request's bearer token (Config.Token); it
// answers 401 itself when it is missing or wrong.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if s.cfg.Token == "" {
		return true
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(s.cfg.Token)) == 1 {
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="reaparchive"`)
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "manifests need Authorization: Bearer <token>", http.StatusUnauthorized)
	return false
}
