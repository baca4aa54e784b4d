// Package benchday is the synthetic day of a REaP channel the index and
// export benchmarks share: 24 h of 8 tracks of 2 s segments (345,600 index
// rows), with the figures they report (BENCHMARKS.md).
package benchday

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// A day of a REaP channel: 8 tracks of 2 s segments, K counted from the
// epoch (K0 is 2026-04-12T13:20:00Z).
const (
	Channel  = "day"
	K0       = int64(888_000_000) // 2026-04-12T13:20:00Z at D = 2 s
	PerTrack = 43_200             // 24 h / 2 s
	Tracks   = 8
	Rows     = Tracks * PerTrack // 345,600
)

// TrackSpecs: 4 video renditions, 2 audio languages, subtitles and a
// timed-metadata track, as a broadcaster's ladder would have them.
var TrackSpecs = []index.Track{
	{Rep: "v1080", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.640028", Width: 1920, Height: 1080, FrameRate: "25", Bandwidth: 6_000_000, Timescale: 90000},
	{Rep: "v720", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.64001f", Width: 1280, Height: 720, FrameRate: "25", Bandwidth: 3_000_000, Timescale: 90000},
	{Rep: "v540", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.4d401f", Width: 960, Height: 540, FrameRate: "25", Bandwidth: 1_500_000, Timescale: 90000},
	{Rep: "v360", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.4d401e", Width: 640, Height: 360, FrameRate: "25", Bandwidth: 700_000, Timescale: 90000},
	{Rep: "a-en", ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "en", SampleRate: 48000, Channels: 2, Bandwidth: 128_000, Timescale: 48000},
	{Rep: "a-fr", ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "fr", SampleRate: 48000, Channels: 2, Bandwidth: 128_000, Timescale: 48000},
	{Rep: "t-en", ContentType: "text", MimeType: "application/mp4", Codecs: "wvtt", Lang: "en", Roles: "subtitle", Bandwidth: 2_000, Timescale: 1000},
	{Rep: "m-id3", ContentType: "metadata", MimeType: "application/mp4", Codecs: "id3 ", Bandwidth: 1_000, Timescale: 1000},
}

// Day is a channel with the 8 tracks (an init and two sources each) in
// a fresh index, and its day of segment rows.
type Day struct {
	Dir    string
	DB     *index.DB
	Ch     index.ChannelRow
	Tracks []index.Track
	Inits  []index.Init
	SrcA   index.SourceRow
	SrcB   index.SourceRow
}

// New makes a day's channel, tracks, inits and sources in a fresh index in
// dir, without segments.
func New(b testing.TB, dir string) *Day {
	b.Helper()
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		b.Fatal(err)
	}
	bd := &Day{Dir: dir, DB: db}
	if bd.Ch, err = db.EnsureChannel(ctx, Channel); err != nil {
		b.Fatal(err)
	}
	if bd.SrcA, err = db.EnsureSource(ctx, bd.Ch.ID, "fiber", "https://enc-a.example/day/manifest.mpd"); err != nil {
		b.Fatal(err)
	}
	if bd.SrcB, err = db.EnsureSource(ctx, bd.Ch.ID, "satellite", "https://enc-b.example/day/manifest.mpd"); err != nil {
		b.Fatal(err)
	}
	for _, spec := range TrackSpecs {
		spec.ChannelID = bd.Ch.ID
		spec.SegDur = 2 * uint64(spec.Timescale)
		spec.Ext = layout.Ext(spec.ContentType)
		tr, err := db.UpsertTrack(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.Sum256([]byte("init " + spec.Rep))
		hash := hex.EncodeToString(h[:])
		in, err := db.AddInit(ctx, index.Init{TrackID: tr.ID, Hash: hash, ConfigHash: hash, Key: layout.InitKey(Channel, tr.Rep, hash), Size: 900, FirstK: K0})
		if err != nil {
			b.Fatal(err)
		}
		bd.Tracks = append(bd.Tracks, tr)
		bd.Inits = append(bd.Inits, in)
	}
	return bd
}

// Close closes the index.
func (bd *Day) Close() { bd.DB.Close() }

// StoreInits writes an init object at every init key of the day (the
// simulator's video or audio init: an export reads each distinct init once
// to tell codec configurations apart).
func (bd *Day) StoreInits(b testing.TB, st *cloud.Store) {
	b.Helper()
	sim := testenv.NewSim(b, simulate.Options{})
	for i, in := range bd.Inits {
		rep := simulate.VideoRep
		if bd.Tracks[i].ContentType == "audio" {
			rep = simulate.AudioRep
		}
		if err := st.Create(context.Background(), in.Key, testenv.MustInit(b, sim, rep), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// EPT is the EPT of segment K of a track: K*D*T for video, text and
// metadata; for 48 kHz AAC (1024-sample frames) the first frame starting at
// or after K*D, so durations alternate 94, 94, 94, 93 frames (96256 and
// 95232 ticks: constrained variation).
func EPT(tr index.Track, k int64) uint64 {
	if tr.ContentType == "audio" {
		const frame = 1024
		return (uint64(k)*tr.SegDur + frame - 1) / frame * frame
	}
	return uint64(k) * tr.SegDur
}

// Rows returns the day's segment rows, (track, K) ordered.
func (bd *Day) Rows() []index.Segment {
	segs := make([]index.Segment, 0, Rows)
	var buf [16]byte
	for i, tr := range bd.Tracks {
		for j := int64(0); j < PerTrack; j++ {
			k := K0 + j
			ept := EPT(tr, k)
			size := int64(tr.Bandwidth/8*2) + (k*7919)%4096 - 2048
			binary.BigEndian.PutUint64(buf[:8], uint64(tr.ID))
			binary.BigEndian.PutUint64(buf[8:], uint64(k))
			sum := sha256.Sum256(buf[:])
			src := bd.SrcA.ID
			if j%5 == 4 {
				src = bd.SrcB.ID
			}
			segs = append(segs, index.Segment{
				TrackID: tr.ID, K: k, EPT: ept, Duration: EPT(tr, k+1) - ept, Size: size,
				SHA256: hex.EncodeToString(sum[:]), Key: layout.MediaKey(Channel, tr.Rep, k, tr.Ext),
				InitID: bd.Inits[i].ID, SourceID: src,
				ReceivedAt: time.Unix(0, (k+1)*int64(2*time.Second)+int64(150*time.Millisecond)+(k%97)*int64(time.Millisecond)),
			})
		}
	}
	return segs
}

// StartHeapPeak collects garbage, then samples the heap in use from there.
func StartHeapPeak() *testenv.HeapPeak {
	runtime.GC()
	return testenv.StartHeapPeak()
}

// Report reports the figures shared by all four benchmarks.
func Report(b *testing.B, rows int, elapsed time.Duration, peaks []float64, growths []float64) {
	var peak, growth float64
	for i := range peaks {
		peak, growth = max(peak, peaks[i]), max(growth, growths[i])
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(rows), "ns/row")
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(growth, "heap-growth-MB")
}

// DBFileMB is the size of the index file at path with its WAL, in MiB.
func DBFileMB(path string) float64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return float64(n) / (1 << 20)
}

func openStore(dir string) (*cloud.Store, error) {
	return cloud.Open(context.Background(), "file://"+filepath.ToSlash(dir))
}

// Filled is a day's index, filled with InsertSegments, and a file store
// with its inits to export into, closed when b ends; the store's directory.
func Filled(b testing.TB) (*Day, *cloud.Store, string) {
	b.Helper()
	dir := b.TempDir()
	bd := New(b, dir)
	b.Cleanup(bd.Close)
	if err := bd.DB.InsertSegments(context.Background(), bd.Rows(), false); err != nil {
		b.Fatal(err)
	}
	storeDir := filepath.Join(dir, "store")
	st, err := openStore(storeDir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	bd.StoreInits(b, st)
	return bd, st, storeDir
}
