//go:build !linux

package origin

import (
	"errors"
	"runtime"
)

var errNoThreadNice = errors.New("a thread's own priority is set on Linux only (" + runtime.GOOS + ")")

func setThreadNice(int) error { return errNoThreadNice }
