// Package holds reads and writes hold records (LAYOUT.md "Holds"): wall-clock
// ranges of a channel that prune must keep.
package holds

import (
	"context"
	"fmt"
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
