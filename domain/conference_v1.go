package domain

// The first schema of the conference events (conference.submitted.v1,
// conference.updated.v1), frozen: logs written by it replay forever, read
// through these copies of its payloads and upcast to the current ones
// with the fields it did not have left unset (no event type, cost,
// registration or credits stated). Never change these types.

const (
	TypeConferenceSubmittedV1 = "conference.submitted.v1"
	TypeConferenceUpdatedV1   = "conference.updated.v1"
)

type conferenceSubmittedV1 struct {
	Details     conferenceDetailsV1 `json:"details"`
	Contact     contactV1           `json:"contact"`
	Source      string              `json:"source,omitempty"`
	RequestHash string              `json:"request_hash"`
}

type conferenceUpdatedV1 struct {
	Details conferenceDetailsV1 `json:"details"`
	Changed []string            `json:"changed"`
}

type conferenceDetailsV1 struct {
	Title       string      `json:"title"`
	Description string      `json:"description,omitempty"`
	AllDay      bool        `json:"all_day"`
	Start       string      `json:"start"`
	End         string      `json:"end"`
	Timezone    string      `json:"timezone,omitempty"`
	Format      string      `json:"format"`
	Location    locationV1  `json:"location"`
	URL         string      `json:"url,omitempty"`
	Sponsors    []sponsorV1 `json:"sponsors,omitempty"`
	Topics      []string    `json:"topics"`
}

type locationV1 struct {
	Venue   string `json:"venue,omitempty"`
	City    string `json:"city,omitempty"`
	Region  string `json:"region,omitempty"`
	Country string `json:"country,omitempty"`
}

type sponsorV1 struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

type contactV1 struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email"`
}

func (v conferenceDetailsV1) upcast() ConferenceDetails {
	d := ConferenceDetails{
		Title: v.Title, Description: v.Description, AllDay: v.AllDay, Start: v.Start, End: v.End,
		Timezone: v.Timezone, Format: Format(v.Format), URL: v.URL, Topics: v.Topics,
		Location: Location{Venue: v.Location.Venue, City: v.Location.City, Region: v.Location.Region, Country: v.Location.Country},
	}
	if v.Sponsors != nil {
		d.Sponsors = make([]Sponsor, len(v.Sponsors))
		for i, s := range v.Sponsors {
			d.Sponsors[i] = Sponsor{ID: s.ID, Name: s.Name}
		}
	}
	return d
}

func init() {
	upcast(TypeConferenceSubmittedV1, func(v conferenceSubmittedV1) Event {
		return ConferenceSubmitted{Details: v.Details.upcast(), Contact: Contact{Name: v.Contact.Name, Email: v.Contact.Email},
			Source: v.Source, RequestHash: v.RequestHash}
	})
	upcast(TypeConferenceUpdatedV1, func(v conferenceUpdatedV1) Event {
		return ConferenceUpdated{Details: v.Details.upcast(), Changed: v.Changed}
	})
}
