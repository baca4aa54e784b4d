package origin

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
)

// TestKeepRecord: while an export runs, its record is rewritten each
// jobRecordEvery with the job's progress and the time (so other origins
// see it advance and alive), and not after stop.
func TestKeepRecord(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	js := &exportJobs{records: newJobRecords("file://" + t.TempDir())}
	t0 := time.Date(2026, 12, 5, 14, 0, 0, 0, time.UTC)
	clock := func() time.Time { return t0.Add(time.Hour) }
	job := &exportJob{ID: "00000000000000aa", Channel: "ch1", State: jobRunning, Step: export.StepPlan, Started: t0}
	if err := js.records.create(ctx, js.snapshot(job, t0)); err != nil {
		t.Fatal(err)
	}
	js.mu.Lock()
	job.Step, job.Done, job.Total = export.StepCopy, 3, 10
	js.mu.Unlock()
	stop := js.keepRecord(ctx, job, clock, slog.New(slog.DiscardHandler))
	var got exportJob
	for deadline := time.Now().Add(5 * jobRecordEvery); time.Now().Before(deadline); time.Sleep(jobRecordEvery / 10) {
		var err error
		if got, err = js.records.read(ctx, "ch1", job.ID, clock()); err != nil {
			t.Fatal(err)
		}
		if got.Done == 3 {
			break
		}
	}
	stop()
	if got.State != jobRunning || got.Step != export.StepCopy || got.Done != 3 || got.Total != 10 || !got.Updated.Equal(clock()) {
		t.Fatalf("record while running: %+v; want running, copy 3 of 10, updated %s", got, clock())
	}
	js.mu.Lock()
	job.Done = 4
	js.mu.Unlock()
	time.Sleep(2 * jobRecordEvery)
	if got, _ = js.records.read(ctx, "ch1", job.ID, clock()); got.Done != 3 {
		t.Errorf("record rewritten after stop: %+v", got)
	}
}
