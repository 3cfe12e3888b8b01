package service_test

import (
	"net/http"
	"testing"
)

// TestWrongTokenIsToldSo: a request without a token is told one is
// required; one with a token that is no editor's is told it was not
// accepted, so that nobody goes looking for a token they already send.
func TestWrongTokenIsToldSo(t *testing.T) {
	a := startApp(t, t.TempDir())
	rec := a.submit(validSubmission(), "wrong-token")
	for _, tc := range []struct {
		name   string
		header map[string]string
		title  string
	}{
		{"no token", nil, "Editor token required"},
		{"wrong token", map[string]string{"Authorization": "Bearer wrong-token-0123456789"}, "Editor token not accepted"},
		{"not a bearer token", map[string]string{"Authorization": editorToken}, "Editor token not accepted"},
	} {
		for _, req := range [][2]string{{"POST", "/api/v1/conferences/" + rec.ID + "/approve"}, {"GET", "/api/v1/moderation/queue"}} {
			r := a.do(req[0], req[1], tc.header, nil)
			var p struct {
				Title  string `json:"title"`
				Status int    `json:"status"`
			}
			r.json(t, &p)
			if r.status != http.StatusUnauthorized || p.Status != 401 || p.Title != tc.title || r.header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s, %s %s: %d %q, want 401 %q", tc.name, req[0], req[1], r.status, p.Title, tc.title)
			}
		}
	}
}
