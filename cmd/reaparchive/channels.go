package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/layout"
)

// checkChannel returns nil when the index has channel name, else an error
// that names it once and lists the channels there are.
func checkChannel(ctx context.Context, db *index.DB, name string) error {
	if err := validName("--channel", "channel", name); err != nil {
		return err
	}
	_, err := db.Channel(ctx, name)
	if err == nil || !errors.Is(err, index.ErrNotFound) {
		return err
	}
	chans, lerr := db.Channels(ctx)
	if lerr != nil {
		return lerr
	}
	names := make([]string, 0, len(chans))
	for _, c := range chans {
		names = append(names, c.Name)
	}
	if len(names) == 0 {
		return fmt.Errorf("channel %q is not in the index %s: it has no channels yet (record into it first)", name, db.Path())
	}
	return fmt.Errorf("channel %q is not in the index %s; its channels: %s", name, db.Path(), strings.Join(names, ", "))
}

// errFound stops an iteration at its first item.
var errFound = errors.New("found")

// hasSegments reports whether any track of the channel has a segment.
func hasSegments(ctx context.Context, db *index.DB, channel string) (bool, error) {
	ch, err := db.Channel(ctx, channel)
	if err != nil {
		return false, err
	}
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		return false, err
	}
	for _, t := range tracks {
		err := db.ForEachSegment(ctx, t.ID, math.MinInt64, math.MaxInt64, func(index.Segment) error { return errFound })
		if errors.Is(err, errFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

// validName is a usage error unless name is a valid channel, source or
// representation name (layout.ValidName); flag names where it came from.
func validName(flag, kind, name string) error {
	if err := layout.ValidName(kind, name); err != nil {
		return usagef("%s: %w", flag, err)
	}
	return nil
}
