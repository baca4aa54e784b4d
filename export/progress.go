package export

import "sync"

// Steps of an export's Progress.
const (
	StepPlan      = "plan"      // loading the index rows and planning
	StepCopy      = "copy"      // copying the referenced objects (Copy)
	StepManifests = "manifests" // writing the playlists and the MPD
	StepDone      = "done"      // everything is written
)

// Progress is how far an export is: Done of Total objects written, the
// copies of a Copy export (one per object, written or found identical),
// then the presentation's manifests as one more. Total is 0 until the
// plan is made.
type Progress struct {
	Step        string
	Done, Total int
}

// Percent is Done of Total in percent (0 before the plan is made).
func (p Progress) Percent() float64 {
	if p.Total == 0 {
		return 0
	}
	return 100 * float64(p.Done) / float64(p.Total)
}

// reporter calls Options.Progress (if set) one call at a time, from
// whichever goroutine advances the export.
type reporter struct {
	mu sync.Mutex
	f  func(Progress)
	p  Progress
}

func newReporter(f func(Progress)) *reporter { return &reporter{f: f} }

// set reports step with done of total.
func (r *reporter) set(step string, done, total int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p = Progress{Step: step, Done: done, Total: total}
	r.report()
}

// advance reports one more object done in the current step.
func (r *reporter) advance() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.p.Done++
	r.report()
}

// finish reports the last unit, the manifests, done.
func (r *reporter) finish() { r.set(StepDone, r.p.Total, r.p.Total) }

// report calls f with the progress (the lock held).
func (r *reporter) report() {
	if r.f != nil {
		r.f(r.p)
	}
}
