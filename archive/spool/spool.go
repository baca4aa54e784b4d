// Package spool is a bounded, crash-safe local queue of segments waiting
// for the blob store: when the store is unreachable the recorder keeps each
// segment it acknowledges here (bytes, object metadata and the index rows
// to write once it is stored) and uploads the queue, in order, when the
// store is back.
//
// Every entry is one file DIR/<20-digit sequence>.spool, written to a
// temporary file, fsynced and renamed into place (the directory fsynced
// too): an entry is either wholly there or not at all, and Add returns only
// once it is durable. A file holds one JSON header line (key, metadata,
// index rows, data size) and then the data. Sequence numbers follow the
// order of Add, so the queue survives restarts in order.
package spool

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ErrFull is returned by Add when the entry would take the spool over its
// size limit: the delivery is refused, not acknowledged.
var ErrFull = errors.New("spool is full")

const ext = ".spool"

// Entry is one spooled segment.
type Entry struct {
	Seq   uint64            `json:"-"`
	Key   string            `json:"key"`
	Meta  map[string]string `json:"meta,omitempty"`
	Index json.RawMessage   `json:"index,omitempty"` // the owner's pending index rows
	Size  int64             `json:"size"`            // data bytes
	file  int64             // file size
}

// Spool is a spool directory. It is safe for concurrent use.
type Spool struct {
	dir string
	max int64
	log *slog.Logger

	mu      sync.Mutex
	entries []*Entry // in sequence order
	byKey   map[string]*Entry
	bytes   int64 // file bytes
	next    uint64
	full    bool // the last Add was refused (for one log line per episode)
	wake    chan struct{}

	fullTotal prometheus.Counter
	refused   atomic.Int64
}

// Open opens (creating) the spool in dir with a limit of limit bytes (0: no
// limit), loading the entries a previous run left.
func Open(dir string, limit int64, log *slog.Logger) (*Spool, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, max: limit, log: log, byKey: map[string]*Entry{}, wake: make(chan struct{}, 1), next: 1,
		fullTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "reaparchive", Subsystem: "spool", Name: "full_total",
			Help: "Segments refused because the spool was full (the store unreachable and the spool at its size limit)."})}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, de := range des {
		name := de.Name()
		if strings.HasSuffix(name, ".tmp") { // an Add that did not finish: never acknowledged
			_ = os.Remove(filepath.Join(dir, name))
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, ext), 10, 64)
		if !strings.HasSuffix(name, ext) || err != nil {
			continue
		}
		e, err := s.readHeader(seq)
		if err != nil {
			return nil, fmt.Errorf("spool: %s: %w", name, err)
		}
		s.entries = append(s.entries, e)
		s.byKey[e.Key] = e
		s.bytes += e.file
		s.next = max(s.next, seq+1)
	}
	sort.Slice(s.entries, func(i, j int) bool { return s.entries[i].Seq < s.entries[j].Seq })
	return s, nil
}

// Dir returns the spool's directory.
func (s *Spool) Dir() string { return s.dir }

func (s *Spool) path(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, ext))
}

func (s *Spool) readHeader(seq uint64) (*Entry, error) {
	f, err := os.Open(s.path(seq))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	line, err := bufio.NewReader(f).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	e := &Entry{Seq: seq, file: fi.Size()}
	if err := json.Unmarshal(line, e); err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if int64(len(line))+e.Size != fi.Size() {
		return nil, fmt.Errorf("%d bytes; the header says %d of data after %d of header", fi.Size(), e.Size, len(line))
	}
	return e, nil
}

// Add spools a segment: key and meta are its object's, index what its
// owner needs to index it once it is stored. It returns once the entry is
// durable, or ErrFull (nothing kept).
func (s *Spool) Add(key string, data []byte, meta map[string]string, index json.RawMessage) error {
	e := &Entry{Key: key, Meta: meta, Index: index, Size: int64(len(data))}
	hdr, err := json.Marshal(e)
	if err != nil {
		return err
	}
	hdr = append(hdr, '\n')
	e.file = int64(len(hdr) + len(data))
	s.mu.Lock()
	if s.max > 0 && s.bytes+e.file > s.max {
		first := !s.full
		s.full = true
		n, b := len(s.entries), s.bytes
		s.mu.Unlock()
		s.fullTotal.Inc()
		s.refused.Add(1)
		if first {
			s.log.Warn("spool is full: refusing segments until the store is back", "dir", s.dir, "bytes", b, "max", s.max, "segments", n)
		}
		return fmt.Errorf("%w (%d of %d bytes in %s): %s not kept", ErrFull, b, s.max, s.dir, key)
	}
	e.Seq = s.next
	s.next++
	s.bytes += e.file // reserved
	s.mu.Unlock()
	if err := s.write(e.Seq, hdr, data); err != nil {
		s.mu.Lock()
		s.bytes -= e.file
		s.mu.Unlock()
		return fmt.Errorf("spool %s: %w", key, err)
	}
	s.mu.Lock()
	// Keep sequence order even if a later Add finished first.
	i := sort.Search(len(s.entries), func(i int) bool { return s.entries[i].Seq > e.Seq })
	s.entries = append(s.entries, nil)
	copy(s.entries[i+1:], s.entries[i:])
	s.entries[i] = e
	s.byKey[key] = e
	s.full = false
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
	return nil
}

func (s *Spool) write(seq uint64, hdr, data []byte) error {
	final := s.path(seq)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(hdr)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, final)
	}
	if err == nil {
		err = syncDir(s.dir)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Pending returns the spooled entry of key, if there is one.
func (s *Spool) Pending(key string) (*Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byKey[key]
	return e, ok
}

// Len returns the number of spooled entries.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Bytes returns the spool's size on disk.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// Data reads an entry's segment bytes.
func (s *Spool) Data(e *Entry) ([]byte, error) {
	b, err := os.ReadFile(s.path(e.Seq))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != e.file {
		return nil, fmt.Errorf("spool entry %d: %d bytes, want %d", e.Seq, len(b), e.file)
	}
	return b[e.file-e.Size:], nil
}

// Upload stores one entry; it returns nil once the segment is durable in
// the store and indexed, after which the entry is removed.
type Upload func(ctx context.Context, e *Entry, data []byte) error

// Drain uploads entries in order until the spool is empty (nil) or an
// upload fails (its error; the entry stays first in the queue).
func (s *Spool) Drain(ctx context.Context, up Upload) error {
	for {
		s.mu.Lock()
		if len(s.entries) == 0 {
			s.mu.Unlock()
			return nil
		}
		e := s.entries[0]
		s.mu.Unlock()
		data, err := s.Data(e)
		if err != nil {
			return err
		}
		if err := up(ctx, e, data); err != nil {
			return err
		}
		if err := s.remove(e); err != nil {
			return err
		}
	}
}

func (s *Spool) remove(e *Entry) error {
	if err := os.Remove(s.path(e.Seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.entries {
		if x == e {
			s.entries = append(s.entries[:i], s.entries[i+1:]...)
			break
		}
	}
	if s.byKey[e.Key] == e {
		delete(s.byKey, e.Key)
	}
	s.bytes -= e.file
	return nil
}

// Run drains the spool whenever it has entries, until ctx ends: after a
// failed upload it waits (backoff from 500 ms to 10 s) and tries the same
// entry again, so the store is probed by the upload itself.
func (s *Spool) Run(ctx context.Context, up Upload) {
	backoff := 500 * time.Millisecond
	failing := false
	for {
		n := s.Len()
		if n > 0 {
			start := time.Now()
			err := s.Drain(ctx, up)
			if ctx.Err() != nil {
				return
			}
			if err == nil {
				s.log.Info("spool drained: spooled segments uploaded", "dir", s.dir, "segments", n, "elapsed", time.Since(start).Round(time.Millisecond))
				failing, backoff = false, 500*time.Millisecond
				continue
			}
			if !failing {
				s.log.Warn("spool: upload failed, retrying (segments stay spooled)", "dir", s.dir, "segments", s.Len(), "err", err)
			}
			failing = true
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

// Collectors returns the spool's Prometheus metrics:
// reaparchive_spool_bytes and reaparchive_spool_segments (gauges) and
// reaparchive_spool_full_total (segments refused because it was full).
func (s *Spool) Collectors() []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "reaparchive", Subsystem: "spool", Name: "bytes",
			Help: "Bytes of segments spooled locally, waiting for the store."}, func() float64 { return float64(s.Bytes()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "reaparchive", Subsystem: "spool", Name: "segments",
			Help: "Segments spooled locally, waiting for the store."}, func() float64 { return float64(s.Len()) }),
		s.fullTotal,
	}
}

// Refused returns how many segments were refused because the spool was full.
func (s *Spool) Refused() int64 { return s.refused.Load() }
