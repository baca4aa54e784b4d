package export

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/index"
)

// ErrNoSegments is what Load's error wraps when no track has a segment in
// the range.
var ErrNoSegments = errors.New("no segments")

// Title is the ProgramInformation/Title of the presentation of channel's
// range [from, to).
func Title(channel string, from, to time.Time) string {
	return fmt.Sprintf("%s %s/%s", channel, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
}

// runStep is how many index rows RunStart reads at a time.
const runStep = 1024

// RunStart walks back from K k of l (a K every track of l has) to where
// the GapsSplit Period that holds it begins: the first K after the last one
// where a track misses a segment, or changes codec configuration or media
// pattern (buildPlan's rules), looking no lower than floor. reached says
// the walk got to floor without finding the beginning: the Period began at
// or before floor.
//
// A live presentation (the origin's D-MPD) starts its first Period there
// rather than at its window's first K, so that Period keeps its start and
// id while the window slides over it.
func (d Deps) RunStart(ctx context.Context, l *Loaded, k, floor int64) (start int64, reached bool, err error) {
	start = floor
	for ti := range l.tracks {
		s, ok, err := d.trackRunStart(ctx, l, ti, k, start)
		if err != nil {
			return 0, false, err
		}
		if !ok {
			start = max(start, s)
		}
	}
	return start, start == floor, nil
}

// trackRunStart is RunStart for one track: where its run of segments of
// one configuration and media pattern that holds k begins, or ok when the
// run reaches floor.
func (d Deps) trackRunStart(ctx context.Context, l *Loaded, ti int, k, floor int64) (int64, bool, error) {
	x := l.tracks[ti]
	want, next := "", k
	for next >= floor {
		segs, err := d.DB.SegmentsDown(ctx, x.t.ID, next, runStep)
		if err != nil {
			return 0, false, fmt.Errorf("export: %s: %w", x.t.Rep, err)
		}
		if len(segs) == 0 {
			return next + 1, false, nil
		}
		for _, g := range segs {
			if g.K != next {
				return next + 1, false, nil // a hole
			}
			c, err := d.segmentConfig(ctx, l, x, g)
			if err != nil {
				return 0, false, err
			}
			if want == "" {
				want = c
			} else if c != want {
				return next + 1, false, nil
			}
			if next == floor {
				return floor, true, nil
			}
			next--
		}
	}
	return floor, true, nil
}

// segmentConfig names what buildPlan compares of a segment: the codec
// configuration of its init and, for a splice's replacement, its media
// pattern.
func (d Deps) segmentConfig(ctx context.Context, l *Loaded, x trackSegs, g index.Segment) (string, error) {
	if _, ok := l.configs[g.InitID]; !ok {
		if err := d.loadInit(ctx, l, x.t.Rep, g.InitID); err != nil {
			return "", fmt.Errorf("export: %w", err)
		}
	}
	c := l.configs[g.InitID]
	dir := l.Channel.Name + "/" + x.t.Rep + "/"
	if rest, ok := strings.CutPrefix(g.Key, dir); !ok || strings.Contains(rest, "/") {
		d, name := path.Split(g.Key)
		_, ext, _ := strings.Cut(name, ".")
		c += "\x00" + d + "$Number$." + ext
	}
	return c, nil
}
