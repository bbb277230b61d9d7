package vlog

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseLevel: LogLevel values never panic, and an accepted level's
// name reads back as the same level.
func FuzzParseLevel(f *testing.F) {
	for _, s := range []string{"DEBUG", "debug3", "SILENT", "quiet", "VERBOSE", "", "DEBUG4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLevel(s)
		if err != nil {
			return
		}
		if back, err := ParseLevel(l.String()); err != nil || back != l {
			t.Fatalf("%q: level %v reads back as %v, %v", s, l, back, err)
		}
	})
}

// FuzzClip: every clipped line is short, a short message is left alone,
// and valid UTF-8 stays valid.
func FuzzClip(f *testing.F) {
	f.Add("short")
	f.Add(strings.Repeat("é", 400))
	f.Add("Bad value \"" + strings.Repeat("x", 5000) + "\"\nsecond line")
	f.Fuzz(func(t *testing.T, s string) {
		c := Clip(s)
		if len(s) <= MaxMessage && c != s {
			t.Fatalf("short message %q clipped to %q", s, c)
		}
		limit := MaxMessage + len(fmt.Sprintf("[...%d bytes...]", len(s)))
		for _, l := range strings.Split(c, "\n") {
			if len(l) > limit {
				t.Fatalf("line of %d bytes after Clip, want at most %d", len(l), limit)
			}
		}
		if utf8.ValidString(s) && !utf8.ValidString(c) {
			t.Fatalf("Clip made valid UTF-8 invalid: %q", c)
		}
	})
}
