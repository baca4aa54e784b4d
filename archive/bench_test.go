package archive_test

// Benchmarks for the issue "a benchmark indexing a synthetic 24 h × 8-track
// channel and exporting its MPD; figures (time, peak memory)". See
// BENCHMARKS.md at the repository root for how to run and compare them.
//
// The figures are meant to be read as ratios against the two baselines
// measured in the same run on the same machine:
//
//	BenchmarkIndex24h8Tracks  vs BenchmarkBaselineIndexNaive  (ns/row)
//	BenchmarkExport24h8Tracks vs BenchmarkBaselineScan24h     (time/op)

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/simulate"
)

// A day of a REaP channel: 8 tracks of 2 s segments, K counted from the
// epoch (K0 is 2026-04-12T13:20:00Z).
const (
	benchChannel  = "day"
	benchK0       = k0
	benchPerTrack = 43_200 // 24 h / 2 s
	benchTracks   = 8
	benchRows     = benchTracks * benchPerTrack // 345,600
)

// benchTrackSpecs: 4 video renditions, 2 audio languages, subtitles and a
// timed-metadata track, as a broadcaster's ladder would have them.
var benchTrackSpecs = []index.Track{
	{Rep: "v1080", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.640028", Width: 1920, Height: 1080, FrameRate: "25", Bandwidth: 6_000_000, Timescale: 90000},
	{Rep: "v720", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.64001f", Width: 1280, Height: 720, FrameRate: "25", Bandwidth: 3_000_000, Timescale: 90000},
	{Rep: "v540", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.4d401f", Width: 960, Height: 540, FrameRate: "25", Bandwidth: 1_500_000, Timescale: 90000},
	{Rep: "v360", ContentType: "video", MimeType: "video/mp4", Codecs: "avc1.4d401e", Width: 640, Height: 360, FrameRate: "25", Bandwidth: 700_000, Timescale: 90000},
	{Rep: "a-en", ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "en", SampleRate: 48000, Channels: 2, Bandwidth: 128_000, Timescale: 48000},
	{Rep: "a-fr", ContentType: "audio", MimeType: "audio/mp4", Codecs: "mp4a.40.2", Lang: "fr", SampleRate: 48000, Channels: 2, Bandwidth: 128_000, Timescale: 48000},
	{Rep: "t-en", ContentType: "text", MimeType: "application/mp4", Codecs: "wvtt", Lang: "en", Roles: "subtitle", Bandwidth: 2_000, Timescale: 1000},
	{Rep: "m-id3", ContentType: "metadata", MimeType: "application/mp4", Codecs: "id3 ", Bandwidth: 1_000, Timescale: 1000},
}

// benchDay is a channel with the 8 tracks (an init and two sources each) in
// a fresh index, and its day of segment rows.
type benchDay struct {
	dir    string
	db     *index.DB
	ch     index.Channel
	tracks []index.Track
	inits  []index.Init
	srcA   index.Source
	srcB   index.Source
}

func newBenchDay(b *testing.B, dir string) *benchDay {
	b.Helper()
	ctx := context.Background()
	db, err := index.Open(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		b.Fatal(err)
	}
	bd := &benchDay{dir: dir, db: db}
	if bd.ch, err = db.EnsureChannel(ctx, benchChannel); err != nil {
		b.Fatal(err)
	}
	if bd.srcA, err = db.EnsureSource(ctx, bd.ch.ID, "fiber", "https://enc-a.example/day/manifest.mpd"); err != nil {
		b.Fatal(err)
	}
	if bd.srcB, err = db.EnsureSource(ctx, bd.ch.ID, "satellite", "https://enc-b.example/day/manifest.mpd"); err != nil {
		b.Fatal(err)
	}
	for _, spec := range benchTrackSpecs {
		spec.ChannelID = bd.ch.ID
		spec.SegDur = 2 * uint64(spec.Timescale)
		spec.Ext = layout.Ext(spec.ContentType)
		tr, err := db.UpsertTrack(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		h := sha256.Sum256([]byte("init " + spec.Rep))
		hash := hex.EncodeToString(h[:])
		in, err := db.AddInit(ctx, index.Init{TrackID: tr.ID, Hash: hash, ConfigHash: hash, Key: layout.InitKey(benchChannel, tr.Rep, hash), Size: 900, FirstK: benchK0})
		if err != nil {
			b.Fatal(err)
		}
		bd.tracks = append(bd.tracks, tr)
		bd.inits = append(bd.inits, in)
	}
	return bd
}

func (bd *benchDay) close() { bd.db.Close() }

// storeInits writes an init object at every init key of the day (the
// simulator's video or audio init: an export reads each distinct init once
// to tell codec configurations apart).
func (bd *benchDay) storeInits(b *testing.B, st *cloud.Store) {
	b.Helper()
	sim := testenv.NewSim(b, simulate.Options{})
	for i, in := range bd.inits {
		rep := simulate.VideoRep
		if bd.tracks[i].ContentType == "audio" {
			rep = simulate.AudioRep
		}
		if err := st.Create(context.Background(), in.Key, testenv.MustInit(b, sim, rep), nil); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEPT is the EPT of segment K of a track: K*D*T for video, text and
// metadata; for 48 kHz AAC (1024-sample frames) the first frame starting at
// or after K*D, so durations alternate 94, 94, 94, 93 frames (96256 and
// 95232 ticks: constrained variation).
func benchEPT(tr index.Track, k int64) uint64 {
	if tr.ContentType == "audio" {
		const frame = 1024
		return (uint64(k)*tr.SegDur + frame - 1) / frame * frame
	}
	return uint64(k) * tr.SegDur
}

// rows returns the day's segment rows, (track, K) ordered.
func (bd *benchDay) rows() []index.Segment {
	segs := make([]index.Segment, 0, benchRows)
	var buf [16]byte
	for i, tr := range bd.tracks {
		for j := int64(0); j < benchPerTrack; j++ {
			k := benchK0 + j
			ept := benchEPT(tr, k)
			size := int64(tr.Bandwidth/8*2) + (k*7919)%4096 - 2048
			binary.BigEndian.PutUint64(buf[:8], uint64(tr.ID))
			binary.BigEndian.PutUint64(buf[8:], uint64(k))
			sum := sha256.Sum256(buf[:])
			src := bd.srcA.ID
			if j%5 == 4 {
				src = bd.srcB.ID
			}
			segs = append(segs, index.Segment{
				TrackID: tr.ID, K: k, EPT: ept, Duration: benchEPT(tr, k+1) - ept, Size: size,
				SHA256: hex.EncodeToString(sum[:]), Key: layout.MediaKey(benchChannel, tr.Rep, k, tr.Ext),
				InitID: bd.inits[i].ID, SourceID: src,
				ReceivedAt: time.Unix(0, (k+1)*int64(segD)+int64(150*time.Millisecond)+(k%97)*int64(time.Millisecond)),
			})
		}
	}
	return segs
}

// startHeapPeak collects garbage, then samples the heap in use from there.
func startHeapPeak() *testenv.HeapPeak {
	runtime.GC()
	return testenv.StartHeapPeak()
}

// benchReport reports the figures shared by all four benchmarks.
func benchReport(b *testing.B, rows int, elapsed time.Duration, peaks []float64, growths []float64) {
	var peak, growth float64
	for i := range peaks {
		peak, growth = max(peak, peaks[i]), max(growth, growths[i])
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(rows), "ns/row")
	b.ReportMetric(peak, "peak-heap-MB")
	b.ReportMetric(growth, "heap-growth-MB")
}

func dbFileMB(path string) float64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return float64(n) / (1 << 20)
}

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
		bd := newBenchDay(b, b.TempDir())
		if segs == nil {
			segs = bd.rows() // IDs are the same in every fresh index
		}
		h := startHeapPeak()
		start := time.Now()
		b.StartTimer()
		if err := bd.db.InsertSegments(ctx, segs, false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		elapsed += time.Since(start)
		p, g := h.Done()
		peaks, growths = append(peaks, p), append(growths, g)
		sizeMB = dbFileMB(filepath.Join(bd.dir, "index.db"))
		bd.close()
	}
	benchReport(b, b.N*len(segs), elapsed, peaks, growths)
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
		bd := newBenchDay(b, dir) // schema, channel, tracks, inits, sources
		if segs == nil {
			all := bd.rows()
			for j := 0; j < len(all); j += 10 {
				segs = append(segs, all[j])
			}
		}
		bd.close()
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
		h := startHeapPeak()
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
	benchReport(b, b.N*len(segs), elapsed, peaks, growths)
}

func openStore(dir string) (*cloud.Store, error) {
	return cloud.Open(context.Background(), fileURL(dir))
}

// benchFilledDay is a day's index, filled with InsertSegments, with a file
// store to export into.
func benchFilledDay(b *testing.B) (*benchDay, *archive.Archive, string) {
	b.Helper()
	dir := b.TempDir()
	bd := newBenchDay(b, dir)
	b.Cleanup(bd.close)
	if err := bd.db.InsertSegments(context.Background(), bd.rows(), false); err != nil {
		b.Fatal(err)
	}
	storeDir := filepath.Join(dir, "store")
	st, err := openStore(storeDir)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	bd.storeInits(b, st)
	return bd, archive.New(st, bd.db, nil), storeDir
}

// BenchmarkExport24h8Tracks: ExportVoD of the whole day (345,600 segments,
// 8 tracks) into a file store: segment rows read from the index, the MPD
// built (SegmentTimelines, audio's constrained durations as S runs) and
// written durably.
func BenchmarkExport24h8Tracks(b *testing.B) {
	ctx := context.Background()
	_, a, storeDir := benchFilledDay(b)
	o := archive.ExportOptions{Channel: benchChannel, From: kTime(benchK0), To: kTime(benchK0 + benchPerTrack),
		Out: fileURL(filepath.Join(storeDir, "vod", "day.mpd"))}
	var peaks, growths []float64
	var elapsed time.Duration
	var mpdBytes int64
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
		fi, err := os.Stat(res.MPDPath)
		if err != nil {
			b.Fatal(err)
		}
		mpdBytes = fi.Size()
	}
	benchReport(b, b.N*benchRows, elapsed, peaks, growths)
	b.ReportMetric(float64(mpdBytes), "MPD-bytes")
}

// BenchmarkBaselineScan24h: read all 345,600 rows of the same index with
// index.ForEachSegment and nothing else: the floor under an export.
func BenchmarkBaselineScan24h(b *testing.B) {
	ctx := context.Background()
	bd, _, _ := benchFilledDay(b)
	var peaks, growths []float64
	var elapsed time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		n := 0
		var last index.Segment
		h := startHeapPeak()
		start := time.Now()
		b.StartTimer()
		for _, tr := range bd.tracks {
			if err := bd.db.ForEachSegment(ctx, tr.ID, benchK0, benchK0+benchPerTrack-1, func(s index.Segment) error {
				n++
				last = s
				return nil
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		elapsed += time.Since(start)
		p, g := h.Done()
		peaks, growths = append(peaks, p), append(growths, g)
		if n != benchRows || last.K != benchK0+benchPerTrack-1 {
			b.Fatalf("scanned %d rows", n)
		}
	}
	benchReport(b, b.N*benchRows, elapsed, peaks, growths)
}

// TestBenchDay checks the synthetic day the benchmarks use (on a short
// stretch): audio durations are 94 or 93 AAC frames and contiguous, video
// exactly D; every row is on its K.
func TestBenchDay(t *testing.T) {
	t.Parallel()
	for _, spec := range benchTrackSpecs {
		tr := spec
		tr.SegDur = 2 * uint64(tr.Timescale)
		for k := benchK0; k < benchK0+16; k++ {
			ept, next := benchEPT(tr, k), benchEPT(tr, k+1)
			if got := archive.EpochIndex(ept, tr.SegDur); got != k {
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
