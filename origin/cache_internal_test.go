package origin

import (
	"bytes"
	"compress/gzip"
	"io"
	"runtime"
	"testing"
)

// TestGzipWriterKeptThroughGC: the gzip writer of a cache survives garbage
// collections, so a build under load (a collection every few
// milliseconds) compresses with a kept writer instead of allocating a new
// one of about a megabyte, which started the next collection in the middle
// of the build (a sync.Pool is emptied by two collections). Not parallel:
// it reads the process's allocation count.
func TestGzipWriterKeptThroughGC(t *testing.T) {
	c := newCache()
	body := bytes.Repeat([]byte(`<S t="0" d="2000" r="41"/>`), 200)
	c.gzip(body) // makes the writer
	var before, after runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&before)
	gz := c.gzip(body)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 256<<10 {
		t.Errorf("gzip after two collections allocated %d bytes: it made a new writer", n)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("gzip round trip: %d bytes, %v", len(got), err)
	}
}
