package origin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/layout"
)

// How export job records are kept (LAYOUT.md, Export job records).
const (
	// jobRecordEvery is how often a running job's record is rewritten.
	jobRecordEvery = time.Second
	// jobRecordStale is how long a running job's record may go without a
	// rewrite before readers report the job failed (its origin stopped).
	jobRecordStale = 30 * time.Second
)

// errNoJob is the error of a job neither this server nor the export-to
// store knows.
var errNoJob = errors.New("no such export job")

// jobRecords are the export job records in the export-to store, through
// which every origin with that --export-to reports every job, whichever
// origin runs it. A nil *jobRecords (no --export-to) holds none.
type jobRecords struct {
	url  string
	mu   sync.Mutex
	open *cloud.Store // opened on first use
}

// newJobRecords are the records in the store at exportTo ("": none).
func newJobRecords(exportTo string) *jobRecords {
	if exportTo == "" {
		return nil
	}
	return &jobRecords{url: exportTo}
}

// store is the export-to store, opened once (as exports open it: plain
// files on a file store).
func (r *jobRecords) store(ctx context.Context) (*cloud.Store, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.open == nil {
		st, err := cloud.OpenPlainFiles(ctx, r.url)
		if err != nil {
			return nil, fmt.Errorf("export job records in %s: %w", r.url, err)
		}
		r.open = st
	}
	return r.open, nil
}

// create writes the first record of job j, create-only.
func (r *jobRecords) create(ctx context.Context, j exportJob) error {
	return r.write(ctx, j, true)
}

// put rewrites the record of job j.
func (r *jobRecords) put(ctx context.Context, j exportJob) error {
	return r.write(ctx, j, false)
}

func (r *jobRecords) write(ctx context.Context, j exportJob, create bool) error {
	if r == nil {
		return nil
	}
	key, err := layout.ExportJobKey(j.Channel, j.ID)
	if err != nil {
		return err
	}
	st, err := r.store(ctx)
	if err != nil {
		return err
	}
	j.Elapsed = 0 // readers compute it
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	if create {
		err = st.Create(ctx, key, data, nil)
	} else {
		err = st.Put(ctx, key, data, nil)
	}
	if err != nil {
		return fmt.Errorf("export job record: %w", err)
	}
	return nil
}

// read is the record of the channel's job id as of now: errNoJob when
// there is none; a running job whose record went unwritten for
// jobRecordStale is reported failed.
func (r *jobRecords) read(ctx context.Context, channel, id string, now time.Time) (exportJob, error) {
	if r == nil {
		return exportJob{}, errNoJob
	}
	key, err := layout.ExportJobKey(channel, id)
	if err != nil {
		return exportJob{}, fmt.Errorf("%w: %w", errNoJob, err)
	}
	st, err := r.store(ctx)
	if err != nil {
		return exportJob{}, err
	}
	data, err := st.Get(ctx, key)
	if errors.Is(err, cloud.ErrNotFound) {
		return exportJob{}, errNoJob
	}
	if err != nil {
		return exportJob{}, fmt.Errorf("export job record: %w", err)
	}
	var j exportJob
	if err := json.Unmarshal(data, &j); err != nil || j.ID != id || j.Channel != channel {
		return exportJob{}, fmt.Errorf("export job record %s: not the record of job %s of %s (%v)", key, id, channel, err)
	}
	if j.State == jobRunning && now.Sub(j.Updated) > jobRecordStale {
		j.State, j.Finished = jobFailed, j.Updated
		j.Error = fmt.Sprintf("the origin running the export stopped updating it at %s: it may have stopped (export again)",
			j.Updated.UTC().Format(time.RFC3339))
	}
	return j.withElapsed(now), nil
}
