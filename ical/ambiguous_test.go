package ical

import (
	"testing"
	"time"
)

func TestAmbiguous(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	lordHowe := mustLoad(t, "Australia/Lord_Howe") // sets its clock back by 30 minutes
	for _, tt := range []struct {
		u    time.Time
		want bool
	}{
		{time.Date(2027, 11, 7, 4, 59, 59, 0, time.UTC).In(ny), false}, // 00:59:59 EDT
		{time.Date(2027, 11, 7, 5, 0, 0, 0, time.UTC).In(ny), true},    // 01:00 EDT, first pass
		{time.Date(2027, 11, 7, 5, 30, 0, 0, time.UTC).In(ny), true},   // 01:30 EDT
		{time.Date(2027, 11, 7, 5, 59, 59, 0, time.UTC).In(ny), true},  // 01:59:59 EDT
		{time.Date(2027, 11, 7, 6, 0, 0, 0, time.UTC).In(ny), true},    // 01:00 EST, second pass
		{time.Date(2027, 11, 7, 6, 59, 59, 0, time.UTC).In(ny), true},  // 01:59:59 EST
		{time.Date(2027, 11, 7, 7, 0, 0, 0, time.UTC).In(ny), false},   // 02:00 EST
		{time.Date(2027, 3, 14, 6, 59, 59, 0, time.UTC).In(ny), false}, // 01:59:59 EST, before the gap
		{time.Date(2027, 3, 14, 7, 0, 0, 0, time.UTC).In(ny), false},   // 03:00 EDT, after the gap
		{time.Date(2027, 4, 3, 14, 30, 0, 0, time.UTC).In(lordHowe), true},
		{time.Date(2027, 4, 3, 14, 29, 59, 0, time.UTC).In(lordHowe), false},
		{time.Date(2027, 7, 1, 12, 0, 0, 0, time.UTC).In(ny), false},
	} {
		if got := ambiguous(tt.u); got != tt.want {
			_, off := tt.u.Zone()
			t.Errorf("ambiguous(%v, offset %d) = %v, want %v", tt.u, off, got, tt.want)
		}
	}
}
