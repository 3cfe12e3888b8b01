package webhooks

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// cgnat is the shared address space (RFC 6598), private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// checkIP refuses an address a webhook may not reach: loopback, private,
// link-local, unspecified, multicast, shared (CGNAT).
func checkIP(ip netip.Addr) error {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback(), ip.IsPrivate(), ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast(),
		ip.IsInterfaceLocalMulticast(), ip.IsUnspecified(), ip.IsMulticast(), cgnat.Contains(ip):
		return fmt.Errorf("%s is a loopback, private, link-local, unspecified or multicast address: refused (operators may allow it with --webhook-allow-private)", ip)
	}
	return nil
}

// checkHost refuses a literal address checkIP refuses; a name passes here
// (it is checked when the connection is made, after resolution).
func checkHost(host string) error {
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil
	}
	return checkIP(ip)
}

// errRefused marks a connection refused by the address rule.
type errRefused struct{ err error }

func (e errRefused) Error() string { return e.err.Error() }

// newClient is the deliveries' HTTP client: the address rule is checked
// in the dialer's Control hook, on the address actually dialled, after
// DNS resolution (a name that resolves to 127.0.0.1 is refused like the
// literal); no proxy from the environment, no redirects (a 3xx is a
// failed delivery), a bounded request.
func newClient(cfg Config) *http.Client {
	d := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second}
	if !cfg.AllowPrivate {
		d.Control = func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return errRefused{fmt.Errorf("webhooks: dial %s: not an address", address)}
			}
			if err := checkIP(ap.Addr()); err != nil {
				return errRefused{err}
			}
			return nil
		}
	}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
	}
	return &http.Client{Transport: tr, Timeout: cfg.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
