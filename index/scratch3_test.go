package index

import (
	"context"
	"testing"
)

const bucketGapsSQL = `
WITH RECURSIVE
b(lo) AS (SELECT ?2 UNION ALL SELECT lo + ?5 FROM b WHERE lo <= ?3 - ?5),
dirty(lo, hi) AS MATERIALIZED (
	SELECT lo, min(lo + ?5 - 1, ?3) FROM b
	WHERE (SELECT count(*) FROM segments WHERE track_id = ?1 AND k BETWEEN b.lo AND min(b.lo + ?5 - 1, ?3)) < min(b.lo + ?5 - 1, ?3) - b.lo + 1
)
SELECT prev + 1, k - 1 FROM (
	SELECT s.k, lag(s.k, 1, d.lo - 1) OVER (PARTITION BY d.lo ORDER BY s.k) AS prev
	FROM dirty d JOIN segments s ON s.track_id = ?1 AND s.k BETWEEN d.lo AND d.hi
) WHERE k - prev > 1
UNION ALL
SELECT coalesce(max(s.k), d.lo - 1) + 1, d.hi
FROM dirty d LEFT JOIN segments s ON s.track_id = ?1 AND s.k BETWEEN d.lo AND d.hi
GROUP BY d.lo HAVING coalesce(max(s.k), d.lo - 1) < d.hi
ORDER BY 1`

func BenchmarkScratchBucket(b *testing.B) {
	bc := benchReadFixture(b)
	for _, bs := range []int64{16, 32, 64, 128, 256, 1 << 30} {
		b.Run(itoa(bs), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				rows, err := bc.db.reader.QueryContext(context.Background(), bucketGapsSQL, bc.tracks[0].ID, benchK0, benchK0+benchPerTrack-1, benchK0-1, bs)
				if err != nil {
					b.Fatal(err)
				}
				n := 0
				for rows.Next() {
					n++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				if i == 0 {
					b.Logf("%d rows", n)
				}
			}
		})
	}
}

func itoa(v int64) string {
	s := ""
	for ; v > 0; v /= 10 {
		s = string(rune('0'+v%10)) + s
	}
	return s
}
