package testenv

import (
	"errors"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// userXattrs returns the user xattrs of the file at p as "name=value\n"
// lines in name order ("" if it has none).
func userXattrs(p string) (string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Listxattr(p, buf)
	if errors.Is(err, unix.ENOTSUP) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var names []string
	for _, name := range strings.Split(string(buf[:n]), "\x00") {
		if strings.HasPrefix(name, "user.") {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		n, err := unix.Getxattr(p, name, buf)
		if err != nil {
			return "", err
		}
		b.WriteString(name + "=" + string(buf[:n]) + "\n")
	}
	return b.String(), nil
}
