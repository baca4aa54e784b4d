package reconcile

import (
	"cmp"
	"context"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/layout"
)

// indexObject is a listed index object of a representation (LAYOUT.md,
// Index objects): the K range its key names.
type indexObject struct {
	object
	fromK, toK int64
}

// readIndexList lists the representation's index/ directory: its index
// objects, for Reindex to read instead of their segments' attributes.
func (c *chanScan) readIndexList(ctx context.Context, st *cloud.Store, r *repScan) error {
	return st.ListDir(ctx, c.name+"/"+r.rep+"/"+layout.IndexDir+"/", func(a cloud.Attrs) error {
		if a.Dir {
			return nil
		}
		o, err := layout.Parse(a.Key)
		if err != nil {
			c.problems = append(c.problems, Problem{Kind: Unreadable, Rep: r.rep, Key: a.Key, Detail: err.Error()})
			return nil
		}
		if o.Kind == layout.KindIndex {
			r.indexObjs = append(r.indexObjs, indexObject{object{key: a.Key, size: a.Size, modTime: a.ModTime}, o.K, o.ToK})
		}
		return nil
	})
}

// cachedAttrs is what an index object says of one segment object.
type cachedAttrs struct {
	k     int64
	size  int64
	attrs layout.SegmentAttrs
}

// objAttrs is what a media object's attributes say, from wherever they
// were read.
type objAttrs struct {
	attrs   layout.SegmentAttrs
	err     error // wraps layout.ErrNoTiming: the bytes must be read
	size    int64
	modTime time.Time
}

// neededIndexObjects is those of r's index objects that cover a K of
// todo (sorted by K), sorted by their first K, for readIndexObjects; it
// makes ri.cached, sized for the objects of todo they cover.
func (ri *repIndexer) neededIndexObjects(r *repScan, todo []mediaObject) []indexObject {
	if ri.opts.IgnoreIndexObjects {
		return nil
	}
	var need []indexObject
	covered := 0 // objects of todo that the index objects needed cover
	for _, io := range r.indexObjs {
		i, _ := slices.BinarySearchFunc(todo, io.fromK, func(m mediaObject, k int64) int { return cmp.Compare(m.k, k) })
		j, _ := slices.BinarySearchFunc(todo, io.toK, func(m mediaObject, k int64) int { // the first K after toK
			if m.k <= k {
				return -1
			}
			return 1
		})
		if i < j {
			need = append(need, io)
			covered += j - i
		}
	}
	slices.SortStableFunc(need, func(a, b indexObject) int { return cmp.Compare(a.fromK, b.fromK) })
	ri.cached = make(map[string]cachedAttrs, covered)
	return need
}

// readIndexObjects reads the index objects need into ri.cached,
// concurrently. An index object that cannot be read or parsed is reported
// and ignored: its segments' attributes are read instead.
func (ri *repIndexer) readIndexObjects(ctx context.Context, need []indexObject) error {
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ri.opts.workers())
	for _, io := range need {
		g.Go(func() error {
			o, ok := ri.readIndexObject(gctx, ri.track.Rep, io)
			if !ok {
				return gctx.Err()
			}
			prefix := o.Channel + "/" + o.Rep + "/"
			mu.Lock()
			defer mu.Unlock()
			for _, e := range o.Entries {
				ri.cached[prefix+e.Name] = cachedAttrs{k: e.K, size: e.Size, attrs: e.Attrs(o.IndexHeader)}
			}
			return nil
		})
	}
	return g.Wait()
}

// readIndexObject reads and parses index object io; false (reported) when
// it cannot.
func (ri *repIndexer) readIndexObject(ctx context.Context, rep string, io indexObject) (*layout.IndexObject, bool) {
	data, err := ri.st.Get(ctx, io.key)
	var o *layout.IndexObject
	if err == nil {
		o, err = layout.ParseIndexObject(io.key, data)
	}
	if err != nil {
		if ctx.Err() == nil {
			ri.problem(Problem{Kind: Unreadable, Rep: rep, Key: io.key, Detail: "index object ignored (its segments' attributes are read instead): " + err.Error()})
		}
		return nil, false
	}
	ri.mu.Lock()
	ri.res.IndexObjects++
	ri.mu.Unlock()
	return o, true
}

// cachedFor is what an index object says of o, if one lists o with the
// K of its key and the size the listing gave.
func (ri *repIndexer) cachedFor(o mediaObject) (cachedAttrs, bool) {
	c, ok := ri.cached[o.key]
	return c, ok && !o.unsized && c.k == o.k && c.size == o.size && o.size > 0
}

// statCovered reads, concurrently, the size and modification time of the
// objects of objs that the listing gave without them and that an index
// object lists, for cachedFor to check the index object against (the
// others' attributes are read from the store, with their sizes). An object
// gone since the listing stays unsized: reading its attributes reports it.
func (ri *repIndexer) statCovered(ctx context.Context, objs []mediaObject) error {
	var todo []*mediaObject
	for i := range objs {
		if _, covered := ri.cached[objs[i].key]; covered && objs[i].unsized {
			todo = append(todo, &objs[i])
		}
	}
	const chunk = 512 // objects a goroutine stats
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ri.opts.workers())
	for from := 0; from < len(todo); from += chunk {
		g.Go(func() error {
			for _, o := range todo[from:min(from+chunk, len(todo))] {
				a, err := ri.st.Stat(gctx, o.key)
				if cloud.IsNotFound(err) {
					continue
				}
				if err != nil {
					return err
				}
				o.size, o.modTime, o.unsized = a.Size, a.ModTime, false
			}
			return nil
		})
	}
	return g.Wait()
}

// attrsOf is what o's attributes say: from an index object that lists o
// with the size the listing gave, else read from the store; false when o
// is gone (reported).
func (ri *repIndexer) attrsOf(ctx context.Context, o mediaObject) (objAttrs, bool, error) {
	if c, ok := ri.cachedFor(o); ok {
		ri.mu.Lock()
		ri.res.FromIndexObjects++
		ri.mu.Unlock()
		return objAttrs{attrs: c.attrs, size: o.size, modTime: o.modTime}, true, nil
	}
	at, err := ri.st.Attributes(ctx, o.key)
	if cloud.IsNotFound(err) {
		ri.gone(o, err)
		return objAttrs{}, false, nil
	}
	if err != nil {
		return objAttrs{}, false, err
	}
	ri.mu.Lock()
	ri.res.AttributesRead++
	ri.mu.Unlock()
	attrs, attrsErr := layout.ParseSegmentAttrs(at.Meta)
	return objAttrs{attrs: attrs, err: attrsErr, size: at.Size, modTime: at.ModTime}, true, nil
}
