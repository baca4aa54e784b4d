package cloud

import (
	"context"
	"errors"
	"sync"
)

// DeleteMany removes keys. A key that does not exist is not an error (a
// delete is idempotent, so an interrupted prune can simply run again).
// deleted counts the keys that are absent afterwards; on error some keys
// may have been deleted and others not.
func (s *Store) DeleteMany(ctx context.Context, keys []string) (deleted int, err error) {
	const workers = 8
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	ch := make(chan string)
	for range min(workers, len(keys)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ch {
				err := s.Delete(ctx, k)
				mu.Lock()
				if err == nil || errors.Is(err, ErrNotFound) {
					deleted++
				} else {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		if ctx.Err() != nil {
			break
		}
		ch <- k
	}
	close(ch)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		errs = append(errs, err)
	}
	return deleted, errors.Join(errs...)
}
