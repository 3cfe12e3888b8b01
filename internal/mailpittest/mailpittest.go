// Package mailpittest runs a real SMTP server for tests: mailpit
// (github.com/axllent/mailpit, installed by scripts/deps/70-mailpit.sh),
// started as a process on free ports, and reads what arrived through its
// HTTP API. Tests only; it imports nothing of ours.
package mailpittest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Server is one mailpit process. Stop and Start it to take the SMTP server
// away and back (its store, a file, keeps what arrived).
type Server struct {
	t        testing.TB
	bin      string
	base     []string // the flags of every start
	args     []string
	SMTPAddr string // host:port
	HTTPURL  string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Option adds mailpit flags (--smtp-allowed-recipients=…, TLS, auth).
type Option []string

// Start runs mailpit on free ports until the test ends. It fails the
// test when mailpit is not installed (make test installs it).
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin, err := exec.LookPath("mailpit")
	if err != nil {
		t.Fatalf("mailpit is not installed: run scripts/deps/70-mailpit.sh (make test does): %v", err)
	}
	smtp, web := quietPort(t), freePort(t)
	s := &Server{t: t, bin: bin, SMTPAddr: smtp, HTTPURL: "http://" + web}
	s.args = []string{"--smtp", smtp, "--listen", web, "--database", filepath.Join(t.TempDir(), "mailpit.db"),
		"--max", "0", "--disable-version-check", "--quiet", "--smtp-disable-rdns", "--pop3", "127.0.0.1:0"}
	s.base = s.args
	for _, o := range opts {
		s.args = append(s.args, o...)
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// SMTPURL is the notifier's --smtp-url for this server, without TLS.
func (s *Server) SMTPURL() string { return "smtp://" + s.SMTPAddr + "?tls=none" }

// Start starts the process (again) and waits for its API to answer.
func (s *Server) Start() {
	s.t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start mailpit: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(s.HTTPURL + "/api/v1/info")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if c, err := net.DialTimeout("tcp", s.SMTPAddr, time.Second); err == nil {
					c.Close()
					return
				}
			}
		}
		select {
		case <-s.done:
			s.t.Fatalf("mailpit exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("mailpit did not answer within 20 s: %s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Restart stops the server and starts it again on the same ports and
// store with other options (a server fixed by its operators).
func (s *Server) Restart(opts ...Option) {
	s.t.Helper()
	s.Stop()
	s.args = append([]string(nil), s.base...)
	for _, o := range opts {
		s.args = append(s.args, o...)
	}
	s.Start()
}

// Stop ends the process; no SMTP server answers on its port until Start.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Address is one mailbox of a message.
type Address struct {
	Name    string `json:"Name"`
	Address string `json:"Address"`
}

// Summary is a message as mailpit lists it.
type Summary struct {
	ID        string    `json:"ID"`
	MessageID string    `json:"MessageID"`
	From      Address   `json:"From"`
	To        []Address `json:"To"`
	Subject   string    `json:"Subject"`
}

// Message is one message with its parts.
type Message struct {
	Summary
	Text string `json:"Text"`
	HTML string `json:"HTML"`
	// Headers, as mailpit decodes them.
	Headers map[string][]string `json:"-"`
	// Raw is the message as it arrived.
	Raw string `json:"-"`
}

// Messages lists every message that arrived, newest first.
func (s *Server) Messages() []Summary {
	s.t.Helper()
	var all []Summary
	for start := 0; ; start += 1000 {
		var page struct {
			Total    int       `json:"total"`
			Messages []Summary `json:"messages"`
		}
		s.get("/api/v1/messages?limit=1000&start="+strconv.Itoa(start), &page)
		all = append(all, page.Messages...)
		if len(page.Messages) < 1000 {
			return all
		}
	}
}

// Count is how many messages arrived.
func (s *Server) Count() int {
	s.t.Helper()
	var page struct {
		Total int `json:"total"`
	}
	s.get("/api/v1/messages?limit=1", &page)
	return page.Total
}

// Search lists the messages matching a mailpit search (to:x subject:"y").
func (s *Server) Search(query string) []Summary {
	s.t.Helper()
	var page struct {
		Messages []Summary `json:"messages"`
	}
	s.get("/api/v1/search?limit=1000&query="+url.QueryEscape(query), &page)
	return page.Messages
}

// Message reads one message, its parts, headers and raw source.
func (s *Server) Message(id string) Message {
	s.t.Helper()
	var m Message
	s.get("/api/v1/message/"+url.PathEscape(id), &m)
	s.get("/api/v1/message/"+url.PathEscape(id)+"/headers", &m.Headers)
	m.Raw = string(s.raw("/api/v1/message/" + url.PathEscape(id) + "/raw"))
	return m
}

// WaitCount waits up to d for at least n messages and returns the count.
func (s *Server) WaitCount(n int, d time.Duration) int {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		c := s.Count()
		if c >= n || time.Now().After(deadline) {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// DeleteAll empties the mailbox.
func (s *Server) DeleteAll() {
	s.t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, s.HTTPURL+"/api/v1/messages", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("mailpit: delete all: %v", err)
	}
	resp.Body.Close()
}

func (s *Server) get(path string, v any) {
	s.t.Helper()
	if err := json.Unmarshal(s.raw(path), v); err != nil {
		s.t.Fatalf("mailpit %s: %v", path, err)
	}
}

func (s *Server) raw(path string) []byte {
	s.t.Helper()
	resp, err := http.Get(s.HTTPURL + path)
	if err != nil {
		s.t.Fatalf("mailpit %s: %v", path, err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		s.t.Fatalf("mailpit %s: %s: %s", path, resp.Status, b.String())
	}
	return b.Bytes()
}

// quietPort is a free port outside the kernel's ephemeral range: while the
// server is stopped, clients keep dialling its port, and a dial to a
// closed port in the ephemeral range can connect to itself (TCP
// simultaneous open) and hold the port, so the server could not start
// again.
func quietPort(t testing.TB) string {
	t.Helper()
	lo, hi := 32768, 60999
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		_, _ = fmt.Sscan(string(b), &lo, &hi)
	}
	for range 200 {
		p := 10000 + rand.IntN(20000)
		if p >= lo && p <= hi {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			continue
		}
		l.Close()
		return fmt.Sprintf("127.0.0.1:%d", p)
	}
	return freePort(t)
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
