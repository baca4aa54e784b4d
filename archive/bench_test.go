package archive_test

// Benchmarks for the issue "a benchmark indexing a synthetic 24 h × 8-track
// channel and exporting its MPD; figures (time, peak memory)". See
// BENCHMARKS.md at the repository root for how to run and compare them.
//
// The figures are meant to be read as ratios against the baseline measured
// in the same run on the same machine:
//
//	BenchmarkIndex24h8Tracks  vs BenchmarkBaselineIndexNaive  (ns/row)
//
// The export's are in package export (export/bench_test.go); the day is
// internal/testenv/benchday.

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv/benchday"
)

// BenchmarkIndex24h8Tracks: index.InsertSegments of a day of 8 tracks
// (345,600 rows) into a fresh index per iteration.
func BenchmarkIndex24h8Tracks(b *testing.B) {
	ctx := context.Background()
	var segs []index.Segment
	var peaks, growths []float64
	var sizeMB float64
	var elapsed time.Duration
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		bd := benchday.New(b, b.TempDir())
		if segs == nil {
			segs = bd.Rows() // IDs are the same in every fresh index
		}
		h := benchday.StartHeapPeak()
		start := time.Now()
		b.StartTimer()
		if err := bd.DB.InsertSegments(ctx, segs, false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		elapsed += time.Since(start)
		p, g := h.Done()
		peaks, growths = append(peaks, p), append(growths, g)
		sizeMB = benchday.DBFileMB(filepath.Join(bd.Dir, "index.db"))
		bd.Close()
	}
	benchday.Report(b, b.N*len(segs), elapsed, peaks, growths)
	b.ReportMetric(sizeMB, "db-MB")
}

// BenchmarkBaselineIndexNaive: the same rows, one autocommit INSERT per row
// through database/sql and modernc.org/sqlite on the same schema and
// connection settings (WAL, synchronous=NORMAL, foreign keys), for 1/10 of
// the day's rows (every 10th). Compare its ns/row with
// BenchmarkIndex24h8Tracks's.
func BenchmarkBaselineIndexNaive(b *testing.B) {
	ctx := context.Background()
	var segs []index.Segment
	var peaks, growths []float64
	var elapsed time.Duration
	b.ReportAllocs()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		bd := benchday.New(b, dir) // schema, channel, tracks, inits, sources
		if segs == nil {
			all := bd.Rows()
			for j := 0; j < len(all); j += 10 {
				segs = append(segs, all[j])
			}
		}
		bd.Close()
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		db, err := sql.Open("sqlite", filepath.Join(dir, "index.db")+"?"+q.Encode())
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		h := benchday.StartHeapPeak()
		start := time.Now()
		b.StartTimer()
		for j := range segs {
			s := &segs[j]
			if _, err := db.ExecContext(ctx, `INSERT INTO segments (track_id, k, ept, duration, size, sha256, key, init_id, source_id, received_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, s.TrackID, s.K, int64(s.EPT), int64(s.Duration), s.Size, s.SHA256, s.Key, s.InitID, s.SourceID, s.ReceivedAt.UnixNano()); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		elapsed += time.Since(start)
		p, g := h.Done()
		peaks, growths = append(peaks, p), append(growths, g)
		db.Close()
	}
	benchday.Report(b, b.N*len(segs), elapsed, peaks, growths)
}

// TestBenchDay checks the synthetic day the benchmarks use (on a short
// stretch): audio durations are 94 or 93 AAC frames and contiguous, video
// exactly D; every row is on its K.
func TestBenchDay(t *testing.T) {
	t.Parallel()
	for _, spec := range benchday.TrackSpecs {
		tr := spec
		tr.SegDur = 2 * uint64(tr.Timescale)
		for k := benchday.K0; k < benchday.K0+16; k++ {
			ept, next := benchday.EPT(tr, k), benchday.EPT(tr, k+1)
			if got := tr.EpochIndex(ept); got != k {
				t.Errorf("%s K %d: EPT %d is K %d", tr.Rep, k, ept, got)
			}
			d := next - ept
			switch tr.ContentType {
			case "audio":
				if d != 96256 && d != 95232 {
					t.Errorf("%s K %d: duration %d", tr.Rep, k, d)
				}
			default:
				if d != tr.SegDur {
					t.Errorf("%s K %d: duration %d", tr.Rep, k, d)
				}
			}
		}
	}
}
