package service

import (
	"fmt"
	"net/netip"
	"net/url"
	"strings"

	"github.com/justiceevents/jevents/internal/auth"
	"github.com/justiceevents/jevents/producers/intake"
	"github.com/justiceevents/jevents/producers/moderation"
	"github.com/justiceevents/jevents/producers/organisers"
	"github.com/justiceevents/jevents/producers/resources"
	"github.com/justiceevents/jevents/projections/calendar"
	"github.com/justiceevents/jevents/projections/engine"
	"github.com/justiceevents/jevents/projections/feeds"
	"github.com/justiceevents/jevents/reactors/notify"
	"github.com/justiceevents/jevents/web"
)

// The HTML pages' part of the wiring. One web.Server per process renders
// the pages of every role it plays:
//
//	feeds    GET /, /conferences/{id}, /resources…, /assets/…  (read pages)
//	intake   /submit…                                          ("Add your conference")
//	         /organiser/{token}…                                (the organiser's private page)
//	editors  /moderation…                                      (sign-in, queue, decisions, edits)
//
// A reverse proxy in front of a cluster routes /submit to intake and
// /moderation to editors (deploy/README.md); a process serving forms but
// not the read pages serves the stylesheet itself.

// registerPages builds the pages for the roles played (the arguments of
// the roles not played are nil) and registers their routes, with the
// feeds' routes, which hand /conferences/{id} to a page.
func (s *Service) registerPages(cal *engine.Replica[calendar.Conference], d *directoryModel,
	gate *auth.Gate, in *intake.Intake, mod *moderation.Moderation, fs *feeds.Server, rep web.Reporter, rm web.ReportModerator,
	org *organisers.Organisers) error {
	if cal == nil || d == nil {
		return nil
	}
	pub, err := url.Parse(s.cfg.PublicURL)
	if err != nil {
		return err
	}
	page := resources.Published()
	intros := map[string]string{}
	for _, sec := range page.Sections {
		intros[sec.Topic] = sec.Intro
	}
	cfg := web.Config{PublicURL: pub, TopicIntros: intros, Closing: page.Closing, Clients: s.clients, EmbedOrigins: s.cfg.EmbedOrigins}
	if fs != nil {
		cfg.Feeds = fs
	}
	ws, err := web.New(cfg, d.index, cal, s.log, web.NewMetrics(s.registry))
	if err != nil {
		return err
	}
	s.pages = ws
	d.replica.OnChange(ws.DirectoryChanged)
	d.replica.OnReset(ws.Reset)
	cal.OnChange(ws.ConferenceChanged)
	cal.OnReset(ws.Reset)
	if fs != nil {
		s.addRoutes(ws.Routes(), fs.Routes(ws.ConferencePage()))
	} else {
		s.addRoutes(ws.AssetRoutes())
	}
	if in != nil {
		s.addRoutes(ws.SubmitRoutes(in))
	}
	if rep != nil {
		s.addRoutes(ws.ReportRoutes(rep))
	}
	if org != nil {
		s.addRoutes(ws.OrganiserRoutes(org)) // the organisers' private pages
	}
	if mod != nil && gate != nil {
		ws.SetDeadLetters(deadLetterPages{notify.NewDeadLetters(s.js)}) // notifier.go
		s.addRoutes(ws.ModerationRoutes(mod, gate, rm))
	}
	return nil
}

// ParseEmbedOrigins reads --embed-origins: comma-separated origins
// (https://partner.example) allowed to frame /embed; empty: any.
func ParseEmbedOrigins(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		u, err := url.Parse(f)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" ||
			u.User != nil || u.Fragment != "" || strings.ContainsAny(f, " ;'\"") {
			return nil, fmt.Errorf("--embed-origins: %q is not an origin like https://partner.example", f)
		}
		out = append(out, u.Scheme+"://"+u.Host)
	}
	return out, nil
}

// ParseTrustedProxies reads --trusted-proxies: comma-separated addresses
// or CIDR prefixes (10.0.0.0/8, 192.0.2.7, fd00::/8).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("--trusted-proxies: %q is neither an address nor a CIDR prefix", f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
