package feeds

import (
	"net/url"
	"reflect"
	"testing"
)

// TestFilterQueryRoundTrip: what AddQuery writes, ParseQuery reads back as
// the same filter, through a real query string, so feed addresses and the
// pages' links name the selection they were made from.
func TestFilterQueryRoundTrip(t *testing.T) {
	for _, f := range []Filter{
		{},
		Facet("topic", "courts"),
		{Terms: map[string][]string{"topic": {"courts", "reentry"}, "region": {"MD", "VA"}}},
		{Sponsors: []string{"ovc", "National Center for State Courts & Co"}, Words: []string{"human", "trafficking"}},
		{Terms: map[string][]string{"topic": {"courts"}, "region": {"DC"}, "type": {"training", "webinar"}}, Sponsors: []string{"a=b?c"}, Words: []string{"e-filing"}},
		Facet("type", "hearing"),
	} {
		q := url.Values{}
		f.AddQuery(q)
		back, err := url.ParseQuery(q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseQuery(back)
		if err != nil || !reflect.DeepEqual(got, f) {
			t.Errorf("%+v → %q → %+v (%v)", f, q.Encode(), got, err)
		}
	}
}
