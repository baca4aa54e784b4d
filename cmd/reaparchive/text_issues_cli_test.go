package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/archive"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
)

// textK is the K of livesim2's WebVTT segment (testenv.LivesimText).
const textK = testenv.LivesimTextK

// textArchive is an archive of channel "subs" whose WebVTT track
// timewvtt-de holds livesim2's segment textK and, with bad set, K+1 with a
// vttc cue that has no payl box.
func textArchive(t *testing.T, bad bool) *e2eArchive {
	t.Helper()
	ctx := context.Background()
	ar := newE2EArchive(t)
	if err := os.MkdirAll(ar.store, 0o755); err != nil {
		t.Fatal(err)
	}
	r := archivetest.Open(t, ar.storeURL(), ar.index, "subs", 2*time.Second)
	defer r.Close()
	ch := r.Channel
	init, seg := testenv.LivesimText(t, "timesubs_wvtt_de")
	if _, err := ch.OfferInit(ctx, "a", "timewvtt-de", init, false); err != nil {
		t.Fatal(err)
	}
	segs := map[int64][]byte{textK: seg}
	if bad {
		// A vttc cue without payl.
		segs[textK+1] = testenv.TextSegment(t, (textK+1)*2000, []uint32{2000}, testenv.Box("vttc", testenv.Box("sttg", []byte("line:0"))))
	}
	for k, data := range segs {
		if _, err := ch.OfferSegment(ctx, archive.Offer{Source: "a", Rep: "timewvtt-de", Data: data, ExpectK: k}); err != nil {
			t.Fatal(err)
		}
	}
	return ar
}

// TestTextIssuesCLI: status shows the cue check's count per text track
// (text_issues in --json, "text issues" in the table), and verify lists
// each issue with kind, K and detail and exits 1, like for a mismatch;
// a clean text track shows 0 and verifies with exit 0.
func TestTextIssuesCLI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	issue := fmt.Sprintf("text_issue timewvtt-de K=%d: malformed: sample 1: vttc has 0 payl boxes, want 1", textK+1)
	cases := []struct {
		name     string
		bad      bool
		issues   int64
		code     int
		verifyOK string // in verify's stdout
	}{
		{"clean", false, 0, exitOK, "the index and the store agree"},
		{"vttc without payl", true, 1, exitFailure, issue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ar := textArchive(t, c.bad)
			js := mustCLI(t, ctx, ar.args("status", "--json", "--channel", "subs")...)
			var st jsonStatus
			if err := json.Unmarshal([]byte(js.stdout), &st); err != nil {
				t.Fatal(err)
			}
			if tr := st.Channels[0].Tracks; len(tr) != 1 || tr[0].TextIssues == nil || *tr[0].TextIssues != c.issues {
				t.Fatalf("status --json: want text_issues %d; %s", c.issues, js.stdout)
			}
			table := mustCLI(t, ctx, ar.args("status", "--channel", "subs")...)
			if want := fmt.Sprintf("text issues timewvtt-de: %d ", c.issues); !strings.Contains(table.stdout, want) {
				t.Errorf("status: no %q in\n%s", want, table.stdout)
			}
			r := runCLI(ctx, ar.args("verify", "--channel", "subs")...)
			if r.code != c.code || !strings.Contains(r.stdout, c.verifyOK) {
				t.Errorf("verify: want exit %d and %q; %s", c.code, c.verifyOK, r)
			}
			if c.bad && !strings.Contains(r.stderr, "1 text issue in text tracks") {
				t.Errorf("verify: stderr does not name the text issue; %s", r)
			}
			r = runCLI(ctx, ar.args("verify", "--channel", "subs", "--json")...)
			var rep struct {
				Mismatches int `json:"mismatches"`
				TextIssues int `json:"text_issues"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != c.code || rep.TextIssues != int(c.issues) || rep.Mismatches != 0 {
				t.Errorf("verify --json: %+v, %v; %s", rep, err, r)
			}
		})
	}
}
