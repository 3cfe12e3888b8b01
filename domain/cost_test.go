package domain

import (
	"slices"
	"testing"
)

func TestPrices(t *testing.T) {
	p := func(a, c string) Price { return Price{Amount: a, Currency: c} }
	tests := []struct {
		name, cost, country string
		want                []Price
	}{
		{"free", "free", "US", []Price{p("0", "USD")}},
		{"free in Germany", "free", "DE", []Price{p("0", "EUR")}},
		{"free online", "free", "", []Price{p("0", "USD")}},
		{"code before", "USD 150", "", []Price{p("150", "USD")}},
		{"code after", "150 EUR", "US", []Price{p("150", "EUR")}},
		{"dollar sign with a note", "$150 members", "US", []Price{p("150", "USD")}},
		{"dollar in Canada", "$150", "CA", []Price{p("150", "CAD")}},
		{"dollar in Germany is USD", "$150", "DE", []Price{p("150", "USD")}},
		{"signed dollar", "CA$150 / US$120", "US", []Price{p("150", "CAD"), p("120", "USD")}},
		{"several", "$350; students $100", "US", []Price{p("350", "USD"), p("100", "USD")}},
		{"free and a price", "Free for members, $50 others", "US", []Price{p("0", "USD"), p("50", "USD")}},
		{"thousands", "$1,250.50 early, $1,500 late", "US", []Price{p("1250.50", "USD"), p("1500", "USD")}},
		{"european", "1.250,00 € / 90€", "DE", []Price{p("1250.00", "EUR"), p("90", "EUR")}},
		{"pound", "£95 + VAT", "GB", []Price{p("95", "GBP")}},
		{"yen", "¥5000", "JP", []Price{p("5000", "JPY")}},
		{"no currency", "150 for members", "US", nil},
		{"a year and credits", "Included; 2027 edition, 12 CEU", "US", nil},
		{"words", "sliding scale, contact us", "US", nil},
		{"unknown code", "ABC 150", "US", nil},
		{"amount glued to letters", "$150k sponsorship", "US", nil},
		{"freedom is not free", "Freedom Fund members", "US", nil},
		{"empty", "", "US", nil},
		{"hostile", `</script><script>alert(1)</script> $10 "quoted"`, "US", []Price{p("10", "USD")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Prices(tt.cost, tt.country); !slices.Equal(got, tt.want) {
				t.Errorf("Prices(%q, %q) = %v, want %v", tt.cost, tt.country, got, tt.want)
			}
		})
	}
}

func FuzzPrices(f *testing.F) {
	for _, s := range []string{"free", "$350; students $100", "1.250,00 €", "USD 1,250.50", "¥", "$"} {
		f.Add(s, "US")
	}
	f.Fuzz(func(t *testing.T, cost, country string) {
		for _, p := range Prices(cost, country) {
			if p.Amount == "" || len(p.Currency) != 3 {
				t.Fatalf("Prices(%q) gave %v", cost, p)
			}
			for _, r := range p.Amount {
				if (r < '0' || r > '9') && r != '.' {
					t.Fatalf("Prices(%q) amount %q", cost, p.Amount)
				}
			}
		}
	})
}
