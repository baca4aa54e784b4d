package origin

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPrebuildThreadNice: Prebuild with Config.BuildNice builds on one OS
// thread of that nice value, which ends with it; the process's other
// threads keep theirs. The test asks for +5 (lowering a priority needs no
// privilege), as -10 would need CAP_SYS_NICE.
//
// Not parallel: it counts the threads of the process at each nice value.
func TestPrebuildThreadNice(t *testing.T) {
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

// TestBuildThreadRealtime: Prebuild's thread builds at
// Config.BuildRealtime (SCHED_FIFO) and is back in the normal policy, at
// its nice value, between builds; a build longer than the budget leaves
// the realtime priority at the budget, and the next build has it again;
// a priority the system refuses is logged once, and builds run at the
// nice value. Without CAP_SYS_NICE or RLIMIT_RTPRIO every realtime
// priority is refused, and the test checks that instead.
func TestBuildThreadRealtime(t *testing.T) {
	t.Parallel()
	allowed := os.Geteuid() == 0 || rtLimit(t) >= 1
	if !allowed {
		t.Log("no CAP_SYS_NICE or RLIMIT_RTPRIO: every realtime priority must be refused")
	}
	for _, tc := range []struct {
		name       string
		rt, nice   int
		spin       time.Duration // how long the first build runs
		refused    bool          // even where realtime priorities are allowed
		firstStart sched         // the thread when the first build begins
		firstEnd   sched         // and when it ends
	}{
		{name: "short build", rt: 1, nice: 3, firstStart: sched{schedFIFO, 1, 3}, firstEnd: sched{schedFIFO, 1, 3}},
		{name: "past the budget", rt: 2, nice: 3, spin: 60 * time.Millisecond, firstStart: sched{schedFIFO, 2, 3}, firstEnd: sched{schedOther, 0, 3}},
		{name: "refused priority", rt: 100, nice: 3, refused: true, firstStart: sched{schedOther, 0, 3}, firstEnd: sched{schedOther, 0, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !allowed && !tc.refused {
				tc.refused, tc.firstStart, tc.firstEnd = true, sched{schedOther, 0, tc.nice}, sched{schedOther, 0, tc.nice}
			}
			var logged strings.Builder
			s := &Server{cfg: Config{BuildNice: tc.nice, BuildRealtime: tc.rt, Log: slog.New(slog.NewTextHandler(&logged, nil))}}
			got, tid := make(chan [4]sched, 1), make(chan int, 1)
			offMain(func() { // its thread ends with it: prioritizeBuilds never lets go
				th, onMain := s.prioritizeBuilds()
				if onMain {
					panic("prioritizeBuilds on the main thread: offMain keeps it off")
				}
				if th != nil {
					th.budget = 20 * time.Millisecond
				}
				tid <- threadID()
				var r [4]sched
				th.during(func() { r[0] = threadSched(t); spin(tc.spin); r[1] = threadSched(t) })
				r[2] = threadSched(t)
				th.during(func() { r[3] = threadSched(t) })
				got <- r
			})
			r := <-got
			waitThreadGone(t, <-tid)
			second := tc.firstStart
			want := [4]sched{tc.firstStart, tc.firstEnd, {schedOther, 0, tc.nice}, second}
			if r != want {
				t.Errorf("the thread at the first build's start and end, between builds, at the second's start: %v; want %v", r, want)
			}
			if n := strings.Count(logged.String(), "without a realtime priority"); tc.refused != (n == 1) || n > 1 {
				t.Errorf("logged %q: want the refusal once (refused: %v)", logged.String(), tc.refused)
			}
		})
	}
}

// sched is a thread's scheduling policy, realtime priority and nice value.
type sched struct{ policy, rtPriority, nice int }

// threadSched is the calling thread's sched, from /proc.
func threadSched(t *testing.T) sched {
	b, err := os.ReadFile("/proc/thread-self/stat")
	if err != nil {
		t.Error(err)
		return sched{}
	}
	// After "(comm)": state is field 3; nice 19, rt_priority 40, policy 41.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	num := func(field int) int { n, _ := strconv.Atoi(f[field-3]); return n }
	return sched{num(41), num(40), num(19)}
}

// spin keeps the CPU busy for d.
func spin(d time.Duration) {
	for end := time.Now().Add(d); time.Now().Before(end); {
	}
}

// rtLimit is the process's soft RLIMIT_RTPRIO.
func rtLimit(t *testing.T) uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(14, &l); err != nil { // RLIMIT_RTPRIO
		t.Fatal(err)
	}
	return l.Cur
}

// waitThreadGone waits for thread tid of the process to end (a
// goroutine locked to it ended), as a thread with a priority of its own
// must.
func waitThreadGone(t *testing.T, tid int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/task/%d", tid)); os.IsNotExist(err) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d outlived its goroutine", tid)
		}
	}
}

// offMain runs fn in a goroutine of its own locked to a thread that is
// not the main one: on the main thread, it starts another goroutine for
// fn (the runtime keeps other goroutines off a locked thread).
func offMain(fn func()) {
	go func() {
		runtime.LockOSThread()
		if threadID() != os.Getpid() {
			fn()
			return
		}
		defer runtime.UnlockOSThread()
		done := make(chan struct{})
		go func() { defer close(done); fn() }()
		<-done
	}()
}
