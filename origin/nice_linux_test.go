package origin

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestPrebuildThreadNice: Prebuild with Config.BuildNice builds on one OS
// thread of that nice value, which ends with it; the process's other
// threads keep theirs. The test asks for +5 (lowering a priority needs no
// privilege), as -10 would need CAP_SYS_NICE.
func TestPrebuildThreadNice(t *testing.T) {
	t.Parallel()
	const nice = 5
	s := &Server{cfg: Config{BuildNice: nice, Now: time.Now, PrebuildLead: DefaultPrebuildLead}, hot: newHotSet(), cache: newCache()}
	s.cfg.Log = slog.New(slog.DiscardHandler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Prebuild(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for threadsAtNice(t, nice) != 1 {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no thread of the process at nice %d after 5 s (%d threads)", nice, len(taskStats(t)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := len(taskStats(t)) - threadsAtNice(t, 0); n > 1 {
		t.Errorf("%d threads are not at nice 0: only Prebuild's may be", n)
	}
	cancel()
	<-done
	for deadline := time.Now().Add(5 * time.Second); threadsAtNice(t, nice) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the thread at nice %d outlived Prebuild: the runtime may run other goroutines at its priority", nice)
		}
	}
}

// taskStats are the /proc stat lines of the process's threads.
func taskStats(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob("/proc/self/task/*/stat")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err == nil { // a thread may end between the glob and the read
			out = append(out, string(b))
		}
	}
	return out
}

// threadsAtNice is how many of the process's threads run at nice n.
func threadsAtNice(t *testing.T, n int) int {
	t.Helper()
	c := 0
	for _, st := range taskStats(t) {
		// pid (comm) state ... : nice is field 19, the 17th after ")".
		f := strings.Fields(st[strings.LastIndexByte(st, ')')+1:])
		if len(f) > 16 && f[16] == strconv.Itoa(n) {
			c++
		}
	}
	return c
}
