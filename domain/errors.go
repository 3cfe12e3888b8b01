package domain

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Adapters match them with errors.Is and map them to a
// status (internal/httpapi.ProblemFor): ErrNotFound → 404, ErrConflict →
// 409, ErrUnauthorized → 401, ErrIdempotencyMismatch → 422,
// ErrPreconditionRequired → 428, ErrLogFull and ErrStorageFull → 507,
// ErrUnavailable → 503.
var (
	// ErrNotFound: the aggregate does not exist (or is not visible to the caller).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the command was based on a stale version, or the aggregate
	// is in a state that does not allow it (approving a rejected conference).
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized: no or an unknown editor token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrIdempotencyMismatch: an Idempotency-Key was reused for a different request.
	ErrIdempotencyMismatch = errors.New("idempotency key reused for a different request")
	// ErrPreconditionRequired: an edit came without the version it is based on.
	ErrPreconditionRequired = errors.New("precondition required")
	// ErrLogFull: the event log reached its byte budget and refuses new events.
	ErrLogFull = errors.New("event log is full")
	// ErrStorageFull: the storage under the event log (the data volume, or
	// the NATS servers' storage limit) has no room left; nothing was stored.
	ErrStorageFull = errors.New("storage full")
	// ErrUnavailable: the event log cannot be reached right now (the NATS
	// connection is down, the stream is missing or does not answer in time);
	// nothing is known to be stored, and a retry with the same key is safe.
	ErrUnavailable = errors.New("event log unavailable")
)

// FieldError names one invalid field and why it is invalid.
type FieldError struct {
	// Field is the JSON path of the field as the client sent it:
	// "title", "location.region", "topics[2]".
	Field string `json:"field"`
	// Code is a stable machine-readable reason: "required", "too_long",
	// "invalid", "unknown", "out_of_range".
	Code string `json:"code"`
	// Message is a human sentence.
	Message string `json:"message"`
}

// ValidationError lists every invalid field of one request.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + ": " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Add records one field error.
func (e *ValidationError) Add(field, code, format string, args ...any) {
	e.Fields = append(e.Fields, FieldError{Field: field, Code: code, Message: fmt.Sprintf(format, args...)})
}

// Err returns e when it holds field errors and nil otherwise, so that a
// validator can end with "return v, errs.Err()".
func (e *ValidationError) Err() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// TransitionError says why a command does not apply to the aggregate's
// current state. It matches ErrConflict.
type TransitionError struct {
	Command string
	Status  Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("cannot %s a conference that is %s", e.Command, e.Status)
}

// Is makes a TransitionError match ErrConflict.
func (e *TransitionError) Is(target error) bool { return target == ErrConflict }

// VersionError says that a command was based on a version that is no longer
// current. It matches ErrConflict.
type VersionError struct {
	Expected uint64
	Current  uint64
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("version %d is stale: the current version is %d", e.Expected, e.Current)
}

// Is makes a VersionError match ErrConflict.
func (e *VersionError) Is(target error) bool { return target == ErrConflict }
