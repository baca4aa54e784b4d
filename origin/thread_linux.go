package origin

import (
	"syscall"
	"unsafe"
)

// Scheduling policies of sched_setscheduler(2).
const (
	schedOther = 0
	schedFIFO  = 1
)

// setThreadNice sets the nice value of the calling OS thread (on Linux a
// thread has its own): the caller holds the thread (runtime.LockOSThread)
// and never lets go of it, so that the runtime ends the thread with the
// goroutine instead of running others on it at that priority.
func setThreadNice(n int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), n)
}

// threadID is the calling OS thread's ID.
func threadID() int { return syscall.Gettid() }

// setThreadRealtime puts thread tid in SCHED_FIFO at priority prio
// (1-99): the kernel runs it before every thread of the normal policy,
// and switches it out only for a thread of a higher realtime priority or
// when it blocks.
func setThreadRealtime(tid, prio int) error { return setScheduler(tid, schedFIFO, prio) }

// setThreadNormal puts thread tid back in the normal policy, at the nice
// value it had there.
func setThreadNormal(tid int) error { return setScheduler(tid, schedOther, 0) }

func setScheduler(tid, policy, prio int) error {
	param := struct{ priority int32 }{int32(prio)}
	_, _, e := syscall.RawSyscall(syscall.SYS_SCHED_SETSCHEDULER, uintptr(tid), uintptr(policy), uintptr(unsafe.Pointer(&param)))
	if e != 0 {
		return e
	}
	return nil
}
