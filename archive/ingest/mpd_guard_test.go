package ingest_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive/ingest"
)

// TestIngestHostileMPD: an I-MPD that hung dash-mpd v0.16.0's parser
// forever (issue 10 item 3) is answered 400 promptly over a real listener,
// and nothing is stored.
func TestIngestHostileMPD(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body, want string
	}{
		{"6-byte hang", ">\n    ", "unescaped '>' in character data"},
		{"raw > in element text", `<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="dynamic">x>y</MPD>`, "unescaped '>' in character data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := start(t, ingest.Options{})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPut, e.base+"/ingest/"+ch+"/enc1/manifest.mpd", bytes.NewReader([]byte(c.body)))
			if err != nil {
				t.Fatal(err)
			}
			began := time.Now()
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatalf("PUT I-MPD %q: no answer within 5 s: %v", c.body, err)
			}
			defer resp.Body.Close()
			msg, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(msg), c.want) {
				t.Errorf("PUT I-MPD %q = %d %s; want 400 naming %q", c.body, resp.StatusCode, msg, c.want)
			}
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("answered after %v", took)
			}
			if keys := e.allKeys(); len(keys) != 0 {
				t.Errorf("stored %v", keys)
			}
		})
	}
}
