package repair

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sync"

	"github.com/reaparchive/reaparchive/cloud"
	"github.com/reaparchive/reaparchive/layout"
)

// Store fills from another archive's store (a recorder in another
// region, say), read by its layout alone: segment K of a track is
// <channel>/<rep>/<K>.<ext>, and its init is the init-<h16> object its
// reap-init attribute names. Nothing is listed and its index is not needed.
type Store struct {
	name  string
	store *cloud.Store

	mu    sync.Mutex
	inits map[string]*fetchedInit // by key
}

// NewStore reads from store (which the caller closes). name is the source
// name the repair records its deliveries under.
func NewStore(name string, store *cloud.Store) *Store {
	return &Store{name: name, store: store, inits: map[string]*fetchedInit{}}
}

// Name implements Filler.
func (s *Store) Name() string { return s.name }

// URL implements Filler: "archive:" and the store URL.
func (s *Store) URL() string { return "archive:" + s.store.URL() }

// keys are the media keys segment w may have in the other archive: this
// archive's extension for the track, then the layout's.
func keys(w Want) []string {
	ext := w.Track.Ext
	if ext == "" {
		ext = layout.Ext(w.Track.ContentType)
	}
	out := []string{layout.MediaKey(w.Channel, w.Track.Rep, w.K, ext)}
	if def := layout.Ext(w.Track.ContentType); def != ext {
		out = append(out, layout.MediaKey(w.Channel, w.Track.Rep, w.K, def))
	}
	return out
}

// candidates are the keys that may hold K in an archive, in the order the
// layout reads them: the real copy of a K stored as an encoder filler
// (LAYOUT.md, Encoder fillers) before <K>.<ext>.
func candidates(w Want) []string {
	var out []string
	for _, key := range keys(w) {
		out = append(out, layout.RealKey(w.Channel, w.Track.Rep, w.K, path.Ext(key)[1:]))
	}
	return append(out, keys(w)...)
}

// Locate implements Filler: it looks the object up (its attributes only).
func (s *Store) Locate(ctx context.Context, w Want) (string, error) {
	for _, key := range candidates(w) {
		ok, err := s.store.Exists(ctx, key)
		if err != nil {
			return key, err
		}
		if ok {
			return key, nil
		}
	}
	return keys(w)[0], fmt.Errorf("%w: %s is not in %s", ErrUnavailable, keys(w)[0], s.store.URL())
}

// Fetch implements Filler.
func (s *Store) Fetch(ctx context.Context, w Want) (Fetched, error) {
	var (
		key   string
		attrs cloud.Attrs
		err   error
	)
	for _, key = range candidates(w) {
		if attrs, err = s.store.Attributes(ctx, key); !errors.Is(err, cloud.ErrNotFound) {
			break
		}
	}
	switch {
	case errors.Is(err, cloud.ErrNotFound):
		return Fetched{From: keys(w)[0]}, fmt.Errorf("%w: %s is not in %s", ErrUnavailable, keys(w)[0], s.store.URL())
	case err != nil:
		return Fetched{From: key}, err
	}
	data, err := s.store.Get(ctx, key)
	if err != nil {
		if errors.Is(err, cloud.ErrNotFound) {
			err = fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return Fetched{From: key}, err
	}
	var init []byte
	if sa, _ := layout.ParseSegmentAttrs(attrs.Meta); sa.Init != "" {
		h := sa.Init
		ik := layout.InitKey(w.Channel, w.Track.Rep, h)
		if init, err = s.init(ctx, ik); err != nil {
			if errors.Is(err, cloud.ErrNotFound) {
				err = fmt.Errorf("%w: its init segment %s (%s of %s) is not in that archive", ErrUnavailable, ik, layout.MetaInit, key)
			}
			return Fetched{From: key}, err
		}
	} else {
		// No attributes (an object copied by other tools): this archive's
		// own inits of the track, newest first, if the other archive has them.
		for _, h := range w.InitHashes {
			if init, err = s.init(ctx, layout.InitKey(w.Channel, w.Track.Rep, h)); err == nil {
				break
			}
			if !errors.Is(err, cloud.ErrNotFound) {
				return Fetched{From: key}, err
			}
		}
		if init == nil {
			return Fetched{From: key}, fmt.Errorf("%w: %s has no %s attribute and none of the track's init segments is in that archive", ErrUnavailable, key, layout.MetaInit)
		}
	}
	return Fetched{Data: data, Init: init, From: key}, nil
}

// init reads an init segment once.
func (s *Store) init(ctx context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	fi := s.inits[key]
	if fi == nil {
		fi = &fetchedInit{}
		s.inits[key] = fi
	}
	s.mu.Unlock()
	fi.once.Do(func() { fi.data, fi.err = s.store.Get(ctx, key) })
	return fi.data, fi.err
}
