package archive_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv/mpdtest"
)

// The tests of recording that check what an export of it presents export
// through package export.

// kTime is the wall-clock start of segment K (D = 2 s).
func kTime(k int64) time.Time { return time.Unix(0, k*int64(segD)).UTC() }

func fileURL(p string) string { return "file://" + filepath.ToSlash(p) }

// export exports the range o of the test channel (o.Channel "").
func (e *env) export(t *testing.T, o export.Options) export.Result {
	t.Helper()
	if o.Channel == "" {
		o.Channel = testChannel
	}
	res, err := export.Deps{Store: e.a.Store, DB: e.a.DB, Log: e.a.Log, Now: e.a.Now}.VoD(context.Background(), o)
	if err != nil {
		t.Fatalf("VoD: %v", err)
	}
	return res
}

// checkTimeline is mpdtest.CheckTimeline against e's index.
func checkTimeline(t *testing.T, e *env, m mpdtest.MPD, dir string) {
	t.Helper()
	mpdtest.CheckTimeline(t, m, dir, func(rep string, k int64) (uint64, uint64, bool) {
		s, ok := e.Segment(t, rep, k)
		return s.EPT, s.Duration, ok
	})
}
