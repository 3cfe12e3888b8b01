package notify

import (
	"strings"
	"testing"
)

// TestEveryKindRenders: every kind has a subject, a text and an HTML part,
// and people's text stays text in each (the HTML part escapes markup; the
// subject is one line).
func TestEveryKindRenders(t *testing.T) {
	v := view{Site: "https://events.example.org", ID: "c1", Title: "Summit <script>x</script>\r\nBcc: evil@example.org",
		When: "2030-06-12", Where: "Baltimore, MD, US", Name: "Pat", Reason: "<b>no</b>", PageURL: "https://events.example.org/conferences/c1",
		FeedURL: "f", CalendarURL: "c", PrivateURL: "https://events.example.org/organiser/tok", QueueURL: "q",
		Changes: []Change{{Label: "Title", Before: "Old <i>", After: "New <i>"}}, Report: &ReportView{Reason: "Other", Text: "t"}}
	for _, kind := range Kinds {
		m := Mail{Kind: kind}
		if err := render(&m, v); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") || strings.TrimSpace(m.Text) == "" {
			t.Fatalf("%s: subject %q text %q", kind, m.Subject, m.Text)
		}
		if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>no") || strings.Contains(m.HTML, "<i>") {
			t.Fatalf("%s: markup from people's text in the HTML part:\n%s", kind, m.HTML)
		}
	}
}
