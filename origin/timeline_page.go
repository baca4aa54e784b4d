package origin

import (
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"path"
)

// web holds the timeline page: its template, script and style, and the
// vendored Shaka Player (scripts/vendor-web.sh copies it from npm).
//
//go:embed web/timeline.html web/timeline.js web/timeline.css web/vendor
var web embed.FS

var pageTmpl = template.Must(template.ParseFS(web, "web/timeline.html"))

// pageData is what the timeline page lists: every channel and its tracks.
type pageData struct {
	Channels []pageChannel
	Exports  bool // serve --export-to is set
}

type pageChannel struct {
	Name   string
	Tracks []pageTrack
}

type pageTrack struct {
	Rep, ContentType string
}

// handleTimeline registers the timeline page (/), its files and its API.
func (s *Server) handleTimeline() {
	jobs := &exportJobs{records: newJobRecords(s.cfg.ExportTo)}
	s.mux.HandleFunc("GET /{$}", s.page)
	s.mux.HandleFunc("GET /_timeline/{file}", s.webFile)
	s.mux.HandleFunc("GET /_timeline/vendor/{file}", s.webFile)
	s.mux.HandleFunc("GET /api/{channel}/timeline", s.timeline)
	s.mux.HandleFunc("POST /api/{channel}/exports", s.startExport(jobs))
	s.mux.HandleFunc("GET /api/{channel}/exports/{id}", s.exportStatus(jobs))
}

// page answers GET /: the timeline page, listing the index's channels and
// tracks (the script draws their timelines from the API).
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	ctx := r.Context()
	chs, err := s.cfg.DB.Channels(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := pageData{Exports: s.cfg.ExportTo != ""}
	for _, ch := range chs {
		tracks, err := s.cfg.DB.Tracks(ctx, ch.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		pc := pageChannel{Name: ch.Name}
		for _, t := range tracks {
			pc.Tracks = append(pc.Tracks, pageTrack{Rep: t.Rep, ContentType: t.ContentType})
		}
		d.Channels = append(d.Channels, pc)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := pageTmpl.Execute(w, d); err != nil {
		s.cfg.Log.Error("origin: timeline page", "err", err)
	}
}

// webFile answers GET /_timeline/...: the page's embedded files.
func (s *Server) webFile(w http.ResponseWriter, r *http.Request) {
	name := path.Join("web", r.URL.Path[len("/_timeline/"):])
	if path.Base(name) == "timeline.html" {
		http.NotFound(w, r)
		return
	}
	sub, _ := fs.Sub(web, ".")
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeFileFS(w, r, sub, name)
}
