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
		{Topics: []string{"courts"}},
		{Topics: []string{"courts", "reentry"}, Regions: []string{"MD", "VA"}},
		{Sponsors: []string{"ovc", "National Center for State Courts & Co"}, Words: []string{"human", "trafficking"}},
		{Topics: []string{"courts"}, Regions: []string{"DC"}, Sponsors: []string{"a=b?c"}, Words: []string{"e-filing"}},
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
