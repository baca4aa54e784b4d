package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestIsFull: a real SQLITE_FULL (the database at its max_page_count) and
// ENOSPC/EDQUOT from below are "full"; other errors are not.
func TestIsFull(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "full.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE t (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `PRAGMA max_page_count = 3`); err != nil {
		t.Fatal(err)
	}
	_, full := conn.ExecContext(ctx, `INSERT INTO t VALUES (zeroblob(100000))`)
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"SQLITE_FULL", fmt.Errorf("index: record: %w", full), true},
		{"ENOSPC", &fs.PathError{Op: "write", Path: "index.db-wal", Err: syscall.ENOSPC}, true},
		{"EDQUOT", fmt.Errorf("x: %w", syscall.EDQUOT), true},
		{"not found", ErrNotFound, false},
		{"EIO", syscall.EIO, false},
		{"nil", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if tc.want && tc.err == nil {
				t.Fatal("no error to classify")
			}
			if got := IsFull(tc.err); got != tc.want {
				t.Errorf("IsFull(%v) = %v; want %v", tc.err, got, tc.want)
			}
		})
	}
}

// TestLostIndexFile: once the index file is deleted or replaced, writes
// fail with ErrLost and Watch returns it.
func TestLostIndexFile(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		lose func(path string) error
	}{
		{"deleted", os.Remove},
		{"replaced", func(path string) error {
			if err := os.Rename(path, path+".old"); err != nil {
				return err
			}
			return os.WriteFile(path, nil, 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "index.db")
			db, err := Open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.EnsureChannel(ctx, "before"); err != nil {
				t.Fatal(err)
			}
			if err := tc.lose(path); err != nil {
				t.Fatal(err)
			}
			if _, err := db.EnsureChannel(ctx, "after"); !errors.Is(err, ErrLost) {
				t.Errorf("write after the file was %s: %v; want ErrLost", tc.name, err)
			}
			wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := db.Watch(wctx, 20*time.Millisecond); !errors.Is(err, ErrLost) {
				t.Errorf("Watch: %v; want ErrLost", err)
			}
		})
	}
}
