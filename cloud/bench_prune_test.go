package cloud_test

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/benchday"
	"github.com/reaparchive/reaparchive/layout"
)

// envPruneObjects reduces BenchmarkPruneDay's objects (default: a day).
const envPruneObjects = "REAPARCHIVE_BENCH_PRUNE_OBJECTS"

// BenchmarkPruneDay deletes the media segments of a day of one 8-track
// channel (benchday: 8 × 43,200 keys of 2 s segments, 345,600 objects;
// REAPARCHIVE_BENCH_PRUNE_OBJECTS=N takes the first N/8 K of every track)
// from MinIO, as a prune of that day would, and reports objects/s:
//
//	DeleteMany  Store.DeleteMany of all the keys (S3 DeleteObjects, 1,000 keys a request)
//	baseline    Store.Delete of one key after the other (gocloud's s3blob
//	            delete: a HEAD and a DELETE request per key), the same keys
//
// Each sub-benchmark creates the objects first (untimed; tiny bodies, 32
// writers) and fails unless the bucket is empty afterwards.
func BenchmarkPruneDay(b *testing.B) {
	keys := pruneDayKeys(b)
	st, err := cloud.Open(context.Background(), testenv.Store("s3").URL(b))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	for _, v := range []struct {
		name   string
		delete func(ctx context.Context, keys []string) error
	}{
		{"DeleteMany", func(ctx context.Context, keys []string) error {
			_, err := st.DeleteMany(ctx, keys)
			return err
		}},
		{"baseline", func(ctx context.Context, keys []string) error {
			for _, k := range keys {
				if err := st.Delete(ctx, k); err != nil {
					return err
				}
			}
			return nil
		}},
	} {
		b.Run(v.name, func(b *testing.B) {
			var elapsed time.Duration
			for range b.N {
				createObjects(b, st, keys)
				start := time.Now()
				if err := v.delete(context.Background(), keys); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
				checkEmpty(b, st)
			}
			b.ReportMetric(float64(len(keys)*b.N)/elapsed.Seconds(), "objects/s")
		})
	}
}

// pruneDayKeys are the media keys of benchday's day, or of its first
// REAPARCHIVE_BENCH_PRUNE_OBJECTS/8 K per track.
func pruneDayKeys(b *testing.B) []string {
	n := benchday.Rows
	if s := os.Getenv(envPruneObjects); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < benchday.Tracks || v > benchday.Rows {
			b.Fatalf("%s=%q: want a number of objects from %d to %d", envPruneObjects, s, benchday.Tracks, benchday.Rows)
		}
		n = v
	}
	perTrack := int64(n / benchday.Tracks)
	keys := make([]string, 0, n)
	for _, tr := range benchday.TrackSpecs {
		for k := benchday.K0; k < benchday.K0+perTrack; k++ {
			keys = append(keys, layout.MediaKey(benchday.Channel, tr.Rep, k, layout.Ext(tr.ContentType)))
		}
	}
	return keys
}

// createObjects stores a tiny object at every key, 32 at once, with the
// benchmark's timer stopped.
func createObjects(b *testing.B, st *cloud.Store, keys []string) {
	b.StopTimer()
	defer b.StartTimer()
	var g errgroup.Group
	g.SetLimit(32)
	for _, k := range keys {
		g.Go(func() error { return st.Put(context.Background(), k, []byte("x"), nil) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// checkEmpty fails b unless the store holds no object (timer stopped).
func checkEmpty(b *testing.B, st *cloud.Store) {
	b.StopTimer()
	defer b.StartTimer()
	n := 0
	if err := st.List(context.Background(), "", func(cloud.Attrs) error { n++; return nil }); err != nil {
		b.Fatal(err)
	}
	if n != 0 {
		b.Fatalf("%d objects left after the delete", n)
	}
}
