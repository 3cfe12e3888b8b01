package domain

import (
	"cmp"
	"regexp"
	"slices"
	"strings"

	"github.com/biter777/countries"
)

// Prices read from the cost field, for schema.org offers (web's JSON-LD).
// The cost is free text ("$350; students $100", "USD 150", "€90 members"),
// so the rule is narrow on purpose: an amount is a price only beside a
// currency, never a bare number (which may be a year, a count of credits
// or hours).
//
//   - "free" (the field's own value, or the word in the text) is 0.
//   - A currency is an ISO 4217 code in capitals before or after the
//     amount ("USD 150", "150 EUR"), or a sign before or after it: "US$",
//     "CA$"/"C$", "AU$"/"A$", "NZ$", "R$", "€", "£", "₹", "₩", "¥" (yen,
//     yuan where the conference is in China); "$" alone is the dollar of
//     the conference's country when it has one (Canada, Australia, …),
//     else USD.
//   - Amounts: "1,250", "1,250.50", "150.5", "1.250,00", "150,00".
//
// Free alone, or free beside amounts, takes the currency of those amounts,
// else the country's, else USD (the calendar's home).

// Price is one amount of a cost: Amount as schema.org wants it (digits, a
// "." before decimals, no separators), Currency an ISO 4217 code.
type Price struct {
	Amount   string
	Currency string
}

var (
	costAmount = `(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,3}(?:\.\d{3})+(?:,\d{1,2})?|\d+(?:[.,]\d{1,2})?)`
	costSign   = `US\$|CA\$|C\$|AU\$|A\$|NZ\$|R\$|[$€£¥₹₩]`
	costPrice  = regexp.MustCompile(`(?:(` + costSign + `|\b[A-Z]{3}\b) ?` + costAmount + `(?:\b|$))` +
		`|(?:\b` + costAmount + ` ?(` + costSign + `|\b[A-Z]{3}\b))` +
		`|\b([Ff][Rr][Ee][Ee])\b`)
	costSigns = map[string]string{"US$": "USD", "CA$": "CAD", "C$": "CAD", "AU$": "AUD", "A$": "AUD", "NZ$": "NZD",
		"R$": "BRL", "€": "EUR", "£": "GBP", "₹": "INR", "₩": "KRW"}
)

// CountryCurrency is the ISO 4217 code of a country's currency ("" when
// the country or its currency is unknown).
func CountryCurrency(country string) string {
	if len(country) != 2 {
		return ""
	}
	c := countries.ByName(country).Currency()
	if !c.IsValid() {
		return ""
	}
	return c.Alpha()
}

// Prices reads the prices of a cost, with the conference's country
// (ISO 3166-1 alpha-2, "" unknown) for the currency a sign leaves open.
// It answers nil when the cost names no price it can read.
func Prices(cost, country string) []Price {
	if cost == "" {
		return nil
	}
	home := cmp.Or(CountryCurrency(country), "USD")
	currency := func(mark string) string {
		switch mark {
		case "$":
			if c := CountryCurrency(country); strings.HasSuffix(currencyName(c), "Dollar") {
				return c
			}
			return "USD"
		case "¥":
			if strings.EqualFold(country, "CN") {
				return "CNY"
			}
			return "JPY"
		}
		if c, ok := costSigns[mark]; ok {
			return c
		}
		if c := countries.CurrencyCodeByName(mark); c.IsValid() && c.Alpha() == mark {
			return mark
		}
		return ""
	}
	var out []Price
	free := false
	for _, m := range costPrice.FindAllStringSubmatch(cost, -1) {
		switch {
		case m[5] != "":
			free = true
		case m[1] != "":
			if c := currency(m[1]); c != "" {
				out = append(out, Price{Amount: normalAmount(m[2]), Currency: c})
			}
		case m[4] != "":
			if c := currency(m[4]); c != "" {
				out = append(out, Price{Amount: normalAmount(m[3]), Currency: c})
			}
		}
	}
	if free {
		cur := home
		if len(out) > 0 {
			cur = out[0].Currency
		}
		out = append([]Price{{Amount: "0", Currency: cur}}, out...)
	}
	return out
}

func currencyName(code string) string {
	if code == "" {
		return ""
	}
	return countries.CurrencyCodeByName(code).String()
}

// normalAmount writes an amount with "." before its decimals and no
// thousands separators: "1,250.50" → "1250.50", "1.250,00" → "1250.00",
// "150,5" → "150.5".
func normalAmount(a string) string {
	dec := ""
	if i := strings.LastIndexAny(a, ".,"); i >= 0 && len(a)-i-1 <= 2 {
		a, dec = a[:i], a[i+1:]
	}
	a = strings.NewReplacer(",", "", ".", "").Replace(a)
	a = strings.TrimLeft(a, "0")
	if a == "" {
		a = "0"
	}
	if dec != "" {
		return a + "." + dec
	}
	return a
}

// SameCurrency reports whether the prices share one currency.
func SameCurrency(ps []Price) bool {
	return len(ps) > 0 && !slices.ContainsFunc(ps, func(p Price) bool { return p.Currency != ps[0].Currency })
}
