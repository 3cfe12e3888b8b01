package embednats

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/nats-io/nats-server/v2/server"
)

// RestartJetStream stops JetStream on the embedded server and starts it
// again with the same configuration, reading every stream back from the
// store directory.
//
// The service calls it when its data volume has room again after it ran
// full. A single-node server that fails to write a message because the
// disk is full (ENOSPC) marks the stream with a write error and answers
// none of its writes any more, and nothing clears the mark but loading the
// stream again: without this, freeing space did not help until the process
// was restarted. What was acknowledged is on disk (the server syncs every
// write before acknowledging it) and is read back; a message whose write
// failed was never acknowledged.
//
// Clients stay connected; requests in flight during the restart (a few
// hundred milliseconds) fail and are retried by their callers.
func RestartJetStream(ns *server.Server) error {
	cfg := ns.JetStreamConfig()
	if cfg == nil {
		return errors.New("embednats: JetStream is not running")
	}
	if err := ns.ShutdownJetStream(); err != nil {
		return fmt.Errorf("embednats: stop JetStream: %w", err)
	}
	// The configuration names the "jetstream" directory inside the store
	// directory the server was given; EnableJetStream appends it again.
	if filepath.Base(cfg.StoreDir) == server.JetStreamStoreDir {
		cfg.StoreDir = filepath.Dir(cfg.StoreDir)
	}
	if err := ns.EnableJetStream(cfg); err != nil {
		return fmt.Errorf("embednats: start JetStream again: %w", err)
	}
	return nil
}
