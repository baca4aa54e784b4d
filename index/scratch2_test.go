package index

import (
	"context"
	"testing"
)

var gapVariants = map[string]string{
	"rows1": `SELECT prev + 1, k - 1 FROM (
	SELECT k, lag(k, 1, ?4) OVER (ORDER BY k ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) AS prev
	FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3
) WHERE k - prev > 1`,
	"default": `SELECT prev + 1, k - 1 FROM (
	SELECT k, lag(k, 1, ?4) OVER (ORDER BY k) AS prev
	FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3
) WHERE k - prev > 1`,
	"maxframe": `SELECT prev + 1, k - 1 FROM (
	SELECT k, coalesce(max(k) OVER (ORDER BY k ROWS BETWEEN 1 PRECEDING AND 1 PRECEDING), ?4) AS prev
	FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3
) WHERE k - prev > 1`,
	"rownum": `SELECT min(k), max(k) FROM (
	SELECT k, k - row_number() OVER (ORDER BY k) AS g
	FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3
) GROUP BY g`,
	"notexists": `SELECT s.k + 1 FROM segments s WHERE s.track_id = ?1 AND s.k BETWEEN ?2 AND ?3 - 1
	AND NOT EXISTS (SELECT 1 FROM segments n WHERE n.track_id = ?1 AND n.k = s.k + 1)`,
	"partition": `SELECT prev + 1, k - 1 FROM (
	SELECT k, lag(k, 1, ?4) OVER (PARTITION BY track_id ORDER BY k ROWS 1 PRECEDING) AS prev
	FROM segments WHERE track_id = ?1 AND k BETWEEN ?2 AND ?3
) WHERE k - prev > 1`,
}

func BenchmarkScratchGapVariants(b *testing.B) {
	bc := benchReadFixture(b)
	for name, q := range gapVariants {
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rows, err := bc.db.reader.QueryContext(context.Background(), q, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1, benchK0-1)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				rows.Close()
				if i == 0 {
					b.Logf("%s: %d rows", name, n)
				}
			}
		})
	}
}
