package origin_test

import (
	"bytes"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPrebuild checks that Prebuild builds the live manifest players read
// for the next second before it begins: the first request of that second
// is a cache hit, with the bytes a build on request gives.
func TestPrebuild(t *testing.T) {
	t.Parallel()
	e := recorded(t)
	var now atomic.Int64
	now.Store(liveNow.Truncate(time.Second).Add(900 * time.Millisecond).UnixNano()) // 100 ms before the next second
	cfg := originConfig()
	cfg.Now = func() time.Time { return time.Unix(0, now.Load()) }
	s := newServer(t, e, e.DB, nil, cfg)
	mustGet(t, s, "/ch1/manifest.mpd") // now players read it
	go s.Prebuild(t.Context())
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(string(mustGet(t, s, "/metrics")), `reaparchive_origin_manifest_cache_total{result="prebuilt"} 1`) {
		if time.Now().After(deadline) {
			t.Fatalf("no manifest built ahead within 20 s:\n%s", mustGet(t, s, "/metrics"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	now.Add(int64(200 * time.Millisecond)) // the next second
	got := mustGet(t, s, "/ch1/manifest.mpd")
	m := string(mustGet(t, s, "/metrics"))
	if !strings.Contains(m, `reaparchive_origin_manifest_cache_total{result="hit"} 1`) || !strings.Contains(m, `reaparchive_origin_manifest_cache_total{result="miss"} 1`) {
		t.Errorf("the request of the next second was built on request:\n%s", m)
	}
	want := mustGet(t, newServer(t, e, e.DB, &clock{time.Unix(0, now.Load())}, originConfig()), "/ch1/manifest.mpd")
	if !bytes.Equal(got, want) {
		t.Errorf("the manifest built ahead differs from one built on request:\n%s\n----\n%s", got, want)
	}
}
