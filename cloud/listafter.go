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
	// In order, each key once, cut to limit here too (see dirPage).
	ready, _ := dirPage(objs, nil, len(next) > 0)
	list := slices.DeleteFunc(ready, func(a Attrs) bool { return a.Key <= after })
	more = len(next) > 0 || len(list) > limit
	for _, a := range list[:min(limit, len(list))] {
		if err := fn(a); err != nil {
			return false, err
		}
	}
	return more, nil
}

// dirPage puts one page of a delimited listing, with the entries held back
// from the pages before it, in key order, each key once: ready can be
// given now, held waits for the next page. fake-gcs-server sends with every
// page each common prefix from the page's start on, after the page's
// objects; so while more pages follow, a prefix past the page's last
// object is held back until a page reaches it or the listing ends, and a
// prefix sent again is given once. (GCS and S3 send a prefix once, within
// its page.)
func dirPage(objs []*blob.ListObject, held []Attrs, more bool) (ready, rest []Attrs) {
	list := slices.Clip(held)
	for _, o := range objs {
		a := Attrs{Key: o.Key, Size: o.Size, ModTime: o.ModTime, Dir: o.IsDir}
		if o.IsDir {
			a.Size, a.ModTime = 0, time.Time{}
		}
		list = append(list, a)
	}
	slices.SortStableFunc(list, func(a, b Attrs) int { return strings.Compare(a.Key, b.Key) })
	list = slices.CompactFunc(list, func(a, b Attrs) bool { return a.Key == b.Key })
	last, ok := lastObject(objs)
	if !more || !ok {
		return list, nil
	}
	i, _ := slices.BinarySearchFunc(list, last, func(a Attrs, k string) int { return strings.Compare(a.Key, k) })
	return list[:i+1], list[i+1:]
}

// lastObject is the greatest key of objs' objects (not prefixes); ok is
// false when objs holds no object.
func lastObject(objs []*blob.ListObject) (last string, ok bool) {
	for _, o := range objs {
		if !o.IsDir && (!ok || o.Key > last) {
			last, ok = o.Key, true
		}
	}
	return last, ok
}
