// Package cloud is reaparchive's one portable blob store, opened from a URL
// (file://, s3://, gs://, mem://) over gocloud.dev/blob. It adds what an
// archive needs on top: create-only durable writes, and error values that
// say "exists" and "not found" in one way for every backend.
package cloud

import (
	"errors"
	"time"
)

// ErrNotFound is returned (wrapped) when an object does not exist.
var ErrNotFound = errors.New("object not found")

// ErrExists is returned (wrapped) by Create when the key is already taken.
var ErrExists = errors.New("object already exists")

// Attrs are an object's attributes.
type Attrs struct {
	Key     string
	Size    int64
	ModTime time.Time
	Meta    map[string]string
	// Dir is set by ListDir for a common prefix ("a/b/"), which stands for
	// the objects below it: Key ends in "/", Size and ModTime are zero.
	Dir bool
	// Unsized is set by ListDirUnsized on a file store for an object whose
	// size and modification time it did not read (they are zero here):
	// Store.Stat reads them.
	Unsized bool
}
