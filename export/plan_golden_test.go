package export

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/reaparchive/reaparchive/index"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// goldenPlan is the JSON form of a plan, as testdata/golden keeps it.
type goldenPlan struct {
	FirstK    int64          `json:"first_k"`
	LastK     int64          `json:"last_k"`
	Omitted   int            `json:"omitted"`
	Presented int64          `json:"presented"`
	Missing   [][]int64      `json:"missing"`
	Periods   []goldenPeriod `json:"periods"`
}

type goldenPeriod struct {
	StartK int64         `json:"start_k"`
	Tracks []goldenTrack `json:"tracks"`
}

type goldenTrack struct {
	Track   int      `json:"track"`
	Filler  bool     `json:"filler,omitempty"`
	InitID  int64    `json:"init_id,omitempty"`
	Pattern string   `json:"pattern,omitempty"` // a splice's media pattern
	Entries []string `json:"entries"`           // K:EPT+duration, "gap" or "filler" after
}

func toGolden(pl plan, ts []trackSegs) goldenPlan {
	g := goldenPlan{FirstK: pl.firstK, LastK: pl.lastK, Omitted: pl.omitted, Presented: pl.presented, Missing: pl.missing}
	for _, p := range pl.periods {
		gp := goldenPeriod{StartK: p.startK}
		for _, pt := range p.tracks {
			gt := goldenTrack{Track: pt.ti, Filler: pt.filler, InitID: pt.initID, Entries: []string{}}
			if pt.dir != 0 {
				gt.Pattern = ts[pt.ti].dirs[pt.dir-1]
			}
			for _, e := range pt.segs {
				s := strconv.FormatInt(e.K, 10) + ":" + strconv.FormatUint(e.EPT, 10) + "+" + strconv.FormatUint(e.Duration, 10)
				switch {
				case e.Gap:
					s += " gap"
				case pt.filler:
					s = strconv.FormatInt(e.K, 10) + " filler"
				}
				gt.Entries = append(gt.Entries, s)
			}
			gp.Tracks = append(gp.Tracks, gt)
		}
		g.Periods = append(g.Periods, gp)
	}
	return g
}

// spliced stores the segments of track ti at Ks in a splice's directory.
func spliced(t *testing.T, ts []trackSegs, ti int, ks ...int64) []trackSegs {
	t.Helper()
	for _, k := range ks {
		if err := ts[ti].addDir(index.Segment{K: k, Key: "ch/t" + strconv.Itoa(ti) + "/splice-00ff00ff00ff00ff/" + strconv.FormatInt(k, 10) + ".m4s"}); err != nil {
			t.Fatal(err)
		}
	}
	return ts
}

// TestPlanGolden compares the plans of a few ranges with
// testdata/golden/plan-*.json; go test -run TestPlanGolden -update
// rewrites them.
func TestPlanGolden(t *testing.T) {
	t.Parallel()
	cfg := func(_ int, id int64) (string, error) { return string(rune(id)), nil }
	cases := []struct {
		name string
		ts   []trackSegs
		mode GapMode
	}{
		{"plain", planTracks("aaaa", "aaaa"), GapsSignal},
		{"gaps-signal", planTracks("aa.aa", "aaa.a"), GapsSignal},
		{"gaps-split", planTracks("aa.aa", "aaa.a"), GapsSplit},
		{"gaps-fill", planTracks("aa.aa", "aaa.a"), GapsFill},
		{"init-change", planTracks("aabb", "aaaa"), GapsSignal},
		{"splice", spliced(t, planTracks("aaaaa", "aaaaa"), 0, 101, 102), GapsSignal},
		{"filler-only-k", planTracks("a.a", "a.a"), GapsFill},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pl, err := buildPlan(c.ts, c.mode, cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(toGolden(pl, c.ts), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			file := filepath.Join("testdata", "golden", "plan-"+c.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (go test -run TestPlanGolden -update writes it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("plan differs from %s (go test -run TestPlanGolden -update rewrites it):\n%s", file, got)
			}
		})
	}
}
