package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSecondRecorderRefused: while one record runs, a second one on the
// same index, or on the same file store with its own index, exits 1 naming
// the holder (both used to run silently); once the first has stopped, its
// lock file does not block.
func TestSecondRecorderRefused(t *testing.T) {
	t.Parallel()
	ar := newE2EArchive(t)
	first := make(chan cliResult, 1)
	go func() {
		first <- runCLI(t.Context(), ar.args("record", "--channel", "c", "--listen", "127.0.0.1:0", "--for", "4s")...)
	}()
	lockFile := ar.index + ".lock"
	for _, f := range []string{lockFile, filepath.Join(ar.store, storeLockName)} {
		deadline := time.Now().Add(3 * time.Second)
		for {
			if b, _ := os.ReadFile(f); strings.Contains(string(b), `"pid"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the first recorder wrote no lock file %s", f)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	holder := fmt.Sprintf("pid %d on ", os.Getpid())
	otherIndex := filepath.Join(ar.dir, "other.db")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"same index", ar.args("record", "--channel", "c", "--listen", "127.0.0.1:0", "--for", "1s"),
			[]string{"another recorder uses the index " + ar.index, holder, "(record), started "}},
		{"same file store", []string{"record", "--store", ar.storeURL(), "--index", otherIndex, "--channel", "c", "--listen", "127.0.0.1:0", "--for", "1s"},
			[]string{"another recorder uses the store " + ar.storeURL(), holder}},
	}
	for _, tt := range tests {
		r := runCLI(t.Context(), tt.args...)
		if r.code != exitFailure {
			t.Errorf("%s: want exit 1; %s", tt.name, r)
		}
		for _, w := range tt.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr does not say %q:\n%s", tt.name, w, r.stderr)
			}
		}
	}
	<-first
	// The lock file is still there; it no longer blocks.
	if _, err := os.Stat(lockFile); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t.Context(), ar.args("record", "--channel", "c", "--listen", "127.0.0.1:0", "--for", "1s")...)
	if strings.Contains(r.stderr, "another recorder") || !strings.Contains(r.stderr, "record stored nothing") {
		t.Errorf("a record after the first stopped: %s", r)
	}
}
