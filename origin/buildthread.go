package origin

import (
	"log/slog"
	"os"
	"runtime"
	"sync"
	"time"
)

// realtimeBudget is how long a build keeps Prebuild's thread at
// Config.BuildRealtime: a build still running then (a cold one, which
// reads a whole window: the first after the change log overflowed, say)
// finishes at the thread's nice value, and the cores are the other
// threads' again. A warm build takes 1-3 ms on 2 busy cores.
const realtimeBudget = 20 * time.Millisecond

// buildThread is the OS thread Prebuild builds on, at its priority: a
// nice value for the thread's life, and a realtime priority while it
// builds (during). A nil buildThread builds at the process's priority.
type buildThread struct {
	tid    int
	rt     int // SCHED_FIFO priority while building; 0: none
	budget time.Duration
	log    *slog.Logger

	mu  sync.Mutex
	gen int // builds begun: a budget's guard acts for its own build only
}

// prioritizeBuilds gives the calling goroutine an OS thread of its own at
// Config.BuildNice, for the rest of its life, and the realtime priority
// Config.BuildRealtime while it builds: the thread is never let go
// (runtime.UnlockOSThread), so when the goroutine ends the runtime ends
// the thread instead of running other goroutines at that priority.
// Threads the runtime starts meanwhile do not inherit it (a locked thread
// has new ones started by another). What the system refuses is logged
// once, and the thread builds at what it allows. On the main thread,
// which never ends, it gives none: it returns onMain, the goroutine still
// locked to that thread.
func (s *Server) prioritizeBuilds() (th *buildThread, onMain bool) {
	nice, rt := s.cfg.BuildNice, s.cfg.BuildRealtime
	if nice == 0 && rt == 0 {
		return nil, false
	}
	runtime.LockOSThread()
	if threadID() == os.Getpid() {
		return nil, true
	}
	th = &buildThread{tid: threadID(), rt: rt, budget: realtimeBudget, log: s.cfg.Log}
	if nice != 0 {
		if err := setThreadNice(nice); err != nil {
			nice = 0
			s.cfg.Log.Info("live manifests are built ahead at the process's nice value", "build_nice", s.cfg.BuildNice, "err", err,
				"hint", "a nice value below 0 needs CAP_SYS_NICE or RLIMIT_NICE (systemd: LimitNICE=)")
		}
	}
	if rt != 0 {
		if err := setThreadRealtime(th.tid, rt); err != nil {
			th.rt = 0
			s.cfg.Log.Info("live manifests are built ahead without a realtime priority", "build_rt_priority", rt, "err", err,
				"hint", "a realtime priority needs CAP_SYS_NICE or RLIMIT_RTPRIO (systemd: LimitRTPRIO=)")
		} else if err := setThreadNormal(th.tid); err != nil {
			th.rt = 0
			s.cfg.Log.Info("live manifests are built ahead without a realtime priority", "build_rt_priority", rt, "err", err)
		}
	}
	if nice == 0 && th.rt == 0 {
		runtime.UnlockOSThread() // its priority is unchanged
		return nil, false
	}
	s.cfg.Log.Debug("live manifests are built ahead on a thread of their own", "build_nice", nice, "build_rt_priority", th.rt)
	return th, false
}

// during runs build (on th's thread) at th's realtime priority for up to
// th.budget, and the rest of it at th's nice value.
func (th *buildThread) during(build func()) {
	if th == nil || th.rt == 0 {
		build()
		return
	}
	th.mu.Lock()
	th.gen++
	gen := th.gen
	err := setThreadRealtime(th.tid, th.rt)
	th.mu.Unlock()
	if err != nil {
		th.log.Debug("a live manifest is built without its realtime priority", "err", err)
	}
	guard := time.AfterFunc(th.budget, func() { th.normal(gen) })
	defer guard.Stop()
	defer th.normal(gen)
	build()
}

// normal puts th's thread back in the normal policy if build gen is
// still the latest begun.
func (th *buildThread) normal(gen int) {
	th.mu.Lock()
	defer th.mu.Unlock()
	if gen != th.gen {
		return
	}
	if err := setThreadNormal(th.tid); err != nil {
		th.log.Warn("the thread of live builds could not leave its realtime priority", "err", err)
	}
}
