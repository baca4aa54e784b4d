package origin_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/simulate"
)

// TestRedirect records into MinIO and checks that with Redirect a segment
// request is a 302 to a presigned URL that serves the segment's bytes,
// with the ETag of the index, and that a K the archive lacks is still a
// 404 (not a redirect to nothing).
func TestRedirect(t *testing.T) {
	t.Parallel()
	e, _ := archivetest.OpenOn(t, testenv.Store("s3"), channel, segD)
	e.Fill(t, "a", testenv.NewSim(t, simulate.Options{}), k0, k0+2)
	cfg := originConfig()
	cfg.Redirect = true
	s := newServer(t, e, e.DB, &clock{liveNow}, cfg)
	seg, _ := e.Segment(t, simulate.VideoRep, k0+1)
	res, body := get(t, s, http.MethodGet, fmt.Sprintf("/ch1/video/%d.m4s", k0+1), nil)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusFound || !strings.Contains(loc, "X-Amz-Signature=") {
		t.Fatalf("redirect: %d Location %q %s", res.StatusCode, loc, body)
	}
	if res.Header.Get("ETag") != `"`+seg.SHA256+`"` {
		t.Errorf("ETag %q; want the index's sha256", res.Header.Get("ETag"))
	}
	r, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	got, _ := io.ReadAll(r.Body)
	if r.StatusCode != http.StatusOK || !bytes.Equal(got, e.Get(t, seg.Key)) {
		t.Errorf("GET presigned URL: %d, %d bytes; want the segment's %d", r.StatusCode, len(got), seg.Size)
	}
	if res, _ := get(t, s, http.MethodGet, fmt.Sprintf("/ch1/video/%d.m4s", k0+9), nil); res.StatusCode != http.StatusNotFound {
		t.Errorf("missing K with Redirect: %d; want 404", res.StatusCode)
	}
}
