package export_test

// Benchmarks for the issue "a benchmark indexing a synthetic 24 h × 8-track
// channel and exporting its MPD; figures (time, peak memory)". See
// BENCHMARKS.md at the repository root for how to run and compare them.
//
// The figures are meant to be read as ratios against the baseline measured
// in the same run on the same machine:
//
//	BenchmarkExport24h8Tracks vs BenchmarkBaselineScan24h     (time/op)
//
// The index's are in package archive (archive/bench_test.go); the day is
// internal/testenv/benchday.

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv/benchday"
)

// benchKTime is the wall-clock start of segment K of the day (D = 2 s).
func benchKTime(k int64) time.Time { return time.Unix(0, k*int64(2*time.Second)).UTC() }

// BenchmarkExport24h8Tracks: VoD of the whole day (345,600 segments,
// 8 tracks) into a file store: segment rows read from the index, the MPD
// built (SegmentTimelines, audio's constrained durations as S runs) and
// written durably.
func BenchmarkExport24h8Tracks(b *testing.B) {
	bd, st, storeDir := benchday.Filled(b)
	d := export.Deps{Store: st, DB: bd.DB}
	o := export.Options{Channel: benchday.Channel, From: benchKTime(benchday.K0), To: benchKTime(benchday.K0 + benchday.PerTrack),
		Out: "file://" + filepath.ToSlash(filepath.Join(storeDir, "vod", "day.mpd"))}
	var mpdBytes int64
	benchExports(b, d, o, func(res export.Result) {
		fi, err := os.Stat(res.MPDPath)
		if err != nil {
			b.Fatal(err)
		}
		mpdBytes = fi.Size()
	})
	b.ReportMetric(float64(mpdBytes), "MPD-bytes")
}

// BenchmarkBaselineScan24h: read all 345,600 rows of the same index with
// index.ForEachSegment and nothing else: the floor under an export.
func BenchmarkBaselineScan24h(b *testing.B) {
	ctx := context.Background()
	bd, _, _ := benchday.Filled(b)
	var peaks, growths []float64
	var elapsed time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		var last index.Segment
		h := benchday.StartHeapPeak()
		start := time.Now()
		b.StartTimer()
		for _, tr := range bd.Tracks {
			if err := bd.DB.ForEachSegment(ctx, tr.ID, benchday.K0, benchday.K0+benchday.PerTrack-1, func(s index.Segment) error {
				n++
				last = s
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		elapsed += time.Since(start)
		p, g := h.Done()
		peaks, growths = append(peaks, p), append(growths, g)
		if n != benchday.Rows || last.K != benchday.K0+benchday.PerTrack-1 {
			b.Fatalf("scanned %d rows", n)
		}
	}
	benchday.Report(b, b.N*benchday.Rows, elapsed, peaks, growths)
}

// benchExports times b.N exports of the whole benchmark day o with d, each
// checked to present the day as one gapless Period and then handed to
// after, and reports the figures benchday.Report gives.
func benchExports(b *testing.B, d export.Deps, o export.Options, after func(export.Result)) {
	ctx := context.Background()
	var peaks, growths []float64
	var elapsed time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		h := benchday.StartHeapPeak()
		start := time.Now()
		b.StartTimer()
		res, err := d.VoD(ctx, o)
		b.StopTimer()
		elapsed += time.Since(start)
		p, g := h.Done()
		peaks, growths = append(peaks, p), append(growths, g)
		if err != nil {
			b.Fatal(err)
		}
		if res.Segments != benchday.Rows || res.Periods != 1 || res.Gaps != 0 || res.Duration != 24*time.Hour {
			b.Fatalf("export: %+v", res)
		}
		after(res)
	}
	benchday.Report(b, b.N*benchday.Rows, elapsed, peaks, growths)
}
