// Package domain is the vocabulary of Justice Events: conferences and
// directory resources, the events that change them, the rules a command must
// pass, and the names under which events are stored.
//
// It owns
//   - event type names, versioned and never derived from Go type names
//     (conference.submitted.v1, …), and the JSON envelope every event is
//     stored in; a new payload shape is a new version, and older versions
//     are upcast to the current payload when read (event.go), never
//     rewritten;
//   - stream and subject names: one subject per aggregate with the event's
//     short name as last token (events.conference.<id>.submitted);
//   - the conference aggregate: its states, its transitions and the
//     decisions an editor may take on it, and the organiser's requests
//     (withdraw, ask for cancellation, propose changes) with the editors'
//     answers (organiser.go);
//   - the resource aggregate of the directory (resource.go): its fields,
//     kinds and phone numbers, ids derived from names, and its
//     transitions (added, updated, retired, restored);
//   - validation of everything people type (lengths, dates, time zones,
//     URLs, controlled vocabularies) and the normalisation of untrusted text;
//   - sentinel errors and ValidationError, which adapters map to HTTP
//     statuses and exit codes.
//
// It imports only the standard library and nothing of this module, so it can
// be read on its own.
package domain
