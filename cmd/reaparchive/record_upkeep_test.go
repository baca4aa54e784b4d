package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestRecordRemovesTempFiles: the temporary files writes interrupted by a
// kill -9 left in a file store are counted by verify and removed when
// record starts.
func TestRecordRemovesTempFiles(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	a := newE2EArchive(t)
	seedArchive(t, ctx, a)
	tmps := []string{
		filepath.Join(a.store, "news", simulate.VideoRep, "888000000.m4s.18a3c0ffee123456.tmp"),
		filepath.Join(a.store, "news", simulate.VideoRep, "888000000.m4s.attrs.18a3c0ffee123457.tmp"),
	}
	for _, p := range tmps {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		step  string
		args  []string
		check func(t *testing.T, r cliResult)
	}{
		{"verify counts them", a.args("verify", "--channel", "news"), func(t *testing.T, r cliResult) {
			if r.code != exitFailure || strings.Count(r.stdout+r.stderr, "temp_file") != len(tmps) {
				t.Errorf("want exit 1 and %d temp_file findings: %s", len(tmps), r)
			}
		}},
		{"record removes them", a.args("record", "--channel", "news", "--listen", "127.0.0.1:0", "--for", "200ms"), func(t *testing.T, r cliResult) {
			for _, p := range tmps {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("%s still there after record started (%v): %s", p, err, r)
				}
			}
		}},
		{"verify finds none", a.args("verify", "--channel", "news"), func(t *testing.T, r cliResult) {
			if strings.Contains(r.stdout+r.stderr, "temp_file") {
				t.Errorf("want no temp_file finding: %s", r)
			}
		}},
	} {
		tc.check(t, runCLI(ctx, tc.args...))
	}
}

// seedArchive stores and indexes the init segments of channel news.
func seedArchive(t *testing.T, ctx context.Context, a *e2eArchive) {
	t.Helper()
	r := archivetest.Open(t, a.storeURL(), a.index, "news", 2*time.Second)
	defer r.Close()
	sim := testenv.NewSim(t, simulate.Options{})
	ch := r.Channel
	for _, rep := range []string{simulate.VideoRep, simulate.AudioRep} {
		init, err := sim.Init(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ch.OfferInit(ctx, "a", rep, init, false); err != nil {
			t.Fatal(err)
		}
	}
}
