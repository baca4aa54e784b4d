package origin

import (
	"context"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Prebuild timing: a live manifest asked for in the last hotFor is built
// for the next second lead before that second begins.
const (
	DefaultPrebuildLead = 500 * time.Millisecond
	hotFor              = 10 * time.Second
)

// hotManifest is a live manifest players are reading.
type hotManifest struct {
	channel string
	d       doc
	p       params
	last    time.Time // when it was last asked for
}

// hotSet are the live manifests asked for lately, by cache key.
type hotSet struct {
	mu sync.Mutex
	m  map[string]hotManifest
}

func newHotSet() *hotSet { return &hotSet{m: map[string]hotManifest{}} }

// note notes that a live manifest was asked for at now.
func (h *hotSet) note(key string, m hotManifest) {
	h.mu.Lock()
	h.m[key] = m
	h.mu.Unlock()
}

// since are the keys and manifests asked for after t, in key order; the
// rest are forgotten.
func (h *hotSet) since(t time.Time) ([]string, []hotManifest) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var keys []string
	for k, m := range h.m {
		if m.last.Before(t) {
			delete(h.m, k)
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ms := make([]hotManifest, len(keys))
	for i, k := range keys {
		ms[i] = h.m[k]
	}
	return keys, ms
}

// Prebuild builds, until ctx ends, each live manifest players read for
// the next second, Config.PrebuildLead before it begins, so that no
// request waits for a build. A manifest built ahead reads the index up to
// the lead earlier than one built on request: the edge lag must exceed
// the slowest encoder's delay by the lead as well.
func (s *Server) Prebuild(ctx context.Context) {
	th, onMain := s.prioritizeBuilds()
	if onMain {
		// The main thread never ends (when a goroutine locked to it
		// ends, the runtime parks it for good), so its priority would
		// outlive Prebuild: build on another thread, which this
		// goroutine's lock keeps off the main one.
		done := make(chan struct{})
		go func() { defer close(done); s.Prebuild(ctx) }()
		<-done
		runtime.UnlockOSThread()
		return
	}
	var done int64 // the last second built
	for {
		now := s.cfg.Now()
		next := now.Truncate(time.Second).Add(time.Second)
		if next.Unix() <= done {
			next = time.Unix(done+1, 0)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next.Add(-s.cfg.PrebuildLead).Sub(now)):
		}
		keys, ms := s.hot.since(next.Add(-hotFor))
		for i, m := range ms {
			if _, hit, err := s.cache.get(next, keys[i], func() (b *built, err error) {
				th.during(func() { b, err = s.build(ctx, m.channel, m.d, m.p, next) })
				return b, err
			}); err == nil && !hit {
				s.metrics.prebuilt()
			}
		}
		done = next.Unix()
	}
}
