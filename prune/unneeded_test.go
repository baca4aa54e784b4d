package prune_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/prune"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestPruneUnneeded: after the segments, a prune deletes what no
// remaining segment needs and keeps the rest: quarantined objects, index
// objects and slate fillers below the archive's start (not those at or
// after it), splices whose range expired (record and replacements; not one
// still reaching past the horizon), and the I-MPDs that a newer I-MPD
// supersedes for every representation (not the newest).
func TestPruneUnneeded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, _ := archivetest.OpenOn(t, testenv.Store("file"), channel, segD)
	k := k0()
	sim := testenv.NewSim(t, simulate.Options{})
	e.Fill(t, "a", sim, k, k+9)
	v := simulate.VideoRep
	put := func(key string, data []byte) string {
		t.Helper()
		if err := e.Store.Create(ctx, key, data, nil); err != nil {
			t.Fatal(err)
		}
		return key
	}
	ks := func(k int64) string { return strconv.FormatInt(k, 10) }
	old, kept := map[string]bool{}, map[string]bool{}
	old[put(channel+"/"+v+"/quarantine/"+ks(k+1)+"-0123456789abcdef.m4s", []byte("q"))] = true
	kept[put(channel+"/"+v+"/quarantine/"+ks(k+7)+"-0123456789abcdef.m4s", []byte("q"))] = true
	old[put(layout.IndexObjectKey(channel, v, k, k+2), []byte("i"))] = true
	kept[put(layout.IndexObjectKey(channel, v, k+3, k+6), []byte("i"))] = true
	old[put(layout.FillerKey(channel, v, k+2, "00000000000000ff", "m4s"), []byte("f"))] = true
	kept[put(layout.FillerKey(channel, v, k+8, "00000000000000ff", "m4s"), []byte("f"))] = true
	kept[put(layout.FillerInitKey(channel, v, "00000000000000ee"), []byte("fi"))] = true
	for id, to := range map[string]int64{"00000000000000a1": k + 3, "00000000000000a2": k + 6} {
		rec := &layout.SpliceRecord{Version: layout.SpliceRecordVersion, ID: id, Channel: channel, FromK: k + 1, ToK: to - 1,
			From: kTime(k + 1), To: kTime(to), Source: "http://x/", SourceName: "splice.x", Created: time.Now().UTC(),
			Tracks: []layout.SpliceRecordTrack{{Rep: v, Ext: "m4s", Ks: []int64{k + 1}}}}
		b, err := rec.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		set := old
		if to > k+5 {
			set = kept
		}
		set[put(layout.SpliceRecordKey(channel, id), b)] = true
		set[put(layout.SpliceKey(channel, v, id, k+1, "m4s"), []byte("r"))] = true
	}
	mpd, err := sim.MPD()
	if err != nil {
		t.Fatal(err)
	}
	older, err := e.Channel.StoreMPD(ctx, "a", append(slices.Clone(mpd), "\n<!-- older -->\n"...))
	if err != nil {
		t.Fatal(err)
	}
	newer, err := e.Channel.StoreMPD(ctx, "a", mpd)
	if err != nil {
		t.Fatal(err)
	}
	hourAgo := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(e.StoreDir, filepath.FromSlash(older.Key)), hourAgo, hourAgo); err != nil {
		t.Fatal(err)
	}
	old[older.Key], kept[newer.Key] = true, true

	res, err := prune.Channel(ctx, e.Store, e.DB, prune.Options{Channel: channel, Retention: 10 * time.Second, Now: kTime(k + 10)})
	if err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, key := range e.Keys(t, channel+"/") {
		left[key] = true
	}
	for key := range old {
		if left[key] {
			t.Errorf("%s: still in the store", key)
		}
	}
	for key := range kept {
		if !left[key] {
			t.Errorf("%s: deleted", key)
		}
	}
	d := res.Deleted
	if d.Quarantined != 1 || d.IndexObjects != 1 || d.Fillers != 1 || d.Splices != 1 || d.IMPDs != 1 {
		t.Errorf("deleted %+v, want one of each kind", d)
	}
}
