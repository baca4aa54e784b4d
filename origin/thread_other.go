//go:build !linux

package origin

import (
	"errors"
	"runtime"
)

var errNoThreadPriority = errors.New("a thread's own priority is set on Linux only (" + runtime.GOOS + ")")

func setThreadNice(int) error { return errNoThreadPriority }

func threadID() int { return 0 }

func setThreadRealtime(int, int) error { return errNoThreadPriority }

func setThreadNormal(int) error { return errNoThreadPriority }
