package clientaddr_test

import (
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/justiceevents/jevents/internal/clientaddr"
)

// TestResolver: X-Forwarded-For counts only from a trusted proxy, and then
// its right-most untrusted hop is the client; an IPv6 client counts as its
// /64.
func TestResolver(t *testing.T) {
	r := clientaddr.New([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
	for _, tc := range []struct {
		remote, xff, want string
	}{
		{"192.0.2.1:5000", "203.0.113.9", "192.0.2.1"},
		{"10.0.0.2:5000", "198.51.100.1, 203.0.113.9", "203.0.113.9"},
		{"10.0.0.2:5000", "203.0.113.9, 10.1.1.1", "203.0.113.9"},
		{"10.0.0.2:5000", "203.0.113.9, bogus", "10.0.0.2"},
		{"[::ffff:192.0.2.1]:5000", "", "192.0.2.1"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = tc.remote
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := r.Client(req); got.String() != tc.want {
			t.Errorf("%s via %q: %s, want %s", tc.remote, tc.xff, got, tc.want)
		}
	}
	if a, b := clientaddr.Key(netip.MustParseAddr("2001:db8:1:2::1")), clientaddr.Key(netip.MustParseAddr("2001:db8:1:2:ffff::9")); a != b {
		t.Errorf("one /64, two keys: %s %s", a, b)
	}
	if k := clientaddr.Key(netip.MustParseAddr("192.0.2.7")); k.String() != "192.0.2.7" {
		t.Errorf("IPv4 key %s", k)
	}
	if (*clientaddr.Resolver)(nil).Trusted(netip.MustParseAddr("10.0.0.1")) {
		t.Error("a nil resolver trusts")
	}
}
