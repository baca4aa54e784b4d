package index

import (
	"context"
	"testing"
)

func BenchmarkScratchCount(b *testing.B) {
	bc := benchReadFixture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var n int64
		bc.db.reader.QueryRow(`SELECT count(*) FROM segments WHERE track_id=? AND k BETWEEN ? AND ?`, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack).Scan(&n)
	}
}

func BenchmarkScratchLoadKs(b *testing.B) {
	bc := benchReadFixture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, _ := bc.db.reader.Query(`SELECT k FROM segments WHERE track_id=? AND k BETWEEN ? AND ?`, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack)
		for rows.Next() {
			var k int64
			rows.Scan(&k)
		}
		rows.Close()
	}
}

func BenchmarkScratchGapsOnly(b *testing.B) {
	bc := benchReadFixture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := bc.db.reader.QueryContext(context.Background(), gapsSQL, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1, benchK0-1)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
	}
}
func BenchmarkScratchStatsSQL(b *testing.B) {
	bc := benchReadFixture(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rows, err := bc.db.reader.QueryContext(context.Background(), statsSQL, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1, bc.ch.ID)
		if err != nil {
			b.Fatal(err)
		}
		for rows.Next() {
		}
		rows.Close()
	}
}
