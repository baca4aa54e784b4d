// Package indexobj writes an archive's index objects (LAYOUT.md, Index
// objects): for each representation and hour of epoch time, one create-only
// object listing the facts reindex needs about each segment object of that
// hour, taken from the index once the hour is complete. They are a cache of
// the truth: reindex reads them instead of one attribute read per object.
package indexobj

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// Hour is the span of time one index object covers.
const Hour = time.Hour

// DefaultSettle is how long after its end an hour is taken as complete:
// every K of it stored or given up by then (a pull recorder gives up on a
// segment within minutes; a late push is still indexed, and a segment an
// index object does not list is read from its attributes).
const DefaultSettle = 15 * time.Minute

// Writer writes the index objects of completed hours not yet written. It
// remembers, per track, the first hour it has not handled yet, so that a
// pass over a channel costs one index query per new hour.
type Writer struct {
	st     *cloud.Store
	db     *index.DB
	settle time.Duration
	log    *slog.Logger
	next   map[int64]int64 // track ID -> first hour (Unix hours) not handled yet
}

// New returns a Writer of the index objects of db's tracks into st; an
// hour is complete settle after its end (0: DefaultSettle).
func New(st *cloud.Store, db *index.DB, settle time.Duration, log *slog.Logger) *Writer {
	if settle <= 0 {
		settle = DefaultSettle
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Writer{st: st, db: db, settle: settle, log: log, next: map[int64]int64{}}
}

// Result is what a pass wrote.
type Result struct {
	Objects int   // index objects written
	Entries int64 // segments they list
}

// All writes the index objects of every channel of the index whose hours
// are complete at now.
func (w *Writer) All(ctx context.Context, now time.Time) (Result, error) {
	chans, err := w.db.Channels(ctx)
	if err != nil {
		return Result{}, err
	}
	var res Result
	for _, ch := range chans {
		r, err := w.Channel(ctx, ch, now)
		res.Objects, res.Entries = res.Objects+r.Objects, res.Entries+r.Entries
		if err != nil {
			return res, fmt.Errorf("index objects of %s: %w", ch.Name, err)
		}
	}
	return res, nil
}

// Channel writes the index objects of ch's tracks for the hours complete
// at now that it has not handled yet. An object already in the store is
// left alone (create-only); an hour without segments gets none.
func (w *Writer) Channel(ctx context.Context, ch index.ChannelRow, now time.Time) (Result, error) {
	tracks, err := w.db.Tracks(ctx, ch.ID)
	if err != nil {
		return Result{}, err
	}
	sources, err := w.db.Sources(ctx, ch.ID)
	if err != nil {
		return Result{}, err
	}
	names := map[int64]string{}
	for _, s := range sources {
		names[s.ID] = s.Name
	}
	last := now.Add(-w.settle).Unix()/3600 - 1 // the last complete hour
	var res Result
	for _, t := range tracks {
		if t.SegDur == 0 || t.Timescale == 0 {
			continue
		}
		tw := &trackWriter{Writer: w, ch: ch, t: t, sources: names}
		if err := tw.run(ctx, last, &res); err != nil {
			return res, fmt.Errorf("%s: %w", t.Rep, err)
		}
	}
	return res, nil
}

// trackWriter writes the index objects of one track.
type trackWriter struct {
	*Writer
	ch      index.ChannelRow
	t       index.Track
	sources map[int64]string // source ID -> name
	inits   map[int64]string // init ID -> h16
}

// run writes the track's objects for the hours from the first not handled
// up to last.
func (tw *trackWriter) run(ctx context.Context, last int64, res *Result) error {
	first, ok := tw.next[tw.t.ID]
	if !ok {
		k, found, err := tw.firstK(ctx)
		if err != nil || !found {
			return err
		}
		first = tw.hourOf(k)
	}
	if first > last {
		return nil
	}
	exists, err := tw.existing(ctx)
	if err != nil {
		return err
	}
	inits, err := tw.db.Inits(ctx, tw.t.ID)
	if err != nil {
		return err
	}
	tw.inits = map[int64]string{}
	for _, in := range inits {
		tw.inits[in.ID] = layout.InitID(in.Hash)
	}
	for h := first; h <= last; h++ {
		fromK, toK := tw.hourKs(h)
		if toK < fromK || exists[layout.IndexObjectKey(tw.ch.Name, tw.t.Rep, fromK, toK)] {
			continue
		}
		if err := tw.write(ctx, fromK, toK, res); err != nil {
			return err
		}
		tw.next[tw.t.ID] = h + 1
	}
	tw.next[tw.t.ID] = last + 1
	return nil
}

// firstK is the track's smallest indexed K.
func (tw *trackWriter) firstK(ctx context.Context) (k int64, found bool, err error) {
	errStop := errors.New("stop")
	err = tw.db.ForEachSegment(ctx, tw.t.ID, math.MinInt64, math.MaxInt64, func(g index.Segment) error {
		k, found = g.K, true
		return errStop
	})
	if errors.Is(err, errStop) {
		err = nil
	}
	return k, found, err
}

// existing is the keys of the track's index objects in the store.
func (tw *trackWriter) existing(ctx context.Context) (map[string]bool, error) {
	out := map[string]bool{}
	err := tw.st.ListDir(ctx, tw.ch.Name+"/"+tw.t.Rep+"/"+layout.IndexDir+"/", func(a cloud.Attrs) error {
		if !a.Dir {
			out[a.Key] = true
		}
		return nil
	})
	return out, err
}

// write writes the index object of fromK..toK, if the index has segments
// there and the store no such object.
func (tw *trackWriter) write(ctx context.Context, fromK, toK int64, res *Result) error {
	segs, err := tw.db.Segments(ctx, tw.t.ID, fromK, toK)
	if err != nil || len(segs) == 0 {
		return err
	}
	events, err := tw.db.EventCounts(ctx, tw.t.ID, fromK, toK)
	if err != nil {
		return err
	}
	o := &layout.IndexObject{IndexHeader: layout.IndexHeader{Version: layout.IndexObjectVersion, Channel: tw.ch.Name, Rep: tw.t.Rep,
		FromK: fromK, ToK: toK, Timescale: tw.t.Timescale, SegDur: tw.t.SegDur}}
	prefix := tw.ch.Name + "/" + tw.t.Rep + "/"
	for _, g := range segs {
		name, ok := strings.CutPrefix(g.Key, prefix)
		if !ok {
			continue
		}
		o.Entries = append(o.Entries, layout.IndexEntry{K: g.K, Name: name, Size: g.Size, EPT: g.EPT, Dur: g.Duration, SHA256: g.SHA256,
			Init: tw.inits[g.InitID], Source: tw.sources[g.SourceID], Events: events[g.K], Filler: g.Filler, Last: g.Last})
	}
	data, err := o.Encode()
	if err != nil {
		return err
	}
	key := layout.IndexObjectKey(tw.ch.Name, tw.t.Rep, fromK, toK)
	if err := tw.st.Create(ctx, key, data, nil); cloud.IsExists(err) {
		return nil
	} else if err != nil {
		return err
	}
	tw.log.Debug("index object written", "key", key, "entries", len(o.Entries))
	res.Objects++
	res.Entries += int64(len(o.Entries))
	return nil
}

// hourOf is the hour (since the epoch) segment K of the track starts in.
func (tw *trackWriter) hourOf(k int64) int64 {
	t := new(big.Int).Mul(big.NewInt(k), new(big.Int).SetUint64(tw.t.SegDur))
	t.Quo(t, big.NewInt(int64(tw.t.Timescale)*3600))
	return t.Int64()
}

// hourKs is the K range of hour h: the K whose start K*D is in
// [h*3600, (h+1)*3600) seconds.
func (tw *trackWriter) hourKs(h int64) (fromK, toK int64) {
	return tw.firstKAt(h), tw.firstKAt(h+1) - 1
}

// firstKAt is the smallest K with K*D >= h*3600 s: ceil(h*3600*T / (D*T)).
func (tw *trackWriter) firstKAt(h int64) int64 {
	num := new(big.Int).Mul(big.NewInt(h*3600), big.NewInt(int64(tw.t.Timescale)))
	den := new(big.Int).SetUint64(tw.t.SegDur)
	num.Add(num, den).Sub(num, big.NewInt(1))
	return num.Quo(num, den).Int64()
}
