package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/prune"
)

// minFreeKeep is how much of the newest recording retention_min_free
// never deletes, however full the disk.
const minFreeKeep = time.Minute

// minFree is retention_min_free: the free space a file store keeps, a
// percentage of its file system or a number of bytes.
type minFree struct {
	percent float64 // 0 < percent <= 100, or 0
	bytes   int64
}

// parseMinFree parses "10%" or a size ("50GB", "512MiB", parseSize).
func parseMinFree(s string) (minFree, error) {
	if p, ok := strings.CutSuffix(strings.TrimSpace(s), "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f <= 0 || f > 100 {
			return minFree{}, fmt.Errorf("want a percentage of the file system above 0 and at most 100 (10%%) or a size (50GB)")
		}
		return minFree{percent: f}, nil
	}
	n, err := parseSize(s)
	if err != nil {
		return minFree{}, fmt.Errorf("want a percentage of the file system (10%%) or a size (50GB): %w", err)
	}
	return minFree{bytes: n}, nil
}

// want is the free space to keep on a file system of total bytes.
func (m minFree) want(total int64) int64 {
	if m.percent > 0 {
		return int64(float64(total) * m.percent / 100)
	}
	return m.bytes
}

// minFreeHorizon is the horizon that frees what retention_min_free asks
// for on a file store whose file system is nearly full (zero: none
// needed, or not a file store): the oldest segments of every channel go
// first, never those of the last minFreeKeep.
func (a *app) minFreeHorizon(ctx context.Context, ar *archive.Archive) (time.Time, error) {
	m := a.cfg.minFree
	dir, ok := ar.Store.LocalDir()
	if (m == minFree{}) || !ok {
		return time.Time{}, nil
	}
	free, total, err := diskSpace(dir)
	if err != nil {
		return time.Time{}, fmt.Errorf("retention_min_free: %w", err)
	}
	want := m.want(total)
	if free >= want {
		return time.Time{}, nil
	}
	h, ok, err := prune.MinFreeHorizon(ctx, ar.DB, want-free, time.Now().Add(-minFreeKeep))
	if err != nil || !ok {
		return time.Time{}, err
	}
	a.log.Warn("retention_min_free: the disk is nearly full; deleting the oldest segments first",
		"dir", dir, "free", free, "want", want, "horizon", h.Format(time.RFC3339))
	return h, nil
}
