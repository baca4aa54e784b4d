package archive

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/reaparchive/reaparchive/archive/spool"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// Spooling: when the store cannot take a segment (unreachable after the
// store's retries), OfferSegment keeps it in Archive.Spool with the index
// rows it would have written, and acknowledges it once it is durable there.
// The index is written only once the object is in the store (RunSpool), so
// index and storage keep agreeing; until then the spool's pending entry
// stands for the stored K, and later deliveries of K are duplicates.

// errSpoolFirst: segments are already spooled, so this one queues behind them.
var errSpoolFirst = errors.New("segments are spooled (store unreachable)")

// spooledRows are the index rows of a spooled segment.
type spooledRows struct {
	Seg  index.Segment  `json:"seg"`
	Del  index.Delivery `json:"del"`
	Init index.Init     `json:"init"` // the segment's init (its FirstK is lowered to K)
}

func (a *Archive) spoolSegment(key string, data []byte, meta map[string]string, seg index.Segment, del index.Delivery, init index.Init, cause error) error {
	rows, err := json.Marshal(spooledRows{Seg: seg, Del: del, Init: init})
	if err != nil {
		return err
	}
	first := a.Spool.Len() == 0
	if err := a.Spool.Add(key, data, meta, rows); err != nil {
		return err
	}
	if first {
		a.Log.Warn("store unreachable: spooling segments locally until it is back", "spool", a.Spool.Dir(), "key", key, "err", cause)
	}
	return nil
}

// spooledSegment is the segment row a spooled entry stands for (from its
// object metadata).
func spooledSegment(e *spool.Entry) (index.Segment, bool) {
	a, err := layout.ParseSegmentAttrs(e.Meta)
	return index.Segment{Key: e.Key, EPT: a.EPT, Duration: a.Duration, SHA256: a.SHA256, Size: e.Size}, err == nil
}

// RunSpool uploads spooled segments whenever there are some (and the store
// takes them), in order, until ctx ends. Archive.Spool must be set.
func (a *Archive) RunSpool(ctx context.Context) { a.Spool.Run(ctx, a.uploadSpooled) }

// DrainSpool uploads every spooled segment, in order; it stops at the first
// that the store does not take.
func (a *Archive) DrainSpool(ctx context.Context) error { return a.Spool.Drain(ctx, a.uploadSpooled) }

// uploadSpooled stores one spooled segment create-only and writes its index
// rows. If the key exists, the object is either ours (an upload whose
// answer was lost, or a crash before the entry was removed: same
// reap-sha256) or another recorder's, which then is the stored K and our
// delivery a duplicate or conflict.
func (a *Archive) uploadSpooled(ctx context.Context, e *spool.Entry, data []byte) error {
	var rows spooledRows
	if err := json.Unmarshal(e.Index, &rows); err != nil {
		return fmt.Errorf("spooled %s: index rows: %w", e.Key, err)
	}
	seg, del := rows.Seg, rows.Del
	unlock := a.locks.lock(lockKey{seg.TrackID, seg.K})
	defer unlock()
	err := a.Store.Create(ctx, e.Key, data, e.Meta)
	if errors.Is(err, cloud.ErrExists) {
		at, aerr := a.Store.Attributes(ctx, e.Key)
		if aerr != nil {
			return aerr
		}
		if theirs, _ := layout.ParseSegmentAttrs(at.Meta); theirs.SHA256 != seg.SHA256 || at.Size != int64(len(data)) {
			theirs, _, serr := a.storedObject(ctx, seg.TrackID, seg.K, e.Key, seg.InitID)
			if serr != nil {
				return serr
			}
			if err := a.DB.Record(ctx, &theirs); err != nil && !errors.Is(err, index.ErrExists) {
				return fmt.Errorf("index %s: %w", e.Key, err)
			}
			del = judgeCopy(theirs, del)
			a.Log.Warn("spooled segment was stored by another writer meanwhile", "key", e.Key, "outcome", del.Outcome)
			return a.DB.Record(ctx, nil, del)
		}
		err = nil // ours
	}
	if err != nil {
		return err
	}
	err = a.DB.Record(ctx, &seg, del)
	if errors.Is(err, index.ErrExists) { // another recorder on this index indexed our object
		err = a.DB.Record(ctx, nil, del)
	}
	if err != nil {
		return fmt.Errorf("index %s: %w", e.Key, err)
	}
	if in := rows.Init; in.Key != "" && seg.K < in.FirstK {
		in.FirstK = seg.K
		if _, err := a.DB.AddInit(ctx, in); err != nil {
			return fmt.Errorf("index init first K %s: %w", e.Key, err)
		}
	}
	return nil
}
