package testenv

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Tree is a directory's files (their bytes, by path relative to it), their
// user xattrs (where a file store keeps object attributes) and
// subdirectories: a store's state, to compare before and after an
// operation that must leave it as it was.
type Tree struct {
	Files  map[string][]byte
	Xattrs map[string]string // path -> "name=value\n..." in name order; none: absent
	Dirs   []string
}

// ReadTree reads every file and directory under root.
func ReadTree(tb testing.TB, root string) Tree {
	tb.Helper()
	tr := Tree{Files: map[string][]byte{}, Xattrs: map[string]string{}}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			tr.Dirs = append(tr.Dirs, rel)
			return nil
		}
		b, err := os.ReadFile(p)
		tr.Files[rel] = b
		if err != nil {
			return err
		}
		x, err := userXattrs(p)
		if x != "" {
			tr.Xattrs[rel] = x
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return tr
}

// Diff lists how o differs from t: files gone, changed or new, and
// whether the directories differ; nil when they are the same.
func (t Tree) Diff(o Tree) []string {
	var d []string
	for k, b := range t.Files {
		ob, ok := o.Files[k]
		switch {
		case !ok:
			d = append(d, "file gone: "+k)
		case !bytes.Equal(b, ob):
			d = append(d, "file changed: "+k)
		case t.Xattrs[k] != o.Xattrs[k]:
			d = append(d, "xattrs changed: "+k)
		}
	}
	for k := range o.Files {
		if _, ok := t.Files[k]; !ok {
			d = append(d, "new file: "+k)
		}
	}
	if !slices.Equal(t.Dirs, o.Dirs) {
		d = append(d, "directories differ")
	}
	slices.Sort(d)
	return d
}
