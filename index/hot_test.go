package index

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// countingConn counts, per SQL text, what database/sql asks a driver
// connection to do: prepare a statement, or run SQL text directly (which
// the driver compiles for that one call).
type countingConn struct {
	driver.Conn
	n *sqlCounts
}

// sqlCounts are the counts of countingConns, by SQL text.
type sqlCounts struct {
	mu       sync.Mutex
	prepared map[string]int
	direct   map[string]int
}

func (c *sqlCounts) add(m map[string]int, query string) {
	c.mu.Lock()
	m[query]++
	c.mu.Unlock()
}

func (c countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.n.add(c.n.prepared, query)
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c countingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	c.n.add(c.n.direct, query)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, query, args)
}

func (c countingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	c.n.add(c.n.direct, query)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, query, args)
}

func (c countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c countingConn) ResetSession(ctx context.Context) error {
	return c.Conn.(driver.SessionResetter).ResetSession(ctx)
}

// countingConnector opens countingConns to dsn.
type countingConnector struct {
	dsn string
	drv driver.Driver
	n   *sqlCounts
}

func (c countingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return countingConn{conn, c.n}, nil
}

func (c countingConnector) Driver() driver.Driver { return c.drv }

// TestHotStatementsPrepared: the statements the recorder runs per segment
// (segment lookup; segment, delivery, event and text-issue rows) are
// prepared once per connection and reused: recording many segments never
// runs their SQL text directly (compiled per call) nor prepares them again.
func TestHotStatementsPrepared(t *testing.T) {
	t.Parallel()
	db, n := countingDB(t)
	f := newFixtureOn(t, db)
	const segments = 40
	for k := int64(1); k <= segments; k++ {
		if _, _, err := f.db.Segment(f.ctx, f.track.ID, k); err != nil {
			t.Fatal(err)
		}
		seg := f.seg(k)
		c := &Contents{TrackID: f.track.ID, K: k, Text: true, TextIssues: []TextIssue{{Kind: "order", Detail: "x"}},
			Events: []Event{{TrackID: f.track.ID, K: k, Scheme: "urn:x", ID: uint32(k), Timescale: 1000, PresentationTime: 5000, Duration: 1}}}
		if err := f.db.RecordWith(f.ctx, &seg, c, Delivery{SourceID: f.srcA.ID, Outcome: Stored}); err != nil {
			t.Fatal(err)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, tc := range []struct{ name, sql string }{
		{"segment lookup", selectSegmentSQL},
		{"segment row", insertSegmentSQL + ` ON CONFLICT(track_id, k) DO NOTHING`},
		{"delivery row", insertDeliverySQL},
		{"event", insertEventSQL},
		{"text issues cleared", deleteTextIssuesSQL},
		{"text issue", insertTextIssueSQL},
	} {
		// One preparation per pooled connection at most (the reader pool
		// has a few), never one per segment.
		if p, d := n.prepared[tc.sql], n.direct[tc.sql]; d != 0 || p == 0 || p > 8 {
			t.Errorf("%s: prepared %d times, run as text %d times for %d segments; want prepared once per connection, never run as text", tc.name, p, d, segments)
		}
	}
}

// countingDB opens an index whose connections count what they run.
func countingDB(t *testing.T) (*DB, *sqlCounts) {
	t.Helper()
	n := &sqlCounts{prepared: map[string]int{}, direct: map[string]int{}}
	drv, err := sql.Open("sqlite", "unused")
	if err != nil {
		t.Fatal(err)
	}
	db, err := open(context.Background(), filepath.Join(t.TempDir(), "index.db"), func(dsn string) (*sql.DB, error) {
		return sql.OpenDB(countingConnector{dsn: dsn, drv: drv.Driver(), n: n}), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
		_ = drv.Close()
	})
	return db, n
}

// TestLiveReadsPrepared: the reads of a live manifest build (channel,
// tracks, splice stamp, the change log, segment ranges, the walk down,
// inits, events and their schemes) are prepared once per connection and
// reused, never compiled per call.
func TestLiveReadsPrepared(t *testing.T) {
	t.Parallel()
	db, n := countingDB(t)
	f := newFixtureOn(t, db)
	for k := int64(1); k <= 10; k++ {
		f.insert(k)
	}
	n.mu.Lock()
	direct, prepared := maps.Clone(n.direct), maps.Clone(n.prepared)
	n.mu.Unlock()
	const builds = 40
	for range builds {
		reads := []error{
			func() error { _, err := db.Channel(f.ctx, "ch1"); return err }(),
			func() error { _, err := db.Tracks(f.ctx, f.ch.ID); return err }(),
			func() error { _, err := db.SpliceStamp(f.ctx, f.ch.ID); return err }(),
			db.ForEachSegment(f.ctx, f.track.ID, 1, 10, func(Segment) error { return nil }),
			func() error { _, err := db.SegmentsDown(f.ctx, f.track.ID, 10, 4); return err }(),
			func() error { _, err := db.InitByID(f.ctx, f.init.ID); return err }(),
			func() error { _, err := db.ChannelInits(f.ctx, f.ch.ID); return err }(),
			func() error { _, err := db.SegmentChanges(f.ctx, 1, 100); return err }(),
			func() error { _, err := db.Events(f.ctx, f.ch.ID, 0, 1<<40); return err }(),
			func() error { _, err := db.EventSchemes(f.ctx, f.track.ID, 1, 10); return err }(),
		}
		if err := errors.Join(reads...); err != nil {
			t.Fatal(err)
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for q, c := range n.direct {
		if c > direct[q] {
			t.Errorf("run as text %d times in %d builds: %s", c-direct[q], builds, q)
		}
	}
	for q, c := range n.prepared {
		if c-prepared[q] > 8 {
			t.Errorf("prepared %d times in %d builds: %s", c-prepared[q], builds, q)
		}
	}
}

// TestHotStatementsClosed: Close closes every prepared statement.
func TestHotStatementsClosed(t *testing.T) {
	t.Parallel()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	h := db.hot
	for name, st := range map[string]*sql.Stmt{"segment": h.segment, "insSegment": h.insSegment, "insDelivery": h.insDelivery,
		"insEvent": h.insEvent, "delText": h.delText, "insText": h.insText,
		"savepoint": h.savepoint, "rollbackTo": h.rollbackTo, "release": h.release} {
		if st == nil {
			t.Errorf("%s: not prepared", name)
			continue
		}
		// A statement Close closed stays closed: a second Close is a
		// no-op, and Exec fails without reaching the (closed) database.
		if _, err := st.Exec(); err == nil || !strings.Contains(err.Error(), "statement is closed") {
			t.Errorf("%s after Close: %v; want statement is closed", name, err)
		}
	}
}

// TestRecordWithOneTransaction: RecordWith writes the segment row, its
// delivery, its events and its text issues in one transaction: all of
// them, or (the row exists) none.
func TestRecordWithOneTransaction(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		exists  bool
		wantErr error
		wantN   int64 // rows of each kind written
	}{
		{"new segment", false, nil, 1},
		{"row exists", true, ErrExists, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			seg := f.seg(8)
			if tc.exists {
				f.insert(8)
			}
			c := &Contents{TrackID: f.track.ID, K: 8, Text: true, TextIssues: []TextIssue{{Kind: "order", Detail: "x"}},
				Events: []Event{{TrackID: f.track.ID, K: 8, Scheme: "urn:x", ID: 1, Timescale: 1000, PresentationTime: 5000, Duration: 1}}}
			before := f.db.Counts()
			err := f.db.RecordWith(f.ctx, &seg, c, Delivery{SourceID: f.srcA.ID, Outcome: Stored})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RecordWith: %v; want %v", err, tc.wantErr)
			}
			if tx := f.db.Counts().WriteTx - before.WriteTx; tc.wantErr == nil && tx != 1 {
				t.Errorf("%d write transactions; want 1", tx)
			}
			issues, _ := f.db.TextIssueCount(f.ctx, f.track.ID)
			evs, _ := f.db.EventSchemes(f.ctx, f.track.ID, 8, 8)
			if got := []int64{f.countDeliveries(), int64(len(evs)), issues}; got[0] != tc.wantN || got[1] != tc.wantN || got[2] != tc.wantN {
				t.Errorf("deliveries, events, text issues: %v; want %d of each", got, tc.wantN)
			}
		})
	}
}
