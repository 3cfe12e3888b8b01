package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/internal/mailpittest"
)

var privateLinkInMail = regexp.MustCompile(`https://events\.test(/organiser/[A-Za-z0-9_.-]+)`)

// testPrivateLinkAcrossRoles: the private link the notifier process signed
// into a receipt opens the organiser's page on the intake process, through
// the proxy (deploy/caddy routes /organiser/* to intake): both read the same
// --server-secret-file; a tampered link is refused there.
func testPrivateLinkAcrossRoles(t *testing.T, mail *mailpittest.Server, px *webProxy) {
	var link string
	deadline := time.Now().Add(30 * time.Second)
	for link == "" {
		for _, s := range mail.Search(`subject:"We received your conference"`) {
			if m := privateLinkInMail.FindStringSubmatch(mail.Message(s.ID).Text); m != nil {
				link = m[1]
				break
			}
		}
		if link == "" {
			if time.Now().After(deadline) {
				t.Fatal("no receipt with a private link arrived")
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	c := px.client("")
	st, body := send(t, c, http.MethodGet, px.url(link), nil)
	if st != http.StatusOK || !strings.Contains(body, "Your conference:") {
		t.Fatalf("the private page through the proxy: %d %s", st, body)
	}
	if st, body := send(t, c, http.MethodGet, px.url(link[:len(link)-4]+"AAAA"), nil); st != http.StatusForbidden || !strings.Contains(body, "This link does not work") {
		t.Fatalf("a tampered link: %d %s", st, body)
	}
}
