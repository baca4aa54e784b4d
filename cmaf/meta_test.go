package cmaf

import (
	"bytes"
	"testing"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// TestMetadataTrack: a DASH-IF ingest timed-metadata track (handler meta,
// sample entry urim, which mp4ff v0.55 keeps as an unknown box, or evte)
// is a CMAF header of content type metadata whose codecs are the sample
// entry; its segments parse against it; another urim scheme URI is
// another codec configuration.
func TestMetadataTrack(t *testing.T) {
	t.Parallel()
	for _, entry := range []string{"urim", "evte"} {
		t.Run(entry, func(t *testing.T) {
			t.Parallel()
			init, err := testenv.MetaInit(entry, 3, 1000)
			if err != nil {
				t.Fatal(err)
			}
			info, err := ParseInit(init)
			if err != nil {
				t.Fatal(err)
			}
			if info.Handler != "meta" || info.ContentType != "metadata" || info.Codecs != entry || info.SampleEntry != entry || info.TrackID != 3 || info.Timescale != 1000 {
				t.Errorf("init %+v; want handler meta, content type metadata, codecs %s, track 3, timescale 1000", info, entry)
			}
			seg, err := testenv.MetaSegment(entry, 3, 7, 1_776_000_002_000, 2000, []byte("payload"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := ParseSegment(seg, info)
			if err != nil {
				t.Fatal(err)
			}
			if s.EPT != 1_776_000_002_000 || s.Duration != 2000 || s.SampleCount != 1 {
				t.Errorf("segment %+v; want EPT 1776000002000, duration 2000, 1 sample", s)
			}
			if entry != "urim" {
				return
			}
			other := bytes.Replace(init, []byte(testenv.MetaScheme), []byte("urn:reaparchive:test:atem"), 1)
			oi, err := ParseInit(other)
			if err != nil {
				t.Fatal(err)
			}
			if oi.ConfigHash == info.ConfigHash {
				t.Error("a urim init with another scheme URI has the same ConfigHash")
			}
		})
	}
}
