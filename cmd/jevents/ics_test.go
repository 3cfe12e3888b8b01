package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCLISubmitICS: `jevents submit FILE.ics` sends the file as
// text/calendar with the .ics flags as query parameters; every VEVENT
// becomes a pending conference, resubmitting the file adds nothing, and a
// file with VEVENTs that cannot be taken prints each of them and exits 2.
func TestCLISubmitICS(t *testing.T) {
	p := startProc(t, t.TempDir())
	year := time.Now().Year() + 1
	event := func(uid, start, extra string) string {
		return fmt.Sprintf("BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260901T000000Z\r\nDTSTART;TZID=America/New_York:%d%s\r\n"+
			"DTEND;TZID=America/New_York:%d%s\r\nSUMMARY:Conference %s\r\nLOCATION:Baltimore\\, MD\r\n%sEND:VEVENT\r\n",
			uid, year, start, year, strings.Replace(start, "T09", "T17", 1), uid, extra)
	}
	file := filepath.Join(t.TempDir(), "export.ics")
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" +
		event("a@example.org", "0601T090000", "") + event("b@example.org", "0602T090000", "CATEGORIES:Reentry\r\n") + "END:VCALENDAR\r\n"
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"submit", "--server", p.base, "--topic", "courts", "--contact", "pat@example.org", file}
	code, out, errs := runCLI(args...)
	if code != 0 {
		t.Fatalf("submit .ics: exit %d: %s", code, errs)
	}
	var rec struct {
		Items []struct {
			Index  int    `json:"index"`
			UID    string `json:"uid"`
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(out), &rec); err != nil || len(rec.Items) != 2 || rec.Items[1].UID != "b@example.org" || rec.Items[0].Status != "pending" {
		t.Fatalf("submit printed %s (%v)", out, err)
	}
	if _, again, _ := runCLI(args...); !strings.Contains(again, rec.Items[0].ID) || !strings.Contains(again, rec.Items[1].ID) {
		t.Fatalf("resubmitting the file gave %s", again)
	}

	bad := filepath.Join(t.TempDir(), "bad.ics")
	body = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + event("ok@example.org", "0601T090000", "") +
		event("weekly@example.org", "0602T090000", "RRULE:FREQ=WEEKLY\r\n") + "END:VCALENDAR\r\n"
	if err := os.WriteFile(bad, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runCLI("submit", "--server", p.base, "--topic", "courts", "--contact", "pat@example.org", bad)
	if code != 2 || !strings.Contains(errs, "VEVENT 2 (weekly@example.org)") || !strings.Contains(errs, "RRULE: a recurring event") {
		t.Fatalf("file with a recurring VEVENT: exit %d: %s", code, errs)
	}
	jsonFile := filepath.Join(t.TempDir(), "x.json")
	if err := os.WriteFile(jsonFile, submission("JSON"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCLI("submit", "--server", p.base, "--topic", "courts", jsonFile); code != 2 || !strings.Contains(errs, "are for .ics files") {
		t.Fatalf(".ics flags with a JSON file: exit %d: %s", code, errs)
	}
}
