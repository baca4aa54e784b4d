package index

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// A day of a REaP channel: 8 tracks, 2 s segments, K counted from the epoch.
const (
	benchK0        = int64(888_000_000) // 2028-02-… at D = 2 s
	benchPerTrack  = 43_200             // 24 h / 2 s
	benchTracks    = 8
	benchHoles     = 100 // gap ranges per track in the read fixture
	benchRecordRep = "rec"
)

var benchTrackSpecs = []Track{
	{Rep: "v1080", ContentType: "video", Timescale: 90000, Ext: "cmfv"},
	{Rep: "v720", ContentType: "video", Timescale: 90000, Ext: "cmfv"},
	{Rep: "v540", ContentType: "video", Timescale: 90000, Ext: "cmfv"},
	{Rep: "v360", ContentType: "video", Timescale: 90000, Ext: "cmfv"},
	{Rep: "a-en", ContentType: "audio", Timescale: 48000, Ext: "cmfa"},
	{Rep: "a-fr", ContentType: "audio", Timescale: 48000, Ext: "cmfa"},
	{Rep: "t-en", ContentType: "text", Timescale: 1000, Ext: "cmft"},
	{Rep: "m-id3", ContentType: "metadata", Timescale: 1000, Ext: "cmfm"},
}

// benchChannel is a channel with the 8 tracks, an init per track and two
// sources, in a fresh database.
type benchChannel struct {
	db     *DB
	ch     ChannelRow
	tracks []Track
	inits  []Init
	srcA   SourceRow
	srcB   SourceRow
}

func newBenchChannel(tb testing.TB, dir string) *benchChannel {
	tb.Helper()
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(dir, "index.db"))
	if err != nil {
		tb.Fatal(err)
	}
	bc := &benchChannel{db: db}
	if bc.ch, err = db.EnsureChannel(ctx, "bench"); err != nil {
		tb.Fatal(err)
	}
	if bc.srcA, err = db.EnsureSource(ctx, bc.ch.ID, "encA", "https://a.example/live.mpd"); err != nil {
		tb.Fatal(err)
	}
	if bc.srcB, err = db.EnsureSource(ctx, bc.ch.ID, "encB", "https://b.example/live.mpd"); err != nil {
		tb.Fatal(err)
	}
	for _, spec := range benchTrackSpecs {
		spec.ChannelID = bc.ch.ID
		spec.SegDur = 2 * uint64(spec.Timescale)
		tr, err := db.UpsertTrack(ctx, spec)
		if err != nil {
			tb.Fatal(err)
		}
		in, err := db.AddInit(ctx, Init{TrackID: tr.ID, Hash: fmt.Sprintf("%064x", tr.ID), Key: "bench/" + tr.Rep + "/init.mp4", Size: 800, FirstK: benchK0})
		if err != nil {
			tb.Fatal(err)
		}
		bc.tracks = append(bc.tracks, tr)
		bc.inits = append(bc.inits, in)
	}
	return bc
}

func (bc *benchChannel) segment(i int, k int64) Segment {
	tr := bc.tracks[i]
	return Segment{
		TrackID: tr.ID, K: k, EPT: uint64(k) * tr.SegDur, Duration: tr.SegDur, Size: 400_000 + k%1000,
		SHA256:     fmt.Sprintf("%064x", uint64(k)*2654435761+uint64(tr.ID)),
		Key:        fmt.Sprintf("bench/%s/%d.%s", tr.Rep, k, tr.Ext),
		InitID:     bc.inits[i].ID,
		SourceID:   bc.srcA.ID,
		ReceivedAt: time.Unix((k+1)*2, 150_000_000),
	}
}

// daySegments returns all tracks × benchPerTrack segments, with holes if
// requested (benchHoles runs of 1–3 Ks per track).
func (bc *benchChannel) daySegments(holes bool) []Segment {
	segs := make([]Segment, 0, benchTracks*benchPerTrack)
	for i := range bc.tracks {
		for j := int64(0); j < benchPerTrack; j++ {
			if holes && isHole(j) {
				continue
			}
			segs = append(segs, bc.segment(i, benchK0+j))
		}
	}
	return segs
}

// isHole reports whether day offset j is in one of the benchHoles holes.
func isHole(j int64) bool {
	const stride = benchPerTrack / benchHoles // 432
	h := j / stride
	off := j%stride - 17
	return h < benchHoles && off >= 0 && off < 1+h%3
}

// readFixture is a day of segments with holes plus, per K and track, a
// delivery from each source, shared by the read benchmarks.
var readFixture struct {
	once sync.Once
	dir  string
	bc   *benchChannel
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if readFixture.bc != nil {
		readFixture.bc.db.Close()
	}
	if readFixture.dir != "" {
		os.RemoveAll(readFixture.dir)
	}
	os.Exit(code)
}

func benchReadFixture(b *testing.B) *benchChannel {
	b.Helper()
	readFixture.once.Do(func() {
		start := time.Now()
		if readFixture.dir, readFixture.err = os.MkdirTemp("", "index-bench-"); readFixture.err != nil {
			return
		}
		bc := newBenchChannel(b, readFixture.dir)
		readFixture.bc = bc
		ctx := context.Background()
		segs := bc.daySegments(true)
		if readFixture.err = bc.db.InsertSegments(ctx, segs, false); readFixture.err != nil {
			return
		}
		readFixture.err = bc.insertDayDeliveries(ctx)
		b.Logf("read fixture: %d segments, %d deliveries in %v", len(segs), 2*benchTracks*benchPerTrack, time.Since(start))
	})
	if readFixture.err != nil {
		b.Fatal(readFixture.err)
	}
	return readFixture.bc
}

// insertDayDeliveries bulk-inserts two deliveries per (track, K): A stored
// (or missing in a hole), B a duplicate (bit-identical for even K), a
// conflict every 1000th K, missing in holes.
func (bc *benchChannel) insertDayDeliveries(ctx context.Context) error {
	for i, tr := range bc.tracks {
		for start := int64(0); start < benchPerTrack; start += insertBatch / 2 {
			err := bc.db.write(ctx, func(tx *sql.Tx) error {
				st := tx.StmtContext(ctx, bc.db.hot.insDelivery)
				for j := start; j < min(start+insertBatch/2, benchPerTrack); j++ {
					s := bc.segment(i, benchK0+j)
					a := Delivery{TrackID: tr.ID, K: s.K, SourceID: bc.srcA.ID, Outcome: Stored, EPT: s.EPT, Duration: s.Duration,
						Size: s.Size, SHA256: s.SHA256, Identical: true, TimingEqual: true, ReceivedAt: s.ReceivedAt}
					b := a
					b.SourceID, b.Identical = bc.srcB.ID, j%2 == 0
					b.Outcome = Duplicate
					switch {
					case isHole(j):
						a = Delivery{TrackID: tr.ID, K: s.K, SourceID: bc.srcA.ID, Outcome: Missing, Detail: "not delivered"}
						b = Delivery{TrackID: tr.ID, K: s.K, SourceID: bc.srcB.ID, Outcome: Missing, Detail: "not delivered"}
					case j%1000 == 999:
						b.Outcome, b.Identical, b.TimingEqual, b.EPT = Conflict, false, false, s.EPT+3600
					}
					for _, d := range []Delivery{a, b} {
						args, err := deliveryArgs(&d)
						if err != nil {
							return err
						}
						if _, err := st.ExecContext(ctx, args...); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func fileSizeMB(path string) float64 {
	var n int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return float64(n) / (1 << 20)
}

// BenchmarkInsertSegments24h: InsertSegments of 8 tracks × 43,200 segments
// into a fresh database per iteration.
func BenchmarkInsertSegments24h(b *testing.B) {
	ctx := context.Background()
	var segs []Segment
	var sizeMB float64
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bc := newBenchChannel(b, b.TempDir())
		if segs == nil {
			segs = bc.daySegments(false) // IDs are the same in every fresh DB
		}
		b.StartTimer()
		if err := bc.db.InsertSegments(ctx, segs, false); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		sizeMB = fileSizeMB(bc.db.Path())
		bc.db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*len(segs))/b.Elapsed().Seconds(), "segments/s")
	b.ReportMetric(sizeMB, "MB")
}

// BenchmarkInsertBaselineNaive: the same rows, one autocommit INSERT per row
// (no explicit transaction, statement re-prepared each time), for 1/10 of the
// day's rows.
func BenchmarkInsertBaselineNaive(b *testing.B) {
	ctx := context.Background()
	var segs []Segment
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bc := newBenchChannel(b, b.TempDir())
		if segs == nil {
			all := bc.daySegments(false)
			segs = make([]Segment, 0, len(all)/10)
			for j := 0; j < len(all); j += 10 {
				segs = append(segs, all[j])
			}
		}
		b.StartTimer()
		for j := range segs {
			args, err := segRowArgs(&segs[j], nil)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := bc.db.writer.ExecContext(ctx, insertSegmentSQL, args...); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		bc.db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.N*len(segs))/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkRecordOne: the live path, one segment + one delivery per Record,
// into the day-sized read fixture (on a track of its own).
func BenchmarkRecordOne(b *testing.B) {
	ctx := context.Background()
	bc := benchReadFixture(b)
	tr, err := bc.db.UpsertTrack(ctx, Track{ChannelID: bc.ch.ID, Rep: benchRecordRep, ContentType: "video", Timescale: 90000, SegDur: 180000})
	if err != nil {
		b.Fatal(err)
	}
	next := func() Segment {
		var last sql.NullInt64
		if err := bc.db.reader.QueryRowContext(ctx, `SELECT max(k) FROM segments WHERE track_id = ?`, tr.ID).Scan(&last); err != nil {
			b.Fatal(err)
		}
		k := benchK0
		if last.Valid {
			k = last.Int64 + 1
		}
		return Segment{TrackID: tr.ID, K: k, EPT: uint64(k) * 180000, Duration: 180000, Size: 400_000,
			SHA256: fmt.Sprintf("%064x", k), Key: fmt.Sprintf("bench/rec/%d.cmfv", k), SourceID: bc.srcA.ID, ReceivedAt: time.Now()}
	}
	s := next()
	for range 10 { // warm up: prepared statements, pages in cache
		if err := bc.db.Record(ctx, &s, Delivery{SourceID: bc.srcA.ID, Outcome: Stored, EPT: s.EPT, Duration: s.Duration, Size: s.Size, SHA256: s.SHA256, Identical: true, TimingEqual: true, ReceivedAt: s.ReceivedAt}); err != nil {
			b.Fatal(err)
		}
		s.K++
		s.EPT += 180000
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := bc.db.Record(ctx, &s, Delivery{SourceID: bc.srcA.ID, Outcome: Stored, EPT: s.EPT, Duration: s.Duration, Size: s.Size, SHA256: s.SHA256, Identical: true, TimingEqual: true, ReceivedAt: s.ReceivedAt}); err != nil {
			b.Fatal(err)
		}
		s.K++
		s.EPT += 180000
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkSegments24h: Segments for one track's full day.
func BenchmarkSegments24h(b *testing.B) {
	ctx := context.Background()
	bc := benchReadFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		segs, err := bc.db.Segments(ctx, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1)
		if err != nil {
			b.Fatal(err)
		}
		n = len(segs)
	}
	if want := benchPerTrack - wantHoleKs(); n != want {
		b.Fatalf("Segments returned %d rows; want %d", n, want)
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "segments/s")
}

// BenchmarkForEachSegment24h: the streaming variant of BenchmarkSegments24h.
func BenchmarkForEachSegment24h(b *testing.B) {
	ctx := context.Background()
	bc := benchReadFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		n = 0
		if err := bc.db.ForEachSegment(ctx, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1, func(Segment) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "segments/s")
}

func wantHoleKs() int {
	n := 0
	for j := int64(0); j < benchPerTrack; j++ {
		if isHole(j) {
			n++
		}
	}
	return n
}

// BenchmarkGaps24h: gaps over one track's day with 100 holes.
func BenchmarkGaps24h(b *testing.B) {
	ctx := context.Background()
	bc := benchReadFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gs, err := bc.db.Gaps(ctx, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1)
		if err != nil {
			b.Fatal(err)
		}
		if len(gs) != benchHoles {
			b.Fatalf("%d gaps; want %d", len(gs), benchHoles)
		}
	}
}

// BenchmarkStats: Stats (first/last/count, gaps, per-source delivery counts
// over 86,400 deliveries) for one track's day.
func BenchmarkStats(b *testing.B) {
	ctx := context.Background()
	bc := benchReadFixture(b)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := bc.db.Stats(ctx, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1)
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Gaps) != benchHoles || st.Sources[0].Stored != st.Segments || st.Conflicts != benchPerTrack/1000 {
			b.Fatalf("unexpected stats: %d gaps, %+v", len(st.Gaps), st.Sources)
		}
	}
}

// BenchmarkChangeLogCost: what the change log (schema 9, SegmentChanges)
// costs the writers, measured against the same writes into an index
// without its row triggers in the same run: per op, InsertSegments of one
// track's day (43,200 rows, as reindex writes; it quiets the row triggers
// and logs one K range per batch of 5,000 itself) and 500 Records (the
// recorder's per-segment write: a trigger logs its K), each into a fresh
// index with and without the triggers. insert-ratio and record-ratio are
// the times with the triggers over those without.
func BenchmarkChangeLogCost(b *testing.B) {
	var ins, rec [2]time.Duration // [0] with the triggers, [1] without
	for range b.N {
		for i, triggers := range []bool{true, false} {
			di, dr := changeLogWrites(b, triggers)
			ins[i] += di
			rec[i] += dr
		}
	}
	b.ReportMetric(ins[0].Seconds()/ins[1].Seconds(), "insert-ratio")
	b.ReportMetric(rec[0].Seconds()/rec[1].Seconds(), "record-ratio")
	b.ReportMetric(float64(benchPerTrack*b.N)/ins[0].Seconds(), "inserts/s")
	b.ReportMetric(float64(500*b.N)/rec[0].Seconds(), "records/s")
}

// changeLogWrites times BenchmarkChangeLogCost's writes into a fresh
// index, with or without the change log's triggers.
func changeLogWrites(b *testing.B, triggers bool) (insert, record time.Duration) {
	b.StopTimer()
	ctx := context.Background()
	bc := newBenchChannel(b, b.TempDir())
	defer bc.db.Close()
	if !triggers {
		for _, tr := range []string{"segments_log_insert", "segments_log_update", "segments_log_delete"} {
			if _, err := bc.db.writer.ExecContext(ctx, `DROP TRIGGER `+tr); err != nil {
				b.Fatal(err)
			}
		}
	}
	segs := make([]Segment, benchPerTrack)
	for j := range segs {
		segs[j] = bc.segment(0, benchK0+int64(j))
	}
	b.StartTimer()
	t0 := time.Now()
	if err := bc.db.InsertSegments(ctx, segs, false); err != nil {
		b.Fatal(err)
	}
	insert = time.Since(t0)
	t0 = time.Now()
	for j := range 500 {
		s := bc.segment(1, benchK0+int64(j))
		if err := bc.db.Record(ctx, &s, Delivery{SourceID: bc.srcA.ID, Outcome: Stored, EPT: s.EPT, Duration: s.Duration, Size: s.Size, SHA256: s.SHA256, Identical: true, TimingEqual: true, ReceivedAt: s.ReceivedAt}); err != nil {
			b.Fatal(err)
		}
	}
	return insert, time.Since(t0)
}
