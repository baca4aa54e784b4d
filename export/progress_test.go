package export_test

import (
	"context"
	"testing"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestExportProgress: Options.Progress hears the plan, then each object a
// copy writes (Done counting up by one to the objects copied, of the
// objects and the manifests), then the manifests, and ends done at 100 %;
// a zero-copy export's only unit is its manifests.
func TestExportProgress(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+4)
	for _, tc := range []struct {
		name string
		copy bool
		out  string
	}{
		{"copy", true, fileURL(t.TempDir()) + "/"},
		{"zero copy", false, fileURL(e.storeDir) + "/zc.mpd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var got []export.Progress
			res, err := e.x.VoD(context.Background(), export.Options{Channel: testChannel, From: kTime(k0 + 1), To: kTime(k0 + 5),
				Out: tc.out, Copy: tc.copy, NoHold: true, Progress: func(p export.Progress) { got = append(got, p) }})
			if err != nil {
				t.Fatal(err)
			}
			total := res.Copied + 1
			if len(got) < 3 || got[0] != (export.Progress{Step: export.StepPlan}) || got[len(got)-1] != (export.Progress{Step: export.StepDone, Done: total, Total: total}) {
				t.Fatalf("progress %+v; want plan first and done %d/%d last", got, total, total)
			}
			if p := got[len(got)-1].Percent(); p != 100 {
				t.Errorf("last progress %.1f %%, want 100", p)
			}
			copies := 0
			for i, p := range got[1 : len(got)-1] {
				if p.Total != total || p.Done < copies || p.Done > copies+1 {
					t.Fatalf("progress %d: %+v after %d copies; want 0..%d of %d, one at a time (all: %+v)", i+1, p, copies, res.Copied, total, got)
				}
				copies = p.Done
			}
			if copies != res.Copied || got[len(got)-2].Step != export.StepManifests {
				t.Errorf("progress %+v: want %d copies reported, then the manifests", got, res.Copied)
			}
		})
	}
}
