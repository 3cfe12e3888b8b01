package syndcheck

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Receiver is a webhook receiving server in node that verifies every
// request with the Standard Webhooks reference implementation
// (checkers/webhook-receiver.mjs); it can be stopped and started again on
// the same port, and keeps what it received in a file across restarts.
type Receiver struct {
	t      testing.TB
	node   string
	Port   int
	secret string
	file   string
	cmd    *exec.Cmd
	// Hold, when set before Start, is how long each request is held
	// before it is recorded and answered (a slow receiver); Arrivals
	// counts the requests that came, held or not yet answered included.
	Hold time.Duration
}

// Received is one request the receiver took.
type Received struct {
	ID        string          `json:"id"`
	Verified  bool            `json:"verified"`
	Duplicate bool            `json:"duplicate"`
	Error     string          `json:"error"`
	Body      json.RawMessage `json:"body"`
}

// FreePort reserves a free port on 127.0.0.1 for a receiver (a target is
// registered before its secret, which the receiver needs, is known).
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// NewReceiver is a receiver on port verifying with secret (whsec_…);
// Start starts it.
func NewReceiver(t testing.TB, port int, secret string) *Receiver {
	t.Helper()
	r := &Receiver{t: t, node: Node(t, "standardwebhooks"), Port: port, secret: secret, file: filepath.Join(t.TempDir(), "received.jsonl")}
	t.Cleanup(r.Stop)
	return r
}

// URL is where the receiver listens.
func (r *Receiver) URL() string { return "http://127.0.0.1:" + strconv.Itoa(r.Port) + "/hook" }

// Start starts the receiver and waits until it listens.
func (r *Receiver) Start() {
	r.t.Helper()
	cmd := exec.Command(r.node, filepath.Join(Checkers(), "webhook-receiver.mjs"), strconv.Itoa(r.Port), r.secret, r.file,
		strconv.FormatInt(r.Hold.Milliseconds(), 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		r.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(out).ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "listening" {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			r.t.Fatalf("webhook receiver did not start: %q %s", s, stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		r.t.Fatalf("webhook receiver did not start: %s", stderr.String())
	}
	r.cmd = cmd
}

// Stop stops the receiver (SIGTERM) and waits for it.
func (r *Receiver) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(os.Interrupt)
	_ = r.cmd.Process.Kill()
	_ = r.cmd.Wait()
	r.cmd = nil
}

// Arrivals is how many requests arrived while Hold was set (recorded or
// still held).
func (r *Receiver) Arrivals() int {
	b, err := os.ReadFile(r.file + ".arrivals")
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// Received reads everything the receiver took, in arrival order.
func (r *Receiver) Received() []Received {
	r.t.Helper()
	b, err := os.ReadFile(r.file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		r.t.Fatal(err)
	}
	var out []Received
	for _, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var rc Received
		if err := json.Unmarshal(line, &rc); err != nil {
			r.t.Fatalf("receiver line %q: %v", line, err)
		}
		out = append(out, rc)
	}
	return out
}
