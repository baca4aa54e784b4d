package archive_test

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/archive/spool"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestStreamsSegments: segments are streamed to file stores that keep
// xattrs, for video and audio tracks, without a spool; text tracks (whose
// samples the archive reads), tracks of unknown content, archives with a
// spool and stores that take objects whole (mem://, like S3 and GCS) are
// buffered.
func TestStreamsSegments(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		url         string // "": a file store
		spool       bool
		contentType string
		want        bool
	}{
		{name: "file video", contentType: "video", want: true},
		{name: "file audio", contentType: "audio", want: true},
		{name: "file text", contentType: "text"},
		{name: "file unknown", contentType: ""},
		{name: "file video with a spool", spool: true, contentType: "video"},
		{name: "mem video", url: "mem://", contentType: "video"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url := tc.url
			if url == "" {
				url = testenv.FileStoreURL(t.TempDir())
			}
			s, err := cloud.Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			a := archive.New(s, nil, nil)
			if tc.spool {
				if a.Spool, err = spool.Open(filepath.Join(t.TempDir(), "spool"), 1<<30, nil); err != nil {
					t.Fatal(err)
				}
			}
			if got := a.StreamsSegments(tc.contentType); got != tc.want {
				t.Errorf("StreamsSegments(%q) = %v; want %v", tc.contentType, got, tc.want)
			}
		})
	}
}

// streamedOffer is seg offered streamed: its head (up to and including
// its mdat's header) as Data, the mdat's payload as Body, of which only
// sent bytes arrive (-1: all).
func streamedOffer(tb testing.TB, source, rep string, k int64, seg []byte, sent int) archive.Offer {
	tb.Helper()
	off := testenv.MdatOffset(tb, seg)
	payload := seg[off+8:]
	if sent >= 0 {
		payload = payload[:sent]
	}
	return archive.Offer{Source: source, Rep: rep, ExpectK: k, Data: seg[:off+8],
		Body: bytes.NewReader(payload), BodySize: int64(len(seg) - off - 8)}
}

// TestOfferSegmentStreamed: a streamed offer is stored with the bytes and
// SHA-256 of the segment, written as it streams or (with a spool, where
// StreamsSegments says no) buffered first; a body that ends early is
// ErrBody and leaves nothing stored or indexed.
func TestOfferSegmentStreamed(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		spool bool
		sent  int
	}{
		{name: "streamed", sent: -1},
		{name: "buffered with a spool", spool: true, sent: -1},
		{name: "body ends early", sent: 1000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newEnv(t)
			sim := testenv.NewSim(t, simulate.Options{})
			e.Fill(t, "a", sim, k0, k0)
			if tc.spool {
				sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"), 1<<30, nil)
				if err != nil {
					t.Fatal(err)
				}
				e.a.Spool = sp
			}
			rep, k := simulate.VideoRep, k0+1
			seg := testenv.MustSeg(t, sim, rep, k)
			res, err := e.ch.OfferSegment(ctx, streamedOffer(t, "a", rep, k, seg, tc.sent))
			row, indexed := e.Segment(t, rep, k)
			if tc.sent >= 0 {
				if !errors.Is(err, archive.ErrBody) || indexed || len(e.mediaKeys(t, rep)) != 1 {
					t.Fatalf("cut body: %v (indexed %v, objects %v); want ErrBody, nothing stored", err, indexed, e.mediaKeys(t, rep))
				}
				return
			}
			if err != nil || res.Outcome != index.Stored || !indexed || row.SHA256 != sha(seg) {
				t.Fatalf("OfferSegment: %+v, %v; row %+v; want stored with SHA-256 %s", res, err, row, sha(seg))
			}
			got, err := e.store.Get(ctx, row.Key)
			if err != nil || !bytes.Equal(got, seg) {
				t.Fatalf("stored %d bytes (%v); want the %d offered", len(got), err, len(seg))
			}
		})
	}
}
