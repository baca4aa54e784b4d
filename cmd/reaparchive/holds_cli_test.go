package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/internal/testenv"
)

// newHoldsStore makes an empty file store; holds needs no index.
func newHoldsStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "store"), 0o755); err != nil {
		t.Fatal(err)
	}
	return testenv.FileStoreURL(dir)
}

// TestHoldsCLI: holds add writes a hold that holds list shows (text and
// --json, every channel or one), holds release removes it, and releasing
// it again fails (exit 1) naming the id.
func TestHoldsCLI(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newHoldsStore(t)
	mustCLI(t, ctx, "holds", "add", "--store", st, "--channel", "sport", "--last", "1h", "--reason", "final")
	var added holdJSON
	r := mustCLI(t, ctx, "holds", "add", "--store", st, "--channel", "news", "--from", "2026-12-05T09:00:00Z",
		"--to", "1796464800", "--reason", "legal hold 17", "--expires", "2099-01-01T00:00:00Z", "--json")
	if err := json.Unmarshal([]byte(r.stdout), &added); err != nil {
		t.Fatal(err)
	}
	want := holdJSON{ID: added.ID, Channel: "news", From: "2026-12-05T09:00:00Z", To: "2026-12-05T10:00:00Z", Reason: "legal hold 17",
		Created: added.Created, Expires: "2099-01-01T00:00:00Z", Active: true}
	if added != want || len(added.ID) != 16 {
		t.Errorf("holds add --json = %+v; want %+v", added, want)
	}
	var keys map[string]any
	_ = json.Unmarshal([]byte(r.stdout), &keys)
	for _, k := range []string{"id", "channel", "from", "to", "reason", "created", "expires", "active"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("holds add --json lacks %q: %s", k, r.stdout)
		}
	}
	for _, tc := range []struct {
		args []string
		want []string // hold reasons listed
	}{
		{[]string{"--channel", "news"}, []string{"legal hold 17"}},
		{nil, []string{"legal hold 17", "final"}},
	} {
		var got struct {
			Holds []holdJSON `json:"holds"`
		}
		r := mustCLI(t, ctx, append([]string{"holds", "list", "--store", st, "--json"}, tc.args...)...)
		if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
			t.Fatal(err)
		}
		var reasons []string
		for _, h := range got.Holds {
			reasons = append(reasons, h.Reason)
		}
		if !slices.Equal(reasons, tc.want) {
			t.Errorf("holds list %v: %q; want %q", tc.args, reasons, tc.want)
		}
	}
	text := mustCLI(t, ctx, "holds", "list", "--store", st, "--channel", "news").stdout
	if !strings.Contains(text, added.ID) || !strings.Contains(text, "2099-01-01T00:00:00Z") || !strings.Contains(text, "active") {
		t.Errorf("holds list:\n%s", text)
	}
	r = mustCLI(t, ctx, "holds", "release", "--store", st, "--channel", "news", "--id", added.ID)
	if !strings.Contains(r.stdout, "released hold "+added.ID) {
		t.Errorf("holds release: %s", r)
	}
	if text := mustCLI(t, ctx, "holds", "list", "--store", st, "--channel", "news").stdout; text != "no holds\n" {
		t.Errorf("holds list after release:\n%s", text)
	}
	r = runCLI(ctx, "holds", "release", "--store", st, "--channel", "news", "--id", added.ID)
	if r.code != exitFailure || !strings.Contains(r.stderr, added.ID) || !strings.Contains(r.stderr, "no such hold") {
		t.Errorf("releasing a released hold: want exit 1 naming it; %s", r)
	}
}

// TestHoldsCLIBadInput: bad flags are usage errors (exit 2) naming the flag
// and the value, and write nothing.
func TestHoldsCLIBadInput(t *testing.T) {
	t.Parallel()
	st := newHoldsStore(t)
	add := func(extra ...string) []string {
		return append([]string{"holds", "add", "--store", st, "--channel", "news", "--reason", "r"}, extra...)
	}
	rng := []string{"--from", "2026-12-05T09:00:00Z", "--to", "2026-12-05T10:00:00Z"}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"bad from", add("--from", "yesterday", "--to", "2026-12-05T10:00:00Z"), []string{"--from", `"yesterday"`}},
		{"bad to", add("--from", "2026-12-05T09:00:00Z", "--to", "12:00"), []string{"--to", `"12:00"`}},
		{"empty range", add("--from", "2026-12-05T10:00:00Z", "--to", "2026-12-05T09:00:00Z"), []string{"--to", "not after --from"}},
		{"no range", add(), []string{"--from", "--last"}},
		{"bad expires", add(append(rng, "--expires", "soon")...), []string{"--expires", `"soon"`}},
		{"past expires", add(append(rng, "--expires", "1000")...), []string{"--expires", `"1000"`, "not in the future"}},
		{"no reason", []string{"holds", "add", "--store", st, "--channel", "news", "--last", "1h"}, []string{"--reason"}},
		{"no channel", []string{"holds", "add", "--store", st, "--last", "1h", "--reason", "r"}, []string{"--channel"}},
		{"bad channel", []string{"holds", "list", "--store", st, "--channel", "a/b"}, []string{"--channel", `"a/b"`}},
		{"bad id", []string{"holds", "release", "--store", st, "--channel", "news", "--id", "12"}, []string{"--id", `"12"`}},
		{"no id", []string{"holds", "release", "--store", st, "--channel", "news"}, []string{"--id"}},
		{"unknown subcommand", []string{"holds", "keep", "--store", st}, []string{`"keep"`, "list, add or release"}},
		{"no store", []string{"holds", "list"}, []string{"--store"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t.Context(), tc.args...)
			if r.code != exitUsage {
				t.Fatalf("exit %d; want 2: %s", r.code, r)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q: %s", w, r.stderr)
				}
			}
		})
	}
	if r := mustCLI(t, t.Context(), "holds", "list", "--store", st); r.stdout != "no holds\n" {
		t.Errorf("bad input wrote holds:\n%s", r.stdout)
	}
}

func TestParseTimeFlag(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "2026-12-05T09:00:00Z", want: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)},
		{in: "2026-12-05T10:00:00+01:00", want: time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)},
		{in: "1764928800", want: time.Date(2025, 12, 5, 10, 0, 0, 0, time.UTC)},
		{in: "1764928800.5", want: time.Date(2025, 12, 5, 10, 0, 0, 5e8, time.UTC)},
		{in: " 0 ", want: time.Unix(0, 0)},
		{in: "-5", bad: true},
		{in: "1e9", bad: true},
		{in: "NaN", bad: true},
		{in: "2026-12-05", bad: true},
		{in: "", bad: true},
	} {
		got, err := parseTimeFlag("from", tc.in)
		if tc.bad {
			if err == nil || !strings.Contains(err.Error(), "--from") || !strings.Contains(err.Error(), "epoch seconds") {
				t.Errorf("parseTimeFlag(%q) = %v, %v; want an error naming --from", tc.in, got, err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("parseTimeFlag(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}
