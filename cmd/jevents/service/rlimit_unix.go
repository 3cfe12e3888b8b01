//go:build unix

package service

import "syscall"

// openFileLimit is the process's soft limit of open files (0: unknown
// or unlimited).
func openFileLimit() uint64 {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur >= 1<<40 {
		return 0
	}
	return r.Cur
}
