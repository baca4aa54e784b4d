package index

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrLocked is returned (wrapped) by Lock when another process holds the
// lock.
var ErrLocked = errors.New("locked by another process")

// Holder says who holds a lock: written into the lock file.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Command string    `json:"command,omitempty"`
}

func (h Holder) String() string {
	return fmt.Sprintf("pid %d on %s (%s), started %s", h.PID, h.Host, h.Command, h.Started.Format(time.RFC3339))
}

// FileLock is an exclusive advisory lock (flock) on a lock file.
type FileLock struct {
	f *os.File
}

// Lock takes an exclusive lock on path (creating it) without waiting, and
// writes the holder (this process, doing command) into it. When another
// process holds it, the error wraps ErrLocked and names that holder. The
// kernel releases the lock when the process ends, so a lock file left by a
// dead process does not block.
func Lock(path, command string) (*FileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := tryLock(f); err != nil {
		defer f.Close()
		if errors.Is(err, errWouldBlock) {
			var h Holder
			data, _ := os.ReadFile(path)
			if json.Unmarshal(data, &h) != nil || h.PID == 0 {
				return nil, fmt.Errorf("%s is %w (holder unknown)", path, ErrLocked)
			}
			return nil, fmt.Errorf("%s is %w: %s", path, ErrLocked, h)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	data, _ := json.Marshal(Holder{PID: os.Getpid(), Host: host, Started: time.Now().UTC().Truncate(time.Second), Command: command})
	if err := writeHolder(f, data); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &FileLock{f: f}, nil
}

func writeHolder(f *os.File, data []byte) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(append(data, '\n'), 0)
	return err
}

// Unlock releases the lock. The file stays (removing it would race with a
// process that just opened it); its content is cleared.
func (l *FileLock) Unlock() error {
	_ = l.f.Truncate(0)
	return l.f.Close() // closing the last descriptor releases the flock
}
