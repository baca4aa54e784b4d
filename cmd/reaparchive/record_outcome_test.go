package main

import (
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"testing"

	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/simulate"
)

// refusingSource serves the simulator's MPD and init segments but garbage
// for every media segment, so that every segment is rejected.
func refusingSource(t *testing.T) string {
	t.Helper()
	sim := testenv.NewSim(t, simulate.Options{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b := path.Base(r.URL.Path); b != "" && b[0] >= '0' && b[0] <= '9' {
			_, _ = w.Write([]byte("this is not an MP4 segment"))
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/manifest.mpd"
}

// TestRecordNothingStoredFails: record that stored no segment of a channel
// exits 1 naming the channel and each source's last error (it used to exit
// 0), and status and gaps then say "no segments recorded", not "no gaps".
func TestRecordNothingStoredFails(t *testing.T) {
	t.Parallel()
	notFound := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(notFound.Close)
	tests := []struct {
		name    string
		sources []string
		want    []string
	}{
		{"unreachable source", []string{"--source", "a=http://127.0.0.1:1/manifest.mpd"},
			[]string{"channel c: no segment recorded", "source a: source down", "127.0.0.1:1"}},
		{"404 MPD", []string{"--source", "a=" + notFound.URL + "/manifest.mpd"},
			[]string{"source a: source down", "404"}},
		{"every source refused", []string{"--source", "a=" + refusingSource(t), "--source", "b=" + refusingSource(t)},
			[]string{"source a: ", "source b: ", "rejected"}},
		{"push only, nothing pushed", []string{"--listen", "127.0.0.1:0"},
			[]string{"channel c: no segment recorded", "no source pushed anything"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ar := newE2EArchive(t)
			args := append(ar.args("record", "--channel", "c", "--for", "3s", "--segment-timeout", "1s"), tt.sources...)
			r := runCLI(t.Context(), args...)
			if r.code != exitFailure {
				t.Fatalf("want exit 1; %s", r)
			}
			for _, w := range append(tt.want, "record stored nothing") {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			for _, cmd := range []string{"status", "gaps"} {
				r := mustCLI(t, t.Context(), ar.args(cmd)...)
				if !strings.Contains(r.stdout, "channel c: no segments recorded") || strings.Contains(r.stdout, "no gaps") {
					t.Errorf("%s of a channel without segments: %s", cmd, r)
				}
			}
		})
	}
}

// TestRecordSomethingStoredSucceeds: a channel that got segments exits 0
// even though one of its sources was down all along.
func TestRecordSomethingStoredSucceeds(t *testing.T) {
	t.Parallel()
	_, mpd := newSimServer(t, simulate.Options{})
	ar := newE2EArchive(t)
	r := runCLI(t.Context(), ar.args("record", "--channel", "c", "--for", "3s",
		"--source", "good="+mpd, "--source", "down=http://127.0.0.1:1/manifest.mpd")...)
	if r.code != exitOK {
		t.Fatalf("want exit 0; %s", r)
	}
	if st := mustCLI(t, t.Context(), ar.args("status")...); strings.Contains(st.stdout, "no segments recorded") {
		t.Errorf("status after a recording that stored segments: %s", st)
	}
}
