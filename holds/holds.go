// Package holds reads and writes what says which part of a channel prune
// keeps: hold records (LAYOUT.md "Holds"), wall-clock ranges that prune
// must keep, and expiry markers (LAYOUT.md "Retention and deletion order"),
// the horizon before which prune deletes, whose newest is where the
// archive starts.
package holds

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/layout"
)

// List reads every hold record of a channel from the store, active or not,
// in key order.
func List(ctx context.Context, st *cloud.Store, channel string) ([]*layout.HoldRecord, error) {
	var keys []string
	err := st.ListDir(ctx, channel+"/"+layout.HoldPrefix, func(a cloud.Attrs) error {
		name := strings.TrimPrefix(a.Key, channel+"/")
		if _, ok := layout.HoldID(name); ok {
			keys = append(keys, a.Key)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("holds: list %s: %w", channel, err)
	}
	out := make([]*layout.HoldRecord, 0, len(keys))
	for _, k := range keys {
		data, err := st.Get(ctx, k)
		if err != nil {
			return nil, fmt.Errorf("holds: %w", err)
		}
		r, err := layout.ParseHoldRecord(data)
		if err != nil {
			return nil, fmt.Errorf("holds: %s: %w", k, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Active reads the hold records of a channel that are active at now.
func Active(ctx context.Context, st *cloud.Store, channel string, now time.Time) ([]*layout.HoldRecord, error) {
	all, err := List(ctx, st, channel)
	if err != nil {
		return nil, err
	}
	var out []*layout.HoldRecord
	for _, r := range all {
		if r.Active(now) {
			out = append(out, r)
		}
	}
	return out, nil
}

// ErrNoHold is returned (wrapped) by Release for an id that has no hold
// record in the channel.
var ErrNoHold = errors.New("no such hold")

// Request is what Add holds: a channel's wall-clock range [From, To), why,
// and until when (nil Expires: until released).
type Request struct {
	Channel  string
	From, To time.Time
	Reason   string
	Expires  *time.Time
}

// idAttempts is how many random ids Add tries before giving up (a second
// one is needed only if the first was taken: 1 in 2^64).
const idAttempts = 3

// Add writes a new hold record for r, created at now, with a random id,
// create-only: it never replaces a record. It returns the record written.
func Add(ctx context.Context, st *cloud.Store, r Request, now time.Time) (*layout.HoldRecord, error) {
	if err := r.check(now); err != nil {
		return nil, err
	}
	rec := &layout.HoldRecord{Version: layout.HoldRecordVersion, Channel: r.Channel, From: r.From.UTC(), To: r.To.UTC(),
		Reason: r.Reason, Created: now.UTC()}
	if r.Expires != nil {
		exp := r.Expires.UTC()
		rec.Expires = &exp
	}
	for range idAttempts {
		rec.ID = newID()
		data, err := rec.Marshal()
		if err != nil {
			return nil, fmt.Errorf("holds: %w", err)
		}
		if _, err := layout.ParseHoldRecord(data); err != nil {
			return nil, fmt.Errorf("holds: %w", err) // what a reader would refuse is not written
		}
		err = st.Create(ctx, layout.HoldKey(r.Channel, rec.ID), data, nil)
		if cloud.IsExists(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("holds: add: %w", err)
		}
		return rec, nil
	}
	return nil, fmt.Errorf("holds: add: %d random ids were all taken", idAttempts)
}

// check reports what is wrong with r at now, naming the field.
func (r Request) check(now time.Time) error {
	switch {
	case layout.ValidName("channel", r.Channel) != nil:
		return fmt.Errorf("holds: %w", layout.ValidName("channel", r.Channel))
	case r.From.IsZero() || r.To.IsZero():
		return errors.New("holds: a hold needs a range (from and to)")
	case !r.To.After(r.From):
		return fmt.Errorf("holds: empty range: to %s is not after from %s", r.To.UTC().Format(time.RFC3339), r.From.UTC().Format(time.RFC3339))
	case strings.TrimSpace(r.Reason) == "":
		return errors.New("holds: a hold needs a reason")
	case r.Expires != nil && !r.Expires.After(now):
		return fmt.Errorf("holds: expiry %s is not in the future", r.Expires.UTC().Format(time.RFC3339))
	}
	return nil
}

// newID returns a random hold id (layout.ValidHoldID).
func newID() string {
	b := make([]byte, layout.HashLen/2)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}

// Release deletes the hold record id of channel. An id the channel has no
// record of is an error wrapping ErrNoHold.
func Release(ctx context.Context, st *cloud.Store, channel, id string) error {
	if err := layout.ValidName("channel", channel); err != nil {
		return fmt.Errorf("holds: %w", err)
	}
	if err := layout.ValidHoldID(id); err != nil {
		return fmt.Errorf("holds: %w", err)
	}
	err := st.Delete(ctx, layout.HoldKey(channel, id))
	if cloud.IsNotFound(err) {
		return fmt.Errorf("holds: release %s: %w in channel %s (holds list shows its holds)", id, ErrNoHold, channel)
	}
	if err != nil {
		return fmt.Errorf("holds: release %s: %w", id, err)
	}
	return nil
}

// Covers reports whether any of records (normally Active's) holds a part
// of [from, to): an object whose time range overlaps a hold is kept whole,
// so prune deletes an object only when Covers of its range is false. This
// is the one place that decides whether a range is held.
func Covers(records []*layout.HoldRecord, from, to time.Time) bool {
	for _, r := range records {
		if from.Before(r.To) && r.From.Before(to) {
			return true
		}
	}
	return false
}

// Markers lists the horizons of a channel's expiry markers, oldest first.
func Markers(ctx context.Context, st *cloud.Store, channel string) ([]time.Time, error) {
	var out []time.Time
	err := st.ListDir(ctx, channel+"/"+layout.ExpiryPrefix, func(a cloud.Attrs) error {
		if h, ok := layout.ParseExpiryName(strings.TrimPrefix(a.Key, channel+"/")); ok {
			out = append(out, h)
		}
		return nil
	})
	slices.SortFunc(out, time.Time.Compare)
	return out, err
}

// Horizon is where the channel's archive starts according to the store:
// the newest expiry marker's horizon (zero: never pruned).
func Horizon(ctx context.Context, st *cloud.Store, channel string) (time.Time, error) {
	ms, err := Markers(ctx, st, channel)
	if err != nil || len(ms) == 0 {
		return time.Time{}, err
	}
	return ms[len(ms)-1], nil
}
