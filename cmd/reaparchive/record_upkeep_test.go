package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
)

// TestStartIndexObjects: record's upkeep writes the index object of a
// complete hour when it starts, and stop ends it; an hour that is not
// complete gets none.
func TestStartIndexObjects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st, err := cloud.Open(ctx, testenv.FileStoreURL(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	db, err := index.Open(ctx, filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ch, err := db.EnsureChannel(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := db.UpsertTrack(ctx, index.Track{ChannelID: ch.ID, Rep: "V300", ContentType: "video", Timescale: 1000, SegDur: 2000, Ext: "m4s"})
	if err != nil {
		t.Fatal(err)
	}
	old, now := int64(1800*100), time.Now().Unix()/2 // an hour of 1970, long complete; this hour
	for _, k := range []int64{old, now} {
		if err := db.InsertSegments(ctx, []index.Segment{{TrackID: tr.ID, K: k, EPT: uint64(k) * 2000, Duration: 2000, Size: 10,
			SHA256: "ab", Key: layout.MediaKey("news", "V300", k, "m4s")}}, false); err != nil {
			t.Fatal(err)
		}
	}
	a := &app{log: slog.New(slog.DiscardHandler)}
	stop := a.startIndexObjects(ctx, archive.New(st, db, nil))
	deadline := time.Now().Add(20 * time.Second)
	key := layout.IndexObjectKey("news", "V300", old, old+1799)
	for ok := false; !ok; time.Sleep(50 * time.Millisecond) {
		if ok, err = st.Exists(ctx, key); err != nil {
			t.Fatal(err)
		}
		if !ok && time.Now().After(deadline) {
			t.Fatalf("no index object %s after 20 s", key)
		}
	}
	stop()
	var keys []string
	if err := st.List(ctx, "news/", func(at cloud.Attrs) error { keys = append(keys, at.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != key {
		t.Errorf("store holds %q, want only %s (this hour is not complete)", keys, key)
	}
}
