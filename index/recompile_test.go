package index

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"modernc.org/sqlite"
)

// compileCounter counts the SELECT statements the index's reader compiles
// (prepares, or prepares again because SQLite expired a prepared one): it
// leaves the reader one connection and installs an authorizer there, which
// SQLite asks once per SELECT it compiles.
func compileCounter(t *testing.T, db *DB) *atomic.Int64 {
	t.Helper()
	var n atomic.Int64
	db.reader.SetMaxOpenConns(1)
	c, err := db.reader.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	err = c.Raw(func(dc any) error {
		ar, ok := dc.(interface {
			RegisterAuthorizer(sqlite.AuthorizerFn) error
		})
		if !ok {
			return errors.New("the driver's connection has no RegisterAuthorizer")
		}
		return ar.RegisterAuthorizer(func(a sqlite.AuthorizerActionCode, _, _, _, _ string) sqlite.AuthorizerReturnCode {
			if a == sqlite.AuthSelect {
				n.Add(1)
			}
			return sqlite.AuthorizerOK
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return &n
}

// TestLiveReadsNotRecompiled: the reads of a live manifest build, run for
// one track and channel after another, are compiled once, not again on
// every call. Since SQLite 3.54 a statement that sorts or joins is
// planned again whenever a bare parameter it compares changes to or from
// 0 or 1, and 1 is the ID of the first channel and of its first track: a
// build of 8 tracks prepared a read again for every track (BENCHMARKS.md,
// origin). The IDs go through idArg.
func TestLiveReadsNotRecompiled(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	const k0 = 888000000
	ks := []int64{k0, k0 + 1, k0 + 2, k0 + 3}
	f.insert(ks...)
	tracks := []Track{f.track, f.trackWith(t, "v2", ks)}
	ch2, err := f.db.EnsureChannel(f.ctx, "ch2")
	if err != nil {
		t.Fatal(err)
	}
	chans := []ChannelRow{f.ch, ch2}
	if tracks[0].ID != 1 || chans[0].ID != 1 {
		t.Fatalf("the fixture's first track and channel have IDs %d and %d, not 1", tracks[0].ID, chans[0].ID)
	}
	n := compileCounter(t, f.db)
	ctx := f.ctx
	reads := func(tr Track, ch ChannelRow) error {
		return errors.Join(
			func() error { _, err := f.db.Tracks(ctx, ch.ID); return err }(),
			func() error { _, err := f.db.SpliceStamp(ctx, ch.ID); return err }(),
			f.db.ForEachSegment(ctx, tr.ID, k0, k0+3, func(Segment) error { return nil }),
			func() error { _, err := f.db.SegmentsDown(ctx, tr.ID, k0+3, 4); return err }(),
			func() error { _, _, err := f.db.Segment(ctx, tr.ID, k0+1); return err }(),
			func() error { _, err := f.db.ChannelInits(ctx, ch.ID); return err }(),
			func() error { _, err := f.db.Events(ctx, ch.ID, 0, 1<<40); return err }(),
			func() error { _, err := f.db.EventSchemeSpans(ctx, ch.ID, k0, k0+3); return err }(),
			func() error { _, err := f.db.EventSchemes(ctx, tr.ID, k0, k0+3); return err }(),
			func() error { _, err := f.db.Fillers(ctx, tr.ID, "", k0, k0+3); return err }(),
		)
	}
	round := func() {
		for i := range tracks {
			if err := reads(tracks[i], chans[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	round() // compiles each read once
	first := n.Load()
	if first == 0 {
		t.Fatal("the authorizer counted no compile: the count is broken")
	}
	for range 3 {
		round()
	}
	if again := n.Load() - first; again > 0 {
		t.Errorf("3 more rounds over track and channel IDs 1 and 2 compiled %d reads again (the first compiled %d)", again, first)
	}
}
