package cloud

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// sysXattrs are the xattr system calls of the running system.
var sysXattrs = xattrFuncs{
	set: func(f *os.File, name string, value []byte) error {
		rc, err := f.SyscallConn()
		if err != nil {
			return err
		}
		var serr error
		if err := rc.Control(func(fd uintptr) { serr = unix.Fsetxattr(int(fd), name, value, 0) }); err != nil {
			return err
		}
		return serr
	},
	list: unix.Listxattr,
	get:  unix.Getxattr,
}

// isNoAttr: the file has no xattr of that name.
func isNoAttr(err error) bool { return errors.Is(err, unix.ENODATA) }
