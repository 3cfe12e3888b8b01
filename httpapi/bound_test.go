package httpapi_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
)

// TestErrorBodiesStaySmall: whatever a request makes an error echo (long
// field names, values full of characters JSON escapes, hundreds of
// problems), the problem document stays within a few kilobytes.
func TestErrorBodiesStaySmall(t *testing.T) {
	hostile := strings.Repeat("<\x01\"\\é", 4_000)
	var ve domain.ValidationError
	for range 60 {
		ve.Add("topics["+hostile+"]", "unknown", "%q is not a topic of the calendar", hostile)
	}
	for _, err := range []error{
		&ve,
		&httpapi.Error{Status: 400, Title: "Unknown field", Detail: "json: unknown field " + hostile},
		errors.New(hostile),
	} {
		r := httptest.NewRequest("POST", "/api/v1/conferences/"+strings.Repeat("x", 5000), nil)
		w := httptest.NewRecorder()
		httpapi.WriteError(w, r, slog.New(slog.NewTextHandler(io.Discard, nil)), err)
		if n := w.Body.Len(); n > 16<<10 {
			t.Errorf("%d-byte answer to %T", n, err)
		}
		if w.Code == http.StatusOK {
			t.Error("no error status")
		}
	}
}
