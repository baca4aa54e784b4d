package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestHelpHasExamples: every subcommand's --help has an Examples: section,
// and status --help documents its columns and its JSON.
func TestHelpHasExamples(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	root := (&app{stdout: &out, stderr: &out}).rootCmd()
	want := map[string][]string{
		"status":     {"Examples:", "CONFLICTS", "end of the last one (exclusive", `"end_time"`, `"sources":[{"name"`},
		"export-vod": {"Examples:", `"duration_seconds"`, `"fillers_created"`},
	}
	n := 0
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		n++
		t.Run(c.Name(), func(t *testing.T) {
			t.Parallel()
			r := runCLI(context.Background(), c.Name(), "--help")
			if r.code != exitOK {
				t.Fatalf("%s", r)
			}
			for _, w := range append([]string{"Examples:\n  reaparchive " + c.Name()}, want[c.Name()]...) {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("%s --help lacks %q:\n%s", c.Name(), w, r.stdout)
				}
			}
		})
	}
	if n < 10 {
		t.Errorf("only %d subcommands", n)
	}
}
