package origin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
)

// Limits of the timeline page's export jobs.
const (
	maxRunningExports = 2
	maxKeptExports    = 100
	exportTimeout     = time.Hour
)

// exportJob is one export the timeline page started (README: serve,
// timeline page): GET /api/<channel>/exports/<id>.
type exportJob struct {
	ID      string  `json:"id"`
	Channel string  `json:"channel"`
	From    string  `json:"from"`
	To      string  `json:"to"`
	Out     string  `json:"out"`
	State   string  `json:"state"` // running, done, failed
	Elapsed float64 `json:"elapsed_seconds"`
	// How far it is (export.Progress): step, done of total objects
	// written (the copies, then the manifests as one), percent of them.
	Step     string  `json:"step"`
	Done     int     `json:"done"`
	Total    int     `json:"total"`
	Percent  float64 `json:"percent"`
	MPD      string  `json:"mpd,omitempty"`
	HLS      string  `json:"hls,omitempty"`
	Segments int     `json:"segments"`
	Copied   int     `json:"copied"`
	Error    string  `json:"error,omitempty"`

	started, finished time.Time
}

// Job states.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
)

// exportJobs are the jobs of one server, newest last. A job's status lives
// in the process that runs it (the output is in the store).
type exportJobs struct {
	mu   sync.Mutex
	jobs []*exportJob
}

// startExport answers POST /api/{channel}/exports (from, to, gaps in the
// form or query): 202 and the job, which exports the range as export-vod
// --copy --format dash,hls into Config.ExportTo.
func (s *Server) startExport(jobs *exportJobs) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(w, r) {
			return
		}
		if s.cfg.ExportTo == "" {
			writeJSONError(w, http.StatusForbidden, "exports are off: start serve with --export-to URL")
			return
		}
		o, err := s.exportOptions(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		job, err := jobs.start(s, o)
		if err != nil {
			writeJSONError(w, http.StatusTooManyRequests, err.Error())
			return
		}
		w.Header().Set("Location", "/api/"+o.Channel+"/exports/"+job.ID)
		writeJSON(w, http.StatusAccepted, job)
	}
}

// exportStatus answers GET /api/{channel}/exports/{id}.
func (s *Server) exportStatus(jobs *exportJobs) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(w, r) {
			return
		}
		job, ok := jobs.get(r.PathValue("channel"), r.PathValue("id"), s.cfg.Now())
		if !ok {
			writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no export %q of channel %q", r.PathValue("id"), r.PathValue("channel")))
			return
		}
		writeJSON(w, http.StatusOK, job)
	}
}

// writeJSONError answers {"error": msg}.
func writeJSONError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

// exportOptions parses and checks an export request: a known channel and a
// range [from, to) with to after from, gaps signal or split.
func (s *Server) exportOptions(r *http.Request) (export.Options, error) {
	ch := r.PathValue("channel")
	if err := r.ParseForm(); err != nil {
		return export.Options{}, badf("form: %v", err)
	}
	if _, err := s.cfg.DB.Channel(r.Context(), ch); errors.Is(err, index.ErrNotFound) {
		return export.Options{}, errNotFound("no channel %q", ch)
	} else if err != nil {
		return export.Options{}, err
	}
	o := export.Options{Channel: ch, Copy: true, Formats: []string{export.FormatDASH, export.FormatHLS}, Gaps: export.GapsSignal}
	var err error
	if o.From, err = ParseTime(r.Form.Get("from")); err != nil {
		return o, badf("from: %v", err)
	}
	if o.To, err = ParseTime(r.Form.Get("to")); err != nil {
		return o, badf("to: %v", err)
	}
	if !o.To.After(o.From) {
		return o, badf("to %s is not after from %s", o.To.Format(time.RFC3339Nano), o.From.Format(time.RFC3339Nano))
	}
	if g := r.Form.Get("gaps"); g != "" {
		if o.Gaps, err = export.ParseGapMode(g); err != nil || o.Gaps == export.GapsFill {
			return o, badf("gaps %q: want signal or split", g)
		}
	}
	if o.Out, err = exportOut(s.cfg.ExportTo, ch, o.From, o.To); err != nil {
		return o, err
	}
	return o, nil
}

// exportOut is the directory an export of channel's [from, to) goes to:
// <channel>-<from>-<to>/ (epoch seconds) under base.
func exportOut(base, channel string, from, to time.Time) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("--export-to %q: %w", base, err)
	}
	u.Path = path.Join(u.Path, channel+"-"+epochString(from)+"-"+epochString(to)) + "/"
	return u.String(), nil
}

// start runs an export of o in the background, unless maxRunningExports
// are running.
func (js *exportJobs) start(s *Server, o export.Options) (exportJob, error) {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	now := s.cfg.Now()
	job := &exportJob{ID: hex.EncodeToString(id), Channel: o.Channel, From: o.From.Format(time.RFC3339Nano),
		To: o.To.Format(time.RFC3339Nano), Out: o.Out, State: jobRunning, Step: export.StepPlan, started: now}
	js.mu.Lock()
	defer js.mu.Unlock()
	running := 0
	for _, j := range js.jobs {
		if j.State == jobRunning {
			running++
		}
	}
	if running >= maxRunningExports {
		return exportJob{}, fmt.Errorf("%d exports are running: try again when one has finished", running)
	}
	if len(js.jobs) >= maxKeptExports {
		js.jobs = js.jobs[1:]
	}
	js.jobs = append(js.jobs, job)
	go js.run(s, job, o)
	return job.view(now), nil
}

// run exports o (what export-vod does: the range's SCTE-35 events, then
// export.Deps.VoD) and records the outcome in job.
func (js *exportJobs) run(s *Server, job *exportJob, o export.Options) {
	ctx, cancel := context.WithTimeout(context.Background(), exportTimeout)
	defer cancel()
	log := s.cfg.Log.With("export", job.ID, "channel", o.Channel, "out", o.Out)
	log.Info("export started", "from", job.From, "to", job.To)
	o.Progress = func(p export.Progress) {
		js.mu.Lock()
		defer js.mu.Unlock()
		job.Step, job.Done, job.Total, job.Percent = p.Step, p.Done, p.Total, p.Percent()
	}
	res, err := events.VoD(ctx, s.deps, o)
	js.mu.Lock()
	defer js.mu.Unlock()
	job.finished = s.cfg.Now()
	if err != nil {
		job.State, job.Error = jobFailed, err.Error()
		log.Error("export failed", "err", err)
		return
	}
	job.State, job.MPD, job.HLS, job.Segments, job.Copied = jobDone, res.MPD, res.HLS, res.Segments, res.Copied
	log.Info("export done", "segments", res.Segments, "copied", res.Copied)
}

// get is a copy of the channel's job id as of now.
func (js *exportJobs) get(channel, id string, now time.Time) (exportJob, bool) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.jobs {
		if j.ID == id && j.Channel == channel {
			return j.view(now), true
		}
	}
	return exportJob{}, false
}

// view is a copy of j with its elapsed time as of now (the lock held).
func (j *exportJob) view(now time.Time) exportJob {
	v := *j
	end := j.finished
	if end.IsZero() {
		end = now
	}
	v.Elapsed = end.Sub(j.started).Seconds()
	return v
}
