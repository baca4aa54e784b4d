//go:build !linux

package testenv

// userXattrs: file stores keep attributes in xattrs on Linux only.
func userXattrs(string) (string, error) { return "", nil }
