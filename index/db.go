package index

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver (pure Go, no cgo)
)

// Errors returned (wrapped) by DB methods; test with errors.Is.
var (
	// ErrNotFound: the channel, track, init or segment does not exist.
	ErrNotFound = errors.New("index: not found")
	// ErrExists: a segment row for that (track, K) already exists.
	ErrExists = errors.New("index: already exists")
)

// busyTimeout is how long a connection waits for a lock held by another
// connection (another process, or a WAL checkpoint) before SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// DB is the archive's SQLite index. It is safe for concurrent use by many
// goroutines: all writes go through a single connection (so they are
// serialised in-process and never fight for the write lock), reads use a
// pool of read-only connections that, in WAL mode, never block the writer
// and see the last committed state.
//
// A Snapshot is a DB too: its reads all run in one read transaction.
type DB struct {
	*conns         // the open index, shared by its Snapshots
	snap   *sql.Tx // a Snapshot's read transaction; nil: reads use the pool
}

// conns is an open index: its connections, statements and counts.
type conns struct {
	path   string
	file   os.FileInfo // the file opened at path: see checkFile
	writer *sql.DB     // exactly one connection, BEGIN IMMEDIATE
	reader *sql.DB     // pool of query_only connections

	hot   hotStmts    // the recorder's per-segment statements, prepared once
	reads readStmts   // the reader's statements, prepared on first use
	group groupCommit // batches the recorder's per-segment writes (writeGrouped)

	writeTx, lookups atomic.Int64 // see Counts
}

// Counts is what the index did since Open: write transactions committed
// (the transactions of its write path; a few rare single statements, such
// as DeleteSegment, run outside it) and segment lookups (Segment) run. They say what one recorder step
// costs the index (tests and benchmarks read them).
type Counts struct {
	WriteTx, SegmentLookups int64
}

// Counts returns db's counts.
func (db *DB) Counts() Counts {
	return Counts{WriteTx: db.writeTx.Load(), SegmentLookups: db.lookups.Load()}
}

// Open opens (creating if needed) the index database at path and brings its
// schema up to date. path must be a file path; ":memory:" is not supported
// (the reader pool and the writer would see different databases).
func Open(ctx context.Context, path string) (*DB, error) {
	return open(ctx, path, func(dsn string) (*sql.DB, error) { return sql.Open("sqlite", dsn) })
}

// open is Open with the connection pools opened by openPool (tests count
// what the driver is asked to do).
func open(ctx context.Context, path string, openPool func(dsn string) (*sql.DB, error)) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("index: open %q: a plain file path is required", path)
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("index: open %q: path must not contain '?'", path)
	}
	bt := fmt.Sprint(busyTimeout.Milliseconds())

	wq := url.Values{}
	wq.Set("_busy_timeout", bt)
	wq.Set("_foreign_keys", "1")
	wq.Set("_journal_mode", "WAL")
	wq.Set("_synchronous", "NORMAL") // durable across app crashes; in WAL only a power loss may lose the last commits
	wq.Set("_txlock", "immediate")   // take the write lock at BEGIN: no deadlock-prone lock upgrades
	wq.Add("_pragma", "temp_store(MEMORY)")
	wq.Add("_pragma", "cache_size(-32768)") // 32 MiB
	writer, err := openPool(path + "?" + wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetMaxIdleConns(1)
	writer.SetConnMaxLifetime(0)
	writer.SetConnMaxIdleTime(0)

	db := &DB{conns: &conns{path: path, writer: writer}}
	if err := db.migrate(ctx); err != nil {
		writer.Close()
		return nil, err
	}
	if db.file, err = os.Stat(path); err != nil {
		writer.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}

	rq := url.Values{}
	rq.Set("_busy_timeout", bt)
	rq.Set("_foreign_keys", "1")
	rq.Set("_query_only", "1")
	rq.Add("_pragma", "temp_store(MEMORY)")
	rq.Add("_pragma", "cache_size(-16384)") // 16 MiB per reader
	reader, err := openPool(path + "?" + rq.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(n)
	reader.SetMaxIdleConns(n)
	db.reader = reader
	if err := reader.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}

	if err := db.prepareHot(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	return db, nil
}

// Close closes the database. Pending operations must have returned. Close
// of a Snapshot ends its read transaction only.
func (db *DB) Close() error {
	if db.snap != nil {
		return db.endSnapshot()
	}
	errs := []error{db.hot.close(), db.reads.close()}
	if db.reader != nil {
		errs = append(errs, db.reader.Close())
	}
	if db.writer != nil {
		// Cheap; keeps planner statistics sensible for long-lived files.
		_, _ = db.writer.Exec(`PRAGMA optimize`)
		errs = append(errs, db.writer.Close())
	}
	return errors.Join(errs...)
}

// Path returns the database file path.
func (db *DB) Path() string { return db.path }

// write runs fn in one write transaction (BEGIN IMMEDIATE on the single
// writer connection), committing if fn returns nil. It fails with ErrLost
// once the index file was deleted or replaced: nothing is acknowledged
// into a file no one will open again.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := db.checkFile(); err != nil {
		return err
	}
	tx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("index: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("index: commit: %w", err)
	}
	db.writeTx.Add(1)
	return nil
}

// i64 converts an unsigned 64-bit value to SQLite's signed integer.
func i64(v uint64, what string) (int64, error) {
	if v > math.MaxInt64 {
		return 0, fmt.Errorf("index: %s %d does not fit a signed 64-bit integer", what, v)
	}
	return int64(v), nil
}

// u64 converts a stored integer back; negative values cannot have been
// written by this package.
func u64(v int64) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

// nanos stores a time as Unix nanoseconds; the zero time is stored as 0.
func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of nanos (UTC).
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// nullID maps the "unknown" ID 0 to NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
