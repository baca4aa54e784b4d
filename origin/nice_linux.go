package origin

import "syscall"

// setThreadNice sets the nice value of the calling OS thread (on Linux a
// thread has its own): the caller holds the thread (runtime.LockOSThread)
// and never lets go of it, so that the runtime ends the thread with the
// goroutine instead of running others on it at that priority.
func setThreadNice(n int) error {
	return syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), n)
}
