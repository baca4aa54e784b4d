package origin_test

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestOnBuild checks that Config.OnBuild hears of every manifest build
// and only of builds: requests of one second share a build (the
// per-second cache), the next second builds again.
func TestOnBuild(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	var n atomic.Int64
	cfg := originConfig()
	cfg.OnBuild = func(d time.Duration) {
		if d <= 0 {
			t.Errorf("build took %s", d)
		}
		n.Add(1)
	}
	c := &clock{liveNow}
	s := newServer(t, e, e.DB, c, cfg)
	for i, want := range []int64{1, 1, 2} {
		if i == 2 {
			c.t = c.t.Add(time.Second)
		}
		mustGet(t, s, "/ch1/manifest.mpd")
		if got := n.Load(); got != want {
			t.Errorf("after request %d: %d builds noted, want %d", i+1, got, want)
		}
	}
}
