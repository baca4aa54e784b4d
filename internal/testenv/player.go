package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// PlayerDir is the directory of the headless Chromium checks
// (REAPARCHIVE_TEST_PLAYER: scripts/player with its node_modules), after
// checking that node and playwright-core are there.
func PlayerDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("REAPARCHIVE_TEST_PLAYER")
	if dir == "" {
		missing(t, "the player check (REAPARCHIVE_TEST_PLAYER)")
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		missing(t, "scripts/player/node_modules (npm ci)")
	}
	return dir
}
