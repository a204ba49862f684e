package parquet

import (
	"testing"
	"time"

	"github.com/rstwhy/rstwhy/report"
)

var timeTests = []struct{ name, in, why string }{
	{"record", "2024-05-01T23:59:00.123456789Z", "what NewRecord writes"},
	{"epoch", "1970-01-01T00:00:00.000000000Z", ""},
	{"leap day", "2024-02-29T12:00:00.000000000Z", ""},
	{"no leap day", "2023-02-29T12:00:00.000000000Z", "time.Date would make it Mar 1"},
	{"day 32", "2024-01-32T00:00:00.000000000Z", ""},
	{"month 13", "2024-13-01T00:00:00.000000000Z", ""},
	{"hour 24", "2024-01-01T24:00:00.000000000Z", ""},
	{"second 60", "2024-01-01T23:59:60.000000000Z", ""},
	{"sign", "2024-01-01T23:59:5+.000000000Z", "not a digit"},
	{"offset", "2024-05-02T01:30:00.000000000+02:00", "another day in UTC: time.Parse's path"},
	{"short", "2024-05-02T01:30:00Z", ""},
	{"empty", "", ""},
}

// TestParseTime: the hand-read form gives what time.Parse does, errors
// included, and the date is the UTC day's.
func TestParseTime(t *testing.T) {
	for _, c := range timeTests {
		t.Run(c.name, func(t *testing.T) { checkParseTime(t, c.in) })
	}
}

func checkParseTime(t *testing.T, s string) {
	want, wantErr := time.Parse(report.TimeFormat, s)
	got, date, err := parseTime(s)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("parseTime(%q): %v, %v; time.Parse: %v, %v", s, got, err, want, wantErr)
	}
	if err != nil {
		return
	}
	if !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("parseTime(%q) = %v, want %v in UTC", s, got, want)
	}
	if w := want.UTC().Format(time.DateOnly); date != w {
		t.Errorf("parseTime(%q): date %s, want %s", s, date, w)
	}
}

func FuzzParseTime(f *testing.F) {
	for _, c := range timeTests {
		f.Add(c.in)
	}
	f.Fuzz(checkParseTime)
}
