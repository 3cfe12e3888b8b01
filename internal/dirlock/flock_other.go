//go:build !unix

package dirlock

import (
	"errors"
	"os"
)

var errWouldBlock = errors.New("dirlock: would block")

// flock is missing where flock(2) is: the embedded mode runs on Unix
// systems (Linux in production, macOS for development).
func flock(*os.File) error {
	return errors.New("dirlock: locking a data directory needs a Unix system")
}

func unlock(*os.File) error { return nil }
