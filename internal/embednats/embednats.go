// Package embednats owns the nats-server that the all-in-one mode of
// Justice Events embeds: JetStream with file storage under the data
// directory and a client port on loopback, so that `nats stream ls` and the
// CLI work against it.
package embednats

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server keeps its data and listens.
type Config struct {
	// StoreDir is the JetStream store directory.
	StoreDir string
	// Listen is host:port for clients; port 0 picks a free port, and "-"
	// listens on no port at all (in-process connections only).
	Listen string
	// ServerName names the server in logs and monitoring.
	ServerName string
	// MaxStore bounds JetStream file storage; 0 lets the server decide.
	MaxStore int64
}

// Start starts the server and waits until it accepts connections.
func Start(c Config) (*server.Server, error) {
	opts := &server.Options{
		ServerName: c.ServerName,
		JetStream:  true,
		StoreDir:   c.StoreDir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 1 << 20,
		SyncAlways: true,
	}
	if c.MaxStore > 0 {
		opts.JetStreamMaxStore = c.MaxStore
	}
	if opts.ServerName == "" {
		opts.ServerName = "jevents-embedded"
	}
	switch c.Listen {
	case "-":
		opts.DontListen = true
	default:
		host, port, err := net.SplitHostPort(c.Listen)
		if err != nil {
			return nil, fmt.Errorf("embednats: listen address %q: %w", c.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil {
			return nil, fmt.Errorf("embednats: listen port %q: %w", port, err)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, p
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embednats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(30 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embednats: server not ready after 30s")
	}
	return ns, nil
}
