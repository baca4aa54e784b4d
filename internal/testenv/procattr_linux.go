package testenv

import "syscall"

// childProcAttr makes a server die with the test binary, even when the
// binary is killed before its cleanups run.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
