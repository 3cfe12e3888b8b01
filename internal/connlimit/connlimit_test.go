package connlimit_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/connlimit"
)

// serve starts an HTTP server on loopback behind the limits.
func serve(t *testing.T, cfg connlimit.Config) (*connlimit.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := connlimit.New(ln, cfg, nil)
	srv := &http.Server{
		Handler:           http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") }),
		ReadHeaderTimeout: time.Minute,
		IdleTimeout:       time.Minute,
		ConnState:         l.ConnState,
	}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l, ln.Addr().String()
}

// dial opens a connection from a loopback source address (Linux routes
// all of 127.0.0.0/8 to the loopback interface).
func dial(t *testing.T, from, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatalf("dial from %s: %v", from, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one request on c and returns the status.
func get(t *testing.T, c net.Conn) int {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return 0
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// readStatus reads an answer the server sends without being asked (a
// refusal).
func readStatus(t *testing.T, c net.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

func waitOpen(t *testing.T, l *connlimit.Listener, n int) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); l.Open() != n; {
		if time.Now().After(end) {
			t.Fatalf("%d connections open, want %d", l.Open(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLimits: per address, then in total, connections past a limit are
// answered at once (429, 503) and closed; a trusted proxy is not limited
// per address; closed connections free their place.
func TestLimits(t *testing.T) {
	l, addr := serve(t, connlimit.Config{Max: 6, PerAddress: 3, BusyIdle: time.Minute, Pressure: 1,
		Exempt: func(a netip.Addr) bool { return a == netip.MustParseAddr("127.0.0.9") }})
	var held []net.Conn
	for range 3 {
		c := dial(t, "127.0.0.2", addr)
		if got := get(t, c); got != 200 {
			t.Fatalf("within the per-address limit: %d", got)
		}
		held = append(held, c)
	}
	if got := readStatus(t, dial(t, "127.0.0.2", addr)); !strings.Contains(got, "429") {
		t.Fatalf("fourth from one address: %q", got)
	}
	for range 3 {
		held = append(held, dial(t, "127.0.0.9", addr)) // a trusted proxy
	}
	waitOpen(t, l, 6)
	if got := readStatus(t, dial(t, "127.0.0.3", addr)); !strings.Contains(got, "503") {
		t.Fatalf("past the total: %q", got)
	}
	held[0].Close()
	waitOpen(t, l, 5)
	if got := get(t, dial(t, "127.0.0.3", addr)); got != 200 {
		t.Fatalf("after one closed: %d", got)
	}
}

// TestShortIdleUnderPressure: idle keep-alive connections (and ones that
// never send a request) are dropped after BusyIdle once the listener is
// under pressure, not after the server's minute.
func TestShortIdleUnderPressure(t *testing.T) {
	l, addr := serve(t, connlimit.Config{Max: 10, BusyIdle: 300 * time.Millisecond, Pressure: 0.3})
	quiet := dial(t, "127.0.0.2", addr) // before any pressure: the server's timeouts
	idle := dial(t, "127.0.0.2", addr)
	if got := get(t, idle); got != 200 {
		t.Fatal(got)
	}
	waitOpen(t, l, 2)
	for range 2 { // 4 of 10: pressure
		dial(t, "127.0.0.3", addr)
	}
	waitOpen(t, l, 4)
	start := time.Now()
	for _, c := range []net.Conn{idle, quiet} {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("the server sent something")
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("idle connections dropped after %v", d)
	}
	waitOpen(t, l, 0)
}
