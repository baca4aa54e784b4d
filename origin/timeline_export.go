package origin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/events"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// Limits of the timeline page's export jobs.
const (
	maxRunningExports = 2
	maxKeptExports    = 100
	exportTimeout     = time.Hour
)

// exportJob is one export the timeline page started (README: serve,
// timeline page): GET /api/<channel>/exports/<id>, and its record in the
// export-to store (LAYOUT.md, Export job records).
type exportJob struct {
	Version int     `json:"version"`
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
	// Started, Finished (zero while running) and Updated (when the
	// record was last written) are the runner's clock.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	Updated  time.Time `json:"updated,omitzero"`
}

// Job states.
const (
	jobRunning = "running"
	jobDone    = "done"
	jobFailed  = "failed"
)

// exportJobs are the jobs this server runs, newest last, and the records
// in the export-to store through which any origin reports any job.
type exportJobs struct {
	records *jobRecords
	mu      sync.Mutex
	jobs    []*exportJob
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
		job, err := jobs.start(r.Context(), s, o)
		if errors.Is(err, errTooManyExports) {
			writeJSONError(w, http.StatusTooManyRequests, err.Error())
			return
		}
		if err != nil {
			s.cfg.Log.Error("origin: export job", "err", err)
			writeJSONError(w, http.StatusInternalServerError, err.Error())
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
		ch, id := r.PathValue("channel"), r.PathValue("id")
		job, err := jobs.get(r.Context(), ch, id, s.cfg.Now())
		switch {
		case errors.Is(err, errNoJob):
			writeJSONError(w, http.StatusNotFound, fmt.Sprintf("no export %q of channel %q", id, ch))
		case err != nil:
			s.cfg.Log.Error("origin: export job", "err", err)
			writeJSONError(w, http.StatusInternalServerError, err.Error())
		default:
			writeJSON(w, http.StatusOK, job)
		}
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

// errTooManyExports refuses an export while maxRunningExports run.
var errTooManyExports = errors.New("exports are running: try again when one has finished")

// start records a new job exporting o and runs it in the background,
// unless maxRunningExports are running (errTooManyExports).
func (js *exportJobs) start(ctx context.Context, s *Server, o export.Options) (exportJob, error) {
	id := make([]byte, 8)
	_, _ = rand.Read(id)
	now := s.cfg.Now()
	job := &exportJob{Version: layout.ExportJobRecordVersion, ID: hex.EncodeToString(id), Channel: o.Channel,
		From: o.From.Format(time.RFC3339Nano), To: o.To.Format(time.RFC3339Nano), Out: o.Out,
		State: jobRunning, Step: export.StepPlan, Started: now}
	if err := js.admit(job); err != nil {
		return exportJob{}, err
	}
	if err := js.records.create(ctx, js.snapshot(job, now)); err != nil {
		js.drop(job)
		return exportJob{}, err
	}
	go js.run(s, job, o)
	return js.view(job, now), nil
}

// admit adds job to the running ones, unless maxRunningExports run.
func (js *exportJobs) admit(job *exportJob) error {
	js.mu.Lock()
	defer js.mu.Unlock()
	running := 0
	for _, j := range js.jobs {
		if j.State == jobRunning {
			running++
		}
	}
	if running >= maxRunningExports {
		return fmt.Errorf("%d %w", running, errTooManyExports)
	}
	if len(js.jobs) >= maxKeptExports {
		js.jobs = js.jobs[1:]
	}
	js.jobs = append(js.jobs, job)
	return nil
}

// drop forgets job (its record could not be created).
func (js *exportJobs) drop(job *exportJob) {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.jobs = slices.DeleteFunc(js.jobs, func(j *exportJob) bool { return j == job })
}

// run exports o (what export-vod does: the range's SCTE-35 events, then
// export.Deps.VoD), keeping job and its record current, and records the
// outcome.
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
	stop := js.keepRecord(ctx, job, s.cfg.Now, log)
	res, err := events.VoD(ctx, s.deps, o)
	stop()
	js.finish(job, res, err, s.cfg.Now())
	if err != nil {
		log.Error("export failed", "err", err)
	} else {
		log.Info("export done", "segments", res.Segments, "copied", res.Copied)
	}
	// The last record, even when the export ran out of time.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer rcancel()
	if err := js.records.put(rctx, js.snapshot(job, s.cfg.Now())); err != nil {
		log.Error("export job record: other origins see the job as it was last recorded", "err", err)
	}
}

// finish records the outcome of job's export.
func (js *exportJobs) finish(job *exportJob, res export.Result, err error, now time.Time) {
	js.mu.Lock()
	defer js.mu.Unlock()
	job.Finished = now
	if err != nil {
		job.State, job.Error = jobFailed, err.Error()
		return
	}
	job.State, job.MPD, job.HLS, job.Segments, job.Copied = jobDone, res.MPD, res.HLS, res.Segments, res.Copied
}

// keepRecord rewrites job's record every jobRecordEvery (its progress, and
// a sign of life: see jobRecordStale) until stop is called (stop returns
// once the last rewrite has ended).
func (js *exportJobs) keepRecord(ctx context.Context, job *exportJob, now func() time.Time, log *slog.Logger) (stop func()) {
	done, exited := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(exited)
		t := time.NewTicker(jobRecordEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if err := js.records.put(ctx, js.snapshot(job, now())); err != nil {
					log.Warn("export job record", "err", err)
				}
			}
		}
	}()
	return func() { close(done); <-exited }
}

// snapshot marks job updated now and returns a copy of it.
func (js *exportJobs) snapshot(job *exportJob, now time.Time) exportJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	job.Updated = now
	return *job
}

// get is the channel's job id as of now: this server's, else its record.
func (js *exportJobs) get(ctx context.Context, channel, id string, now time.Time) (exportJob, error) {
	js.mu.Lock()
	for _, j := range js.jobs {
		if j.ID == id && j.Channel == channel {
			js.mu.Unlock()
			return js.view(j, now), nil
		}
	}
	js.mu.Unlock()
	return js.records.read(ctx, channel, id, now)
}

// view is a copy of j with its elapsed time as of now.
func (js *exportJobs) view(j *exportJob, now time.Time) exportJob {
	js.mu.Lock()
	defer js.mu.Unlock()
	return j.withElapsed(now)
}

// withElapsed is j with its elapsed time as of now (or its end).
func (j exportJob) withElapsed(now time.Time) exportJob {
	end := j.Finished
	if end.IsZero() {
		end = now
	}
	j.Elapsed = end.Sub(j.Started).Seconds()
	return j
}
