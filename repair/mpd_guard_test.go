package repair_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/repair"
)

// TestOpenMPDHostile: an MPD that hung dash-mpd v0.16.0 forever (issue 10
// item 3) is refused promptly, naming the fault.
func TestOpenMPDHostile(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body string }{
		{"6-byte hang", ">\n    "},
		{"raw > in element text", `<MPD type="static">x>y</MPD>`},
	}
	for _, c := range cases {
		body := c.body
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(body))
			}))
			t.Cleanup(srv.Close)
			done := make(chan error, 1)
			go func() {
				_, err := repair.OpenMPD(context.Background(), "src", srv.URL+"/m.mpd", nil)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), "unescaped '>' in character data") {
					t.Errorf("OpenMPD = %v; want the unescaped '>' named", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("OpenMPD did not return within 5 s")
			}
		})
	}
}
