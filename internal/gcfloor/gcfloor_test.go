package gcfloor

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		want        int
	}{
		{0, 64 * mib, basePercent},         // nothing measured yet
		{32 * mib, 64 * mib, basePercent},  // GOGC=100 reaches the floor
		{100 * mib, 64 * mib, basePercent}, // above it
		{16 * mib, 64 * mib, 300},          // 16 MiB × 4 = 64 MiB
		{8 * mib, 64 * mib, 700},           // 8 × 8
		{1024, 64 * mib, maxPercent},       // bounded
		{20 * mib, 64 * mib, 220},          // 20 × 3.2
	} {
		if got := Percent(tc.live, tc.floor); got != tc.want {
			t.Errorf("Percent(%d, %d) = %d; want %d", tc.live, tc.floor, got, tc.want)
		}
	}
}

// TestKeep: Keep raises the GC percent of a small heap and gives back the
// one it found when it ends. Not parallel: the percent is the process's.
func TestKeep(t *testing.T) {
	t.Setenv("GOGC", "") // restored after the test
	unsetGOGC(t)         // Keep leaves a set GOGC alone
	runtime.GC()         // the live heap is measured by a collection
	ctx, cancel := context.WithCancel(context.Background())
	prev := debug.SetGCPercent(123)
	defer debug.SetGCPercent(prev)
	done := make(chan struct{})
	go func() { Keep(ctx, 1<<40, time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p := gcPercent()
		if p == maxPercent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GC percent %d after 5 s; want Keep's %d for a 1 TiB floor", p, maxPercent)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if p := gcPercent(); p != 123 {
		t.Errorf("after Keep the GC percent is %d; want the 123 it found", p)
	}
}

func unsetGOGC(t *testing.T) {
	t.Helper()
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
}

// gcPercent reads the GC percent without setting it.
func gcPercent() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}
