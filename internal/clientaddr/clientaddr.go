// Package clientaddr owns one question: which client a request comes from.
// Every per-client limit of Justice Events asks it — the intake gate
// (internal/admission), the forms, the editors' token throttle and the
// connection limits — so that they all agree on who "one client" is.
//
// The connection's peer is the client unless it is a trusted reverse proxy
// (--trusted-proxies); then the client is the right-most address of
// X-Forwarded-For that is not a trusted proxy: each proxy appends the
// address it received from, so the addresses left of the first untrusted
// one may be forged. Without trusted proxies X-Forwarded-For is ignored
// (anyone can write it). An IPv6 client counts as its /64, which one
// subscriber usually holds whole (Key).
//
// It imports nothing of ours.
package clientaddr

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// Resolver finds a request's client. The zero Resolver trusts no proxy.
// It is immutable and safe for concurrent use.
type Resolver struct {
	trusted []netip.Prefix
}

// New returns a resolver that believes the X-Forwarded-For of the given
// proxies.
func New(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: trusted}
}

// Client is the address a request comes from; the zero Addr when the
// connection's address cannot be read (never for a TCP listener).
func (r *Resolver) Client(req *http.Request) netip.Addr {
	peer := Peer(req.RemoteAddr)
	if !peer.IsValid() || !r.Trusted(peer) {
		return peer
	}
	hops := strings.Split(strings.Join(req.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // a garbled hop: trust nothing to its left
		}
		a = a.Unmap()
		if !r.Trusted(a) {
			return a
		}
		peer = a
	}
	return peer
}

// Trusted reports whether a is one of the trusted proxies.
func (r *Resolver) Trusted(a netip.Addr) bool {
	if r == nil {
		return false
	}
	for _, p := range r.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Peer parses a connection's remote address ("host:port").
func Peer(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

// Key is the address limits count a client under: IPv4 addresses as they
// are, IPv6 addresses by their /64.
func Key(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}
