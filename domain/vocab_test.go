package domain_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/justiceevents/jevents/domain"
)

// TestTopicsSameRulesForConferencesAndResources: the one topic rule gives a
// conference and a resource the same slugs and the same refusals.
func TestTopicsSameRulesForConferencesAndResources(t *testing.T) {
	nine := make([]string, 9)
	for i := range nine {
		nine[i] = domain.Topics[i%len(domain.Topics)].Slug
	}
	allDay := true
	for _, tc := range []struct {
		name    string
		in      []string
		want    []string
		wantErr []string
	}{
		{name: "slugs and labels, repeats dropped", in: []string{"courts", "Courts", domain.Topics[0].Label},
			want: []string{"courts", domain.Topics[0].Slug}},
		{name: "none", in: nil, wantErr: []string{"topics:required"}},
		{name: "unknown", in: []string{"courts", "astrology"}, wantErr: []string{"topics[1]:unknown"}},
		{name: "too many", in: nine, wantErr: []string{"topics:too_many"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conf := domain.SubmissionInput{Title: "Topics", Start: "2030-06-12", End: "2030-06-12", AllDay: &allDay,
				Format: "online", URL: "https://example.org/c", Topics: tc.in,
				Contact: &domain.Contact{Name: "Pat", Email: "pat@example.org"}}
			d, cerr := domain.ValidateDetails(conf, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
			res := validResource()
			res.Topics = tc.in
			r, rerr := domain.ValidateResource(res)
			cf, rf := topicCodes(fieldCodes(t, cerr)), topicCodes(fieldCodes(t, rerr))
			if !slices.Equal(cf, tc.wantErr) || !slices.Equal(rf, tc.wantErr) {
				t.Fatalf("refusals: conference %v, resource %v, want %v", cf, rf, tc.wantErr)
			}
			if tc.wantErr == nil && (!slices.Equal(d.Topics, tc.want) || !slices.Equal(r.Topics, tc.want)) {
				t.Fatalf("topics: conference %v, resource %v, want %v", d.Topics, r.Topics, tc.want)
			}
		})
	}
}

func topicCodes(fields []string) []string {
	var out []string
	for _, f := range fields {
		if strings.HasPrefix(f, "topics") {
			out = append(out, f)
		}
	}
	return out
}
