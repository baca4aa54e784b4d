package export_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/export"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/benchday"
)

// BenchmarkExport24h8TracksS3: BenchmarkExport24h8Tracks with the archive
// (and the export) in an s3:// store on MinIO: the export reads the index
// and writes the MPD; it never lists the segments (checked: one List call
// per export, of the channel's expiry markers).
// The file-store BenchmarkExport24h8Tracks is its baseline.
func BenchmarkExport24h8TracksS3(b *testing.B) {
	ctx := context.Background()
	bd, _, _ := benchday.Filled(b)
	storeURL := testenv.Store("s3").URL(b)
	st, err := cloud.Open(ctx, storeURL)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	bd.StoreInits(b, st)
	d := export.Deps{Store: st, DB: bd.DB}
	u, err := url.Parse(storeURL)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("prefix", "vod/")
	u.RawQuery = q.Encode()
	o := export.Options{Channel: benchday.Channel, From: benchKTime(benchday.K0), To: benchKTime(benchday.K0 + benchday.PerTrack), Out: u.String()}
	exports := int64(0)
	benchExports(b, d, o, func(export.Result) { exports++ })
	// One listing per export: its read of the channel's expiry markers
	// after its hold (LAYOUT.md, Holds); the segments are never listed.
	if n := st.ListCalls(); n != exports {
		b.Fatalf("%d exports listed the bucket %d times; want once each", exports, n)
	}
}
