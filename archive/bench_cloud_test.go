package archive_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/internal/testenv"
)

// BenchmarkExport24h8TracksS3: BenchmarkExport24h8Tracks with the archive
// (and the export) in an s3:// store on MinIO: the export reads the index
// and writes the MPD; it never lists the bucket (checked: 0 List calls).
// The file-store BenchmarkExport24h8Tracks is its baseline.
func BenchmarkExport24h8TracksS3(b *testing.B) {
	ctx := context.Background()
	bd, _, _ := benchFilledDay(b)
	storeURL := testenv.Store("s3").URL(b)
	st, err := cloud.Open(ctx, storeURL)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bd.storeInits(b, st)
	a := archive.New(st, bd.db, nil)
	u, err := url.Parse(storeURL)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("prefix", "vod/")
	u.RawQuery = q.Encode()
	o := archive.ExportOptions{Channel: benchChannel, From: kTime(benchK0), To: kTime(benchK0 + benchPerTrack), Out: u.String()}
	var peaks, growths []float64
	var elapsed time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		h := startHeapPeak()
		start := time.Now()
		b.StartTimer()
		res, err := a.ExportVoD(ctx, o)
		b.StopTimer()
		elapsed += time.Since(start)
		p, g := h.Done()
		peaks, growths = append(peaks, p), append(growths, g)
		if err != nil {
			b.Fatal(err)
		}
		if res.Segments != benchRows || res.Periods != 1 || res.Gaps != 0 || res.Duration != 24*time.Hour {
			b.Fatalf("export: %+v", res)
		}
	}
	if n := st.ListCalls(); n != 0 {
		b.Fatalf("the export listed the bucket %d times; want 0", n)
	}
	benchReport(b, b.N*benchRows, elapsed, peaks, growths)
}
