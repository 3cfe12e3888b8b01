// Package dirlock owns the one-owner rule of a data directory: a process
// that writes to a data directory first takes an exclusive lock on a file in
// it, so that a second process started on the same directory stops at once
// instead of running its own server on the same files.
//
// The lock is flock(2) on <dir>/jevents.lock, held for the life of the
// process: the kernel releases it when the process ends in any way (crash,
// SIGKILL), so there is never a stale lock to clean up. The file holds the
// owner's PID for the message the next process prints; the PID is news,
// never the lock itself. It imports nothing of ours.
package dirlock

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FileName is the lock file inside the data directory.
const FileName = "jevents.lock"

// Lock is a held lock on a directory. Close releases it.
type Lock struct {
	f   *os.File
	dir string
}

// HeldError says that another process holds the directory.
type HeldError struct {
	Dir string
	// PID is the holder's process id, 0 when it could not be read.
	PID int
}

func (e *HeldError) Error() string {
	holder := "another process"
	if e.PID > 0 {
		holder = "another process (PID " + strconv.Itoa(e.PID) + ")"
	}
	return fmt.Sprintf("data directory %s is in use by %s: one jevents serve per data directory; stop it first or give another --data", e.Dir, holder)
}

// ErrHeld matches a *HeldError with errors.Is.
var ErrHeld = errors.New("dirlock: directory held by another process")

func (e *HeldError) Is(target error) bool { return target == ErrHeld }

// Acquire creates dir when missing (mode 0700) and takes its lock without
// waiting: when another process holds it, the error is a *HeldError naming
// the holder's PID. Nothing else in dir is read or written.
func Acquire(dir string) (*Lock, error) {
	if fi, err := os.Stat(dir); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s: not a directory", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("data directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("data directory %s: lock: %w", dir, err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, &HeldError{Dir: dir, PID: readPID(path)}
		}
		return nil, fmt.Errorf("data directory %s: lock %s: %w", dir, path, err)
	}
	// Ours: say who holds it. A failure here leaves the lock held and
	// only the message of a second process poorer.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &Lock{f: f, dir: dir}, nil
}

// Dir is the locked directory.
func (l *Lock) Dir() string { return l.dir }

// Close releases the lock. The file stays: removing it would let a process
// that opened it before the removal and one that creates it afresh both
// hold "the" lock.
func (l *Lock) Close() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := unlock(l.f)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	return err
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
