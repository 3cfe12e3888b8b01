package notify

import (
	"log/slog"
	"net/http"

	"github.com/justiceevents/jevents/domain"
	"github.com/justiceevents/jevents/httpapi"
)

// Routes are the editors' routes of the dead letters, served by the
// editors' role (which needs no SMTP: the notifier does the retry).
//
//	GET  /api/v1/notifier/dead-letters             every dead letter, newest first
//	POST /api/v1/notifier/dead-letters/{key}/retry  send it again (202)
//	DELETE /api/v1/notifier/dead-letters/{key}     drop it: it will not be sent (204)
//
// The editors' page (/moderation/mail, web) calls the same methods.
func (d *DeadLetters) Routes(log *slog.Logger) []httpapi.Route {
	return []httpapi.Route{
		{Pattern: "GET /api/v1/notifier/dead-letters", Editors: true, Handler: httpapi.Editor(log, func(w http.ResponseWriter, r *http.Request, _ string) {
			list, err := d.List(r.Context())
			if err != nil {
				httpapi.WriteError(w, r, log, domain.ErrUnavailable)
				return
			}
			if list == nil {
				list = []DeadLetter{}
			}
			httpapi.Write(w, http.StatusOK, map[string]any{"dead_letters": list})
		})},
		{Pattern: "POST /api/v1/notifier/dead-letters/{key}/retry", Editors: true, Handler: httpapi.Editor(log, func(w http.ResponseWriter, r *http.Request, _ string) {
			ok, err := d.Retry(r.Context(), r.PathValue("key"))
			if err != nil {
				httpapi.WriteError(w, r, log, domain.ErrUnavailable)
				return
			}
			if !ok {
				httpapi.WriteError(w, r, log, domain.ErrNotFound)
				return
			}
			httpapi.Write(w, http.StatusAccepted, map[string]any{"key": r.PathValue("key"), "retry": true})
		})},
		{Pattern: "DELETE /api/v1/notifier/dead-letters/{key}", Editors: true, Handler: httpapi.Editor(log, func(w http.ResponseWriter, r *http.Request, editor string) {
			ok, err := d.Drop(r.Context(), r.PathValue("key"))
			if err != nil {
				httpapi.WriteError(w, r, log, domain.ErrUnavailable)
				return
			}
			if !ok {
				httpapi.WriteError(w, r, log, domain.ErrNotFound)
				return
			}
			log.Info("dead letter dropped", slog.String("key", r.PathValue("key")), slog.String("editor", editor))
			w.WriteHeader(http.StatusNoContent)
		})},
	}
}
