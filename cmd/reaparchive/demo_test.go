package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDemoStartsClean: a second demo into the same --dir starts from an
// empty archive (it used to append to the first and report gaps), a
// directory demo did not make is refused untouched, and --store/--index
// are refused and not in demo's help (they were listed and ignored).
func TestDemoStartsClean(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "demo")
	for run := 1; run <= 2; run++ {
		r := runCLI(t.Context(), "demo", "--dir", dir, "--for", "3s")
		if r.code != exitOK || !strings.Contains(r.stdout, "(0 gaps,") || strings.Contains(r.stdout, "gap video") || strings.Contains(r.stdout, "gap audio") {
			t.Fatalf("demo run %d: want exit 0 and 0 gaps; %s", run, r)
		}
		if _, err := os.Stat(filepath.Join(dir, "leftover")); err == nil {
			t.Fatalf("demo run %d kept a file of the earlier run", run)
		}
		if err := os.WriteFile(filepath.Join(dir, "leftover"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	other := t.TempDir()
	mine := filepath.Join(other, "mine.txt")
	if err := os.WriteFile(mine, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"foreign directory", []string{"demo", "--dir", other, "--for", "1s"}, "not made by demo"},
		{"--store", []string{"demo", "--dir", filepath.Join(other, "d"), "--store", "file:///tmp/x"}, "--store is not used"},
		{"--index", []string{"demo", "--dir", filepath.Join(other, "d"), "--index", "/tmp/x.db"}, "--index is not used"},
	}
	for _, tt := range tests {
		r := runCLI(t.Context(), tt.args...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: want exit 2 saying %q; %s", tt.name, tt.want, r)
		}
	}
	if b, err := os.ReadFile(mine); err != nil || string(b) != "keep" {
		t.Errorf("demo touched a directory it did not make: %q, %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(other, "d")); !os.IsNotExist(err) {
		t.Errorf("a usage error made the demo directory: %v", err)
	}
	r := runCLI(t.Context(), "demo", "--help")
	if r.code != exitOK || strings.Contains(r.stdout, "--store") || strings.Contains(r.stdout, "--index") || !strings.Contains(r.stdout, "--dir") {
		t.Errorf("demo --help lists --store/--index: %s", r)
	}
}
