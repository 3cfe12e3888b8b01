// Package embednats owns the nats-server that the all-in-one mode of
// Justice Events embeds: JetStream with file storage under the data
// directory, a client port on loopback that only the data directory's own
// user may use (an nkey generated at first start, credentials.go), the
// connection file through which the CLI and the `nats` tool find it, and
// the server's own log, routed to the service's.
//
// Start fails within moments with the server's own reason (a port taken, a
// store that cannot be written) and gives up when its context ends; it
// never waits out a timeout without saying why.
package embednats

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config says where the embedded server keeps its data, where it listens
// and who may connect.
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
	// UserNKey is the public nkey of the one user that may connect
	// (Credentials.Public). Empty means no authentication at all: only the
	// tests' throwaway servers (internal/natstest) run like that.
	UserNKey string
	// Log receives the server's warnings and errors (its notices at debug
	// level); nil discards them.
	Log *slog.Logger
}

// CheckListen validates a listen address as Config.Listen takes it.
func CheckListen(addr string) error {
	if addr == "-" {
		return nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port, or - for no port", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if host == "" {
		return fmt.Errorf("%q: name the interface, such as 127.0.0.1:%s (an empty host listens on every interface)", addr, port)
	}
	return nil
}

// Start starts the server and waits until it accepts connections, it fails
// (the error is the server's own: the port is taken, the store cannot be
// written, …), or ctx ends.
func Start(ctx context.Context, c Config) (*server.Server, error) {
	opts := &server.Options{
		ServerName: c.ServerName,
		JetStream:  true,
		StoreDir:   c.StoreDir,
		NoSigs:     true,
		MaxPayload: 1 << 20,
		SyncAlways: true,
	}
	if c.MaxStore > 0 {
		opts.JetStreamMaxStore = c.MaxStore
	}
	if opts.ServerName == "" {
		opts.ServerName = "jevents-embedded"
	}
	if c.UserNKey != "" {
		opts.Nkeys = []*server.NkeyUser{{Nkey: c.UserNKey}}
	}
	if err := CheckListen(c.Listen); err != nil {
		return nil, fmt.Errorf("embednats: listen address %w", err)
	}
	if c.Listen == "-" {
		opts.DontListen = true
	} else {
		host, port, _ := net.SplitHostPort(c.Listen)
		p, _ := strconv.Atoi(port)
		if p == 0 {
			p = server.RANDOM_PORT
		}
		opts.Host, opts.Port = host, p
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embednats: %w", err)
	}
	lg := newLogger(c.Log)
	// Debug and trace stay off whatever the service's level: they log
	// every protocol message.
	ns.SetLogger(lg, false, false)
	// Shutdown must not run beside Start (the server's own state races), so
	// a start that fails or is interrupted waits for Start to return first:
	// it does once JetStream is recovered and the listeners are up or have
	// failed, which our logger reports instead of exiting.
	started := make(chan struct{})
	go func() {
		defer close(started)
		ns.Start()
	}()
	stop := func() {
		<-started
		ns.Shutdown()
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-lg.fatal:
			stop()
			return nil, fmt.Errorf("embednats: %w", err)
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("embednats: start interrupted: %w", context.Cause(ctx))
		case <-tick.C:
			// The server enables JetStream (recovering the streams) before
			// it listens; a failure of either is reported through Fatalf
			// above, so this only says whether all is up yet.
			if ns.ReadyForConnections(time.Millisecond) {
				return ns, nil
			}
		}
	}
}
