package reconcile

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/index"
)

// builtBatch is a batch of segment rows buildBatch made, with what
// insertBatch indexes with them: their events and cue checks, the smallest
// K of each init, and the track they were checked against.
type builtBatch struct {
	track  index.Track
	segs   []index.Segment
	events []index.Event
	texts  []textCheck
	firstK map[int64]int64 // init row ID → smallest K
}

// indexAll indexes the media objects todo (sorted by K) in batches of
// Options.batch(), as a pipeline of two steps: while one goroutine inserts a
// batch's rows in the index (one transaction), the other reads the index
// objects (need, sorted by first K) that start by the batch's last K, and
// builds the rows of the next batch from the objects' attributes. Batches
// are inserted in order, so a batch's cue checks see the rows of the
// batches before it.
func (ri *repIndexer) indexAll(ctx context.Context, todo []mediaObject, need []indexObject) error {
	g, gctx := errgroup.WithContext(ctx)
	batches := make(chan builtBatch, 1)
	g.Go(func() error {
		defer close(batches)
		for len(todo) > 0 {
			n := min(ri.opts.batch(), len(todo))
			m := 0
			for m < len(need) && need[m].fromK <= todo[n-1].k {
				m++
			}
			if err := ri.readIndexObjects(gctx, need[:m]); err != nil {
				return err
			}
			need = need[m:]
			b, err := ri.buildBatch(gctx, todo[:n])
			if err != nil {
				return err
			}
			todo = todo[n:]
			select {
			case batches <- b:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	g.Go(func() error {
		for b := range batches {
			if err := ri.insertBatch(gctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	return g.Wait()
}

// buildBatch builds the rows of objs, once it has read the sizes of those
// an index object covers where the listing did not give them
// (statCovered): in this goroutine those whose
// attributes an index object gave and whose bytes need not be read, the
// others concurrently (their attributes or bytes are read from the store).
// It records in the index the track's D*T and timescale when only the
// objects' attributes say them.
func (ri *repIndexer) buildBatch(ctx context.Context, objs []mediaObject) (builtBatch, error) {
	if err := ri.statCovered(ctx, objs); err != nil {
		return builtBatch{}, err
	}
	rows := make([]*index.Segment, len(objs))
	var remote []int
	for i, o := range objs {
		if !ri.local(o) {
			remote = append(remote, i)
			continue
		}
		row, err := ri.segmentRow(ctx, o)
		if err != nil {
			return builtBatch{}, err
		}
		rows[i] = row
	}
	ri.prog.add(int64(len(objs) - len(remote)))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(ri.opts.workers())
	for _, i := range remote {
		g.Go(func() error {
			row, err := ri.segmentRow(gctx, objs[i])
			ri.prog.add(1)
			rows[i] = row
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return builtBatch{}, err
	}
	b := builtBatch{segs: make([]index.Segment, 0, len(rows)), firstK: map[int64]int64{}}
	for _, r := range rows {
		if r == nil {
			continue
		}
		b.segs = append(b.segs, *r)
		if k, ok := b.firstK[r.InitID]; !ok || r.K < k {
			b.firstK[r.InitID] = r.K
		}
	}
	if len(b.segs) > 0 && (ri.track.SegDur == 0 || ri.track.Timescale == 0) {
		// No I-MPD and no init said it: the objects' attributes do.
		t := ri.track
		ri.mu.Lock()
		t.SegDur, t.Timescale = ri.seenSegDur, ri.seenTimescale
		ri.mu.Unlock()
		var err error
		if ri.track, err = ri.db.UpsertTrack(ctx, t); err != nil {
			return builtBatch{}, err
		}
	}
	b.track = ri.track
	ri.mu.Lock()
	b.events, b.texts = ri.events, ri.texts
	ri.events, ri.texts = nil, nil
	ri.mu.Unlock()
	return b, nil
}

// local says segmentRow builds o's row from memory alone: an index object
// gives o's attributes, and o's bytes need not be read (no events to
// index, not a text segment whose cues are checked, no readData).
func (ri *repIndexer) local(o mediaObject) bool {
	c, ok := ri.cachedFor(o)
	if !ok || ri.readData || c.attrs.Events > 0 {
		return false
	}
	rec := ri.initFor(c.attrs.Init)
	return rec == nil || rec.info.ContentType != "text"
}

// insertBatch inserts b's rows in the index in one transaction, then
// their events and text issues, and lowers its inits' first K.
func (ri *repIndexer) insertBatch(ctx context.Context, b builtBatch) error {
	if len(b.segs) == 0 {
		return nil
	}
	if err := ri.db.InsertSegments(ctx, b.segs, false); err != nil {
		return err
	}
	if err := ri.db.AddEvents(ctx, b.events); err != nil {
		return err
	}
	if err := ri.indexTexts(ctx, b.track, b.texts); err != nil {
		return err
	}
	for _, rec := range ri.inits {
		if k, ok := b.firstK[rec.row.ID]; ok {
			if _, err := ri.db.AddInit(ctx, index.Init{TrackID: b.track.ID, Hash: rec.row.Hash, FirstK: k}); err != nil {
				return err
			}
		}
	}
	ri.mu.Lock()
	ri.res.Indexed += int64(len(b.segs))
	ri.mu.Unlock()
	return nil
}
