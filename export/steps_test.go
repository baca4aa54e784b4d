package export_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/manifest"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestStepsRenderWithoutStore: Load, Plan, Present and Render, called one by
// one as a server of manifests would, give the bytes VoD stores.
func TestStepsRenderWithoutStore(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := newEnv(t)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+5, k0+2)
	o := export.Options{Channel: testChannel, From: kTime(k0), To: kTime(k0 + 6), Out: fileURL(filepath.Join(e.storeDir, "vod", "x.mpd"))}
	res := e.export(t, o)
	stored, err := os.ReadFile(res.MPDPath)
	if err != nil {
		t.Fatal(err)
	}

	l, err := e.x.Load(ctx, o.Channel, o.From, o.To)
	if err != nil {
		t.Fatal(err)
	}
	p, err := l.Plan(export.GapsSignal)
	if err != nil {
		t.Fatal(err)
	}
	var r export.Result
	periods, err := e.x.Present(ctx, p, nil, export.Formats{DASH: true}, export.EventsBoth, &r)
	if err != nil {
		t.Fatal(err)
	}
	in := manifest.VoDInput{Title: fmt.Sprintf("%s %s/%s", o.Channel, o.From.UTC().Format(time.RFC3339), o.To.UTC().Format(time.RFC3339)),
		BaseURL: "../", Periods: periods}
	files, err := export.Render(in, "x", export.Formats{DASH: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].Name != "x.mpd" || !bytes.Equal(files[0].Body, stored) {
		t.Errorf("rendered %d files; want x.mpd with the stored bytes", len(files))
	}
	if r.Segments != res.Segments || r.Periods != res.Periods || p.Periods() != res.Periods || p.Omitted() != res.Omitted {
		t.Errorf("steps counted %+v (plan: %d Periods), VoD %+v", r, p.Periods(), res)
	}
}
