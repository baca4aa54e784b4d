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

// renameNoReplace renames oldpath to newpath unless newpath exists
// (errRenameExists), in one step (renameat2 RENAME_NOREPLACE). done is
// false if the file system cannot (the caller then checks and renames).
func renameNoReplace(oldpath, newpath string) (done bool, err error) {
	err = unix.Renameat2(unix.AT_FDCWD, oldpath, unix.AT_FDCWD, newpath, unix.RENAME_NOREPLACE)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, unix.EEXIST):
		return true, errRenameExists
	case errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.ENOTSUP):
		return false, nil
	}
	return true, &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: err}
}

// openNewFile creates the file name (O_EXCL), mode 0666 before the umask,
// for writing. Unlike os.OpenFile it does not try to make a regular file
// pollable (a failing epoll_ctl and two fcntl per file).
func openNewFile(name string) (*os.File, error) {
	fd, err := unix.Open(name, unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o666)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	return os.NewFile(uintptr(fd), name), nil
}

// fsyncDir fsyncs the directory dir with three system calls (os.Open
// would add an epoll_ctl and fcntl calls).
func fsyncDir(dir string) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	err = unix.Fsync(fd)
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err != nil {
		return &os.PathError{Op: "fsync", Path: dir, Err: err}
	}
	return nil
}
