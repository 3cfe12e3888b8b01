//go:build !unix

package service

// openFileLimit is unknown off Unix.
func openFileLimit() uint64 { return 0 }
