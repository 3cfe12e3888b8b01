package web

import (
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/clientaddr"
)

// TestClientAddr: X-Forwarded-For counts only when the peer is a trusted
// proxy, and then its right-most untrusted address is the client's.
func TestClientAddr(t *testing.T) {
	pub, _ := url.Parse("https://events.example")
	trusting := &Server{cfg: Config{PublicURL: pub}, clients: clientaddr.New([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")})}
	plain := &Server{cfg: Config{PublicURL: pub}, clients: clientaddr.New(nil)}
	for _, tc := range []struct {
		name   string
		s      *Server
		remote string
		xff    []string
		want   string
	}{
		{"no proxy", plain, "192.0.2.1:5000", nil, "192.0.2.1"},
		{"forged header, no proxy", plain, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"untrusted peer", trusting, "192.0.2.1:5000", []string{"203.0.113.9"}, "192.0.2.1"},
		{"one trusted proxy", trusting, "10.0.0.2:5000", []string{"203.0.113.9"}, "203.0.113.9"},
		{"forged left part", trusting, "10.0.0.2:5000", []string{"198.51.100.1, 203.0.113.9"}, "203.0.113.9"},
		{"two trusted proxies", trusting, "10.0.0.2:5000", []string{"203.0.113.9, 10.1.1.1"}, "203.0.113.9"},
		{"two headers", trusting, "10.0.0.2:5000", []string{"198.51.100.1", "203.0.113.9"}, "203.0.113.9"},
		{"garbled hop", trusting, "10.0.0.2:5000", []string{"203.0.113.9, bogus"}, "10.0.0.2"},
		{"all trusted", trusting, "10.0.0.2:5000", []string{"10.3.3.3"}, "10.3.3.3"},
		{"IPv6 proxy", trusting, "[fd00::1]:5000", []string{"2001:db8::7"}, "2001:db8::7"},
		{"mapped IPv4 peer", plain, "[::ffff:192.0.2.1]:5000", nil, "192.0.2.1"},
	} {
		r := httptest.NewRequest("POST", "/submit", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := tc.s.clientAddr(r); got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestLimiter: a burst, then one post per interval; an IPv6 /64 shares a
// bucket (its memory bound: internal/ratelimit).
func TestLimiter(t *testing.T) {
	l := newLimiter(Limit{Burst: 3, Every: time.Minute})
	now := time.Now()
	a := netip.MustParseAddr("192.0.2.1")
	for i := range 3 {
		if ok, _ := l.allow(a, now); !ok {
			t.Fatalf("post %d of the burst refused", i)
		}
	}
	ok, wait := l.allow(a, now)
	if ok || wait <= 0 || wait > time.Minute {
		t.Fatalf("past the burst: %v %v", ok, wait)
	}
	if ok, _ := l.allow(netip.MustParseAddr("192.0.2.2"), now); !ok {
		t.Fatal("another address is limited")
	}
	if ok, _ := l.allow(a, now.Add(61*time.Second)); !ok {
		t.Fatal("no token after the interval")
	}
	if ok, _ := l.allow(a, now.Add(62*time.Second)); ok {
		t.Fatal("two tokens after one interval")
	}
	v6 := netip.MustParseAddr("2001:db8:1:2::1")
	for range 3 {
		l.allow(v6, now)
	}
	if ok, _ := l.allow(netip.MustParseAddr("2001:db8:1:2:ffff::9"), now); ok {
		t.Fatal("another address of the same /64 has its own bucket")
	}
	if ok, _ := l.allow(netip.MustParseAddr("2001:db8:1:3::1"), now); !ok {
		t.Fatal("another /64 is limited")
	}
}
