package main

// The prune kill test: `reaparchive prune`, the real binary, killed with
// SIGKILL at seeded random points while it deletes, then run again as an
// operator (or the next cron run) would. After each kill `verify
// --read-data` must be clean (rows whose objects the killed prune deleted
// count as expired) and nothing inside the hold or after the horizon may be
// gone; after the rerun the store and the index must hold exactly the
// segments that are kept, with their inits, and nothing expired.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/holds"
	"github.com/reaparchive/reaparchive/index"
	"github.com/reaparchive/reaparchive/internal/testenv"
	"github.com/reaparchive/reaparchive/internal/testenv/archivetest"
	"github.com/reaparchive/reaparchive/layout"
	"github.com/reaparchive/reaparchive/prune"
	"github.com/reaparchive/reaparchive/simulate"
)

// Environment of the prune kill test's long form (README, Tests).
const (
	envPruneKillRounds = "REAPARCHIVE_PRUNE_KILL_ROUNDS" // kills, default pruneKillShortRounds
	envPruneKillSeed   = "REAPARCHIVE_PRUNE_KILL_SEED"   // seed of the kill points, default: the clock
)

// The archive every round prunes (a copy of it): channel "news" (mediaKeys
// lists it), 2 tracks of 2 s segments; an old range of pruneKillOld K that
// ended two hours ago, with a hold over pruneKillHeld of its K, and a
// recent range of pruneKillRecent K that ended seconds ago. With a
// retention of an hour the horizon stays between the two ranges for the
// whole test, so what a complete prune deletes does not depend on when it
// runs.
const (
	pruneKillShortRounds = 3
	pruneKillChannel     = "news"
	pruneKillOld         = 3000
	pruneKillHeldFrom    = 1000 // offset into the old range
	pruneKillHeld        = 100
	pruneKillRecent      = 30
	pruneKillRetention   = "1h"
	pruneKillTimeout     = 2 * time.Minute
)

// pruneKillLayout is where the ranges of the archive are.
type pruneKillLayout struct {
	oldK, recentK int64 // first K of the old and the recent range
}

func (l pruneKillLayout) held(k int64) bool {
	return k >= l.oldK+pruneKillHeldFrom && k < l.oldK+pruneKillHeldFrom+pruneKillHeld
}

// kept: a segment a complete prune keeps.
func (l pruneKillLayout) kept(k int64) bool { return l.held(k) || k >= l.recentK }

// expiring is how many objects a complete prune deletes.
func (l pruneKillLayout) expiring() int {
	return len(archivetest.Reps) * (pruneKillOld - pruneKillHeld)
}

// TestE2EPruneKilled kills `reaparchive prune` with SIGKILL at seeded
// random points, each round on a fresh copy of the same archive, and checks
// the store and the index after each kill and after the rerun that
// finishes the prune. The kill points come from an uninterrupted prune of
// another copy: the first round, and about half of the others, are killed
// a random part of the first half of the time it ran after its first
// delete, after their own first delete; the others a random part of its
// whole run after their start. At least one kill must land while objects
// are being deleted.
func TestE2EPruneKilled(t *testing.T) {
	t.Parallel()
	rounds := envInt(t, envPruneKillRounds, pruneKillShortRounds)
	seed := envSeed(t, envPruneKillSeed)
	t.Logf("prune kill test: %d rounds, seed %d (rerun with %s=%d)", rounds, seed, envPruneKillSeed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	bin := buildBinary(t, t.TempDir())
	tpl, l := pruneKillTemplate(t)
	tm := calibratePrune(t, bin, tpl, l)
	midway := 0
	for round := 1; round <= rounds; round++ {
		if killedPruneRound(t, bin, copyArchive(t, tpl), l, round, tm, rng) {
			midway++
		}
		if t.Failed() {
			t.Fatalf("round %d failed (seed %d)", round, seed)
		}
	}
	if midway == 0 {
		t.Errorf("none of %d kills landed while prune was deleting objects: the test proved nothing", rounds)
	}
}

// pruneKillTemplate makes the archive the rounds copy and the hold over
// part of its old range.
func pruneKillTemplate(t *testing.T) (*e2eArchive, pruneKillLayout) {
	t.Helper()
	start := time.Now()
	ar := newE2EArchive(t)
	if err := os.MkdirAll(ar.store, 0o755); err != nil {
		t.Fatal(err)
	}
	now := start.Unix() / 2 // K now
	l := pruneKillLayout{oldK: now - 3600 - pruneKillOld, recentK: now - pruneKillRecent - 5}
	e := archivetest.Open(t, ar.storeURL(), ar.index, pruneKillChannel, 2*time.Second)
	sim := testenv.NewSim(t, simulate.Options{})
	e.FillParallel(t, "a", sim, l.oldK, l.oldK+pruneKillOld-1, 8)
	e.FillParallel(t, "a", sim, l.recentK, l.recentK+pruneKillRecent-1, 8)
	e.Close()
	from, to := 2*(l.oldK+pruneKillHeldFrom), 2*(l.oldK+pruneKillHeldFrom+pruneKillHeld)
	mustCLI(t, t.Context(), "holds", "add", "--store", ar.storeURL(), "--channel", pruneKillChannel,
		"--from", strconv.FormatInt(from, 10), "--to", strconv.FormatInt(to, 10), "--reason", "prune kill test")
	n := 0
	for _, ks := range mediaKeys(t, ar.store) {
		n += len(ks)
	}
	if want := len(archivetest.Reps) * (pruneKillOld + pruneKillRecent); n != want {
		t.Fatalf("the archive holds %d media objects, want %d", n, want)
	}
	t.Logf("archive of %d media objects (%d to prune, %d held) made in %s", n, l.expiring(),
		len(archivetest.Reps)*pruneKillHeld, time.Since(start).Round(time.Millisecond))
	return ar, l
}

// pruneTiming is when an uninterrupted prune of the archive deleted its
// first object and when it ended, from its start.
type pruneTiming struct{ first, total time.Duration }

// calibratePrune prunes a copy of the archive without a kill, checks the
// outcome and measures it.
func calibratePrune(t *testing.T, bin string, tpl *e2eArchive, l pruneKillLayout) pruneTiming {
	t.Helper()
	ar := copyArchive(t, tpl)
	p := startPrune(t, bin, ar)
	first := watchFirstDelete(ar, l, p.exited)
	if err := p.wait(t); err != nil {
		t.Fatalf("prune: %v\n%s", err, p.stderr.String())
	}
	tm := pruneTiming{total: p.ended.Sub(p.started)}
	select {
	case at := <-first:
		tm.first = at.Sub(p.started)
	default: // not seen: count the whole run
	}
	res := checkPruneComplete(t, ar, l, "uninterrupted prune", p.stdout.Bytes())
	t.Logf("uninterrupted prune: %d objects deleted, the first after %s, done after %s",
		res.Deleted.Objects, tm.first.Round(time.Millisecond), tm.total.Round(time.Millisecond))
	return tm
}

// killedPruneRound starts prune on ar, kills it at a random point, checks
// the half-pruned archive, reruns prune to the end and checks it again. It
// reports whether the kill landed while objects were being deleted (some
// of them gone, others not yet).
func killedPruneRound(t *testing.T, bin string, ar *e2eArchive, l pruneKillLayout, round int, tm pruneTiming, rng *rand.Rand) bool {
	t.Helper()
	anchored := round == 1 || rng.IntN(2) == 0
	from := "its start"
	delay := time.Duration(rng.Int64N(int64(tm.total))) + time.Millisecond
	if anchored {
		from = "its first delete"
		delay = time.Duration(rng.Int64N(int64(tm.total-tm.first)/2 + 1))
	}
	p := startPrune(t, bin, ar)
	first := watchFirstDelete(ar, l, p.exited)
	if anchored {
		select {
		case <-first:
		case <-p.exited:
		}
	}
	killed := p.killAfter(t, delay)
	deleted := checkAfterKill(t, ar, l, round)
	where := fmt.Sprintf("killed %s after %s", delay.Round(time.Millisecond), from)
	if !killed {
		where = fmt.Sprintf("ended before the kill (%s after %s)", delay.Round(time.Millisecond), from)
	}
	v := verifyArchive(t, ar, fmt.Sprintf("round %d: after the kill", round))
	rerun := startPrune(t, bin, ar)
	if err := rerun.wait(t); err != nil {
		t.Fatalf("round %d: rerun of prune: %v\n%s", round, err, rerun.stderr.String())
	}
	res := checkPruneComplete(t, ar, l, fmt.Sprintf("round %d: rerun", round), rerun.stdout.Bytes())
	t.Logf("round %d: %s: %d of %d objects deleted before, verify --read-data: %s mismatches, %d rows expired; the rerun deleted %d objects (%d segments)",
		round, where, deleted, l.expiring(), v.mismatches(), v.Expired, res.Deleted.Objects, res.Deleted.Segments)
	return killed && deleted > 0 && deleted < l.expiring()
}

// pruneProc is one started `reaparchive prune`.
type pruneProc struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	started, ended time.Time
	exited         chan struct{} // closed when it has ended
	err            error         // its exit, once exited is closed
}

func startPrune(t *testing.T, bin string, ar *e2eArchive) *pruneProc {
	t.Helper()
	p := &pruneProc{exited: make(chan struct{})}
	p.cmd = exec.Command(bin, ar.args("prune", "--retention", pruneKillRetention, "--json")...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.ended = time.Now()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
	})
	return p
}

// wait waits until prune has ended and returns its exit.
func (p *pruneProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(pruneKillTimeout):
		t.Fatalf("prune still runs after %s", pruneKillTimeout)
		return nil
	}
}

// killAfter kills prune with SIGKILL after delay unless it ended before,
// and waits for it; it reports whether the kill ended it.
func (p *pruneProc) killAfter(t *testing.T, delay time.Duration) bool {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(delay):
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	err := p.wait(t)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return true
		}
	}
	if err != nil {
		t.Fatalf("prune failed before the kill: %v\n%s", err, p.stderr.String())
	}
	return false
}

// watchFirstDelete reports the time at which the first of the tracks'
// oldest objects is gone (prune deletes the lowest K first), polling every
// millisecond until done is closed.
func watchFirstDelete(ar *e2eArchive, l pruneKillLayout, done <-chan struct{}) <-chan time.Time {
	var paths []string
	for _, rep := range archivetest.Reps {
		paths = append(paths, filepath.Join(ar.store, filepath.FromSlash(layout.MediaKey(pruneKillChannel, rep, l.oldK, "m4s"))))
	}
	at := make(chan time.Time, 1)
	go func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			for _, p := range paths {
				if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
					at <- time.Now()
					return
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return at
}

// checkAfterKill checks that a killed prune deleted nothing it must keep
// and returns how many of the objects to prune it deleted.
func checkAfterKill(t *testing.T, ar *e2eArchive, l pruneKillLayout, round int) int {
	t.Helper()
	left := 0
	for rep, ks := range mediaKeys(t, ar.store) {
		kept := 0
		for _, k := range ks {
			if l.kept(k) {
				kept++
			} else {
				left++
			}
		}
		if kept != pruneKillHeld+pruneKillRecent {
			t.Errorf("round %d: after the kill %s holds %d of the %d segments held or after the horizon", round, rep, kept, pruneKillHeld+pruneKillRecent)
		}
	}
	return l.expiring() - left
}

// checkPruneComplete checks a prune's --json report and that the store and
// the index hold exactly the segments kept (held or after the horizon), the
// inits they decode with and one expiry marker, and that verify
// --read-data is clean with nothing expired left.
func checkPruneComplete(t *testing.T, ar *e2eArchive, l pruneKillLayout, what string, stdout []byte) prune.Result {
	t.Helper()
	var rep pruneReport
	if err := json.Unmarshal(stdout, &rep); err != nil || len(rep.Channels) != 1 {
		t.Fatalf("%s: prune --json: %v\n%s", what, err, stdout)
	}
	res := rep.Channels[0]
	if !res.Complete || res.Holds != 1 {
		t.Errorf("%s: prune report %+v, want complete with 1 hold", what, res)
	}
	objects := mediaKeys(t, ar.store)
	rows := readRows(t, t.Context(), ar.index, pruneKillChannel)
	for _, rep := range archivetest.Reps {
		checkKeptSet(t, fmt.Sprintf("%s: %s objects", what, rep), l, objects[rep])
		checkKeptSet(t, fmt.Sprintf("%s: %s index rows", what, rep), l, slices.Collect(maps.Keys(rows[rep])))
	}
	checkInitsKept(t, ar, what)
	checkOneMarker(t, ar, what)
	if v := verifyArchive(t, ar, what); v.Expired != 0 {
		t.Errorf("%s: verify counts %d expired rows, want none left", what, v.Expired)
	}
	return res
}

// checkKeptSet checks that ks are the K a complete prune keeps, each once.
func checkKeptSet(t *testing.T, what string, l pruneKillLayout, ks []int64) {
	t.Helper()
	var extra []int64
	n := 0
	for _, k := range ks {
		if l.kept(k) {
			n++
		} else {
			extra = append(extra, k)
		}
	}
	if want := pruneKillHeld + pruneKillRecent; n != want || len(extra) > 0 {
		slices.Sort(extra)
		t.Errorf("%s: %d of the %d K kept, and %d K that should be gone: %v", what, n, want, len(extra), extra[:min(len(extra), 10)])
	}
}

// checkInitsKept checks that the init object of every segment row left is
// in the store.
func checkInitsKept(t *testing.T, ar *e2eArchive, what string) {
	t.Helper()
	ctx := t.Context()
	db, err := index.Open(ctx, ar.index)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ch, err := db.Channel(ctx, pruneKillChannel)
	if err != nil {
		t.Fatal(err)
	}
	tracks, err := db.Tracks(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range tracks {
		inits, err := db.Inits(ctx, tr.ID)
		if err != nil {
			t.Fatal(err)
		}
		keys := map[int64]string{}
		for _, in := range inits {
			keys[in.ID] = in.Key
		}
		segs, err := db.Segments(ctx, tr.ID, math.MinInt64, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		needed := map[string]bool{}
		for _, g := range segs {
			needed[keys[g.InitID]] = true
		}
		for key := range needed {
			if _, err := os.Stat(filepath.Join(ar.store, filepath.FromSlash(key))); key == "" || err != nil {
				t.Errorf("%s: %s: init %q of a segment left: %v", what, tr.Rep, key, err)
			}
		}
	}
}

// checkOneMarker checks that the channel has one expiry marker left (the
// older ones, of a killed prune, go last).
func checkOneMarker(t *testing.T, ar *e2eArchive, what string) {
	t.Helper()
	st, err := cloud.Open(t.Context(), ar.storeURL())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ms, err := holds.Markers(t.Context(), st, pruneKillChannel)
	if err != nil || len(ms) != 1 {
		t.Errorf("%s: expiry markers %v (%v), want one", what, ms, err)
	}
}

// verifyReport is what the test reads of `verify --json`.
type verifyReport struct {
	Mismatches *int `json:"mismatches"`
	Expired    int  `json:"expired"`
}

func (v verifyReport) mismatches() string {
	if v.Mismatches == nil {
		return "unknown"
	}
	return strconv.Itoa(*v.Mismatches)
}

// verifyArchive runs `verify --read-data --json` and fails unless it exits
// 0 reporting no mismatch.
func verifyArchive(t *testing.T, ar *e2eArchive, what string) verifyReport {
	t.Helper()
	r := runCLI(t.Context(), ar.args("verify", "--read-data", "--json")...)
	var v verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || r.code != exitOK || v.Mismatches == nil || *v.Mismatches != 0 {
		t.Errorf("%s: verify --read-data: %v\n%s", what, err, r)
	}
	return v
}
