package cloud

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"
)

// errEnough ends a file or mem listing of ListAfter at its limit.
var errEnough = errors.New("cloud: enough")

// ListAfter is one page of ListDir: it calls fn, in lexical order, for at
// most limit entries one level below prefix whose keys sort after after
// (which starts with prefix), and says whether there may be more. On S3
// and GCS it is one request that starts there (S3 StartAfter, GCS
// StartOffset), whatever the number of keys before after; file and mem
// stores read the level and skip them. A cursor into a long listing: call
// it again with the last key fn saw.
func (s *Store) ListAfter(ctx context.Context, prefix, after string, limit int, fn func(Attrs) error) (more bool, err error) {
	if s.dir != "" || (s.s3Bucket == "" && !s.gcs) {
		n := 0
		err := s.ListDir(ctx, prefix, func(a Attrs) error {
			if a.Key <= after {
				return nil
			}
			if n == limit {
				more = true
				return errEnough
			}
			n++
			return fn(a)
		})
		if errors.Is(err, errEnough) {
			err = nil
		}
		return more, err
	}
	s.listCalls.Add(1)
	if err := checkPrefix(prefix); err != nil {
		return false, fmt.Errorf("cloud: list %q in %s: invalid prefix: %w", prefix, s.url, err)
	}
	raw := s.keyPrefix + after // the backend's key: PrefixedBucket does not see this option
	opts := &blob.ListOptions{Prefix: prefix, Delimiter: "/", BeforeList: func(as func(any) bool) error {
		var in *s3.ListObjectsV2Input
		var q *storage.Query
		switch {
		case as(&in):
			in.StartAfter = aws.String(raw)
		case as(&q):
			q.StartOffset = raw + "\x00" // StartOffset includes its key
		}
		return nil
	}}
	objs, next, err := s.listPage(ctx, blob.FirstPageToken, opts, limit)
	if err != nil {
		return false, s.wrapList(prefix, err)
	}
	// Put in order and cut to limit here too: fake-gcs-server returns every
	// common prefix with a page, after its objects.
	list := make([]Attrs, 0, len(objs))
	for _, o := range objs {
		a := Attrs{Key: o.Key, Size: o.Size, ModTime: o.ModTime, Dir: o.IsDir}
		if o.IsDir {
			a.Size, a.ModTime = 0, time.Time{}
		}
		if a.Key > after {
			list = append(list, a)
		}
	}
	slices.SortFunc(list, func(a, b Attrs) int { return strings.Compare(a.Key, b.Key) })
	if len(next) > 0 { // a prefix past the page's last object may come after the next page's objects
		list = slices.DeleteFunc(list, func(a Attrs) bool { return a.Dir && a.Key > lastObject(objs) })
	}
	more = len(next) > 0 || len(list) > limit
	for _, a := range list[:min(limit, len(list))] {
		if err := fn(a); err != nil {
			return false, err
		}
	}
	return more, nil
}

// lastObject is the greatest key of objs' objects (not prefixes), or "".
func lastObject(objs []*blob.ListObject) string {
	last := ""
	for _, o := range objs {
		if !o.IsDir && o.Key > last {
			last = o.Key
		}
	}
	return last
}
