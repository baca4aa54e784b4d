package cloud

import "sync"

// dirSyncer coalesces the directory fsyncs of a file store's concurrent
// writes (group commit for directory entries): a write's rename into
// directory D is durable once an fsync of D that started after the rename
// has returned. A write that finds no fsync of D running starts one at
// once; writes that arrive while one runs wait for it to end and then
// share the next one, which one of them starts. However many writes
// overlap, D is fsynced at most twice while they wait, and a lone write
// waits for its own fsync only.
type dirSyncer struct {
	mu   sync.Mutex
	dirs map[string]*dirSync // directories with writes waiting
	// sync fsyncs a directory (syncDir; tests count the calls).
	sync func(dir string) error
}

// dirSync is the state of one directory's fsyncs. Fsyncs are numbered
// from 1 in the order they start.
type dirSync struct {
	cond    *sync.Cond // on dirSyncer.mu; broadcast when an fsync ends
	users   int        // callers of syncDir on this directory
	running bool
	started uint64 // the number of the last fsync started
	done    uint64 // the number of the last fsync ended
	errSeq  uint64 // the number of the last fsync that failed
	err     error  // its error
}

// syncDir returns once an fsync of dir that started after the call has
// returned: with its error, or with the error of a later one that failed.
func (s *dirSyncer) syncDir(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.enter(dir)
	defer s.leave(dir, d)
	target := d.started + 1 // the first fsync to start from now on
	for d.done < target {
		if d.running {
			d.cond.Wait()
			continue
		}
		d.running = true
		d.started++
		s.mu.Unlock()
		err := s.fsync(dir)
		s.mu.Lock()
		d.running, d.done = false, d.started
		if err != nil {
			d.errSeq, d.err = d.done, err
		}
		d.cond.Broadcast()
	}
	if d.errSeq >= target {
		return d.err
	}
	return nil
}

// enter is dir's state, made if no write waits on dir yet; s.mu is held.
func (s *dirSyncer) enter(dir string) *dirSync {
	d := s.dirs[dir]
	if d == nil {
		if s.dirs == nil {
			s.dirs = map[string]*dirSync{}
		}
		d = &dirSync{cond: sync.NewCond(&s.mu)}
		s.dirs[dir] = d
	}
	d.users++
	return d
}

// leave forgets dir's state once no write waits on it; s.mu is held.
func (s *dirSyncer) leave(dir string, d *dirSync) {
	if d.users--; d.users == 0 {
		delete(s.dirs, dir)
	}
}

func (s *dirSyncer) fsync(dir string) error {
	if s.sync != nil {
		return s.sync(dir)
	}
	return syncDir(dir)
}
