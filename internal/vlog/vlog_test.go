package vlog

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLevels(t *testing.T) {
	tests := []struct {
		level Level
		want  string
	}{
		{Quiet, ""},
		{Error, "e\r\n"},
		{Info, "e\r\ni\r\n"},
		{Debug1, "e\r\ni\r\ndebug1: d1\r\n"},
		{Debug3, "e\r\ni\r\ndebug1: d1\r\ndebug3: d3\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			var b bytes.Buffer
			lg := New(&b, tt.level)
			lg.Errorf("e")
			lg.Infof("i")
			lg.Debugf("d1")
			lg.Debug3f("d3")
			if b.String() != tt.want {
				t.Fatalf("at %v wrote %q, want %q", tt.level, b.String(), tt.want)
			}
		})
	}
}

func TestSetLevelAndNil(t *testing.T) {
	var b bytes.Buffer
	lg := New(&b, Info)
	lg.Debugf("hidden")
	lg.SetLevel(Debug1)
	lg.Debugf("shown")
	if b.String() != "debug1: shown\r\n" {
		t.Fatalf("wrote %q", b.String())
	}
	var none *Logger
	none.Infof("nothing")
	none.SetLevel(Debug3)
	if none.Enabled(Fatal) || none.Level() != Quiet {
		t.Fatal("a nil logger must discard everything")
	}
}

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]Level{"QUIET": Quiet, "silent": Quiet, "debug": Debug1, "DEBUG3": Debug3, "info": Info} {
		got, err := ParseLevel(in)
		if err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParseLevel("LOUD"); err == nil {
		t.Error("ParseLevel(LOUD) succeeded")
	}
}

func TestClip(t *testing.T) {
	t.Parallel()
	if got := Clip("Bad port 'x'"); got != "Bad port 'x'" {
		t.Errorf("short message changed: %q", got)
	}
	long := "Bad port '" + strings.Repeat("é9", 50000) + "'."
	got := Clip(long)
	if len(got) > MaxMessage || !strings.HasPrefix(got, "Bad port 'é9") || !strings.HasSuffix(got, "9'.") ||
		!strings.Contains(got, " bytes...]") || !utf8.ValidString(got) {
		t.Errorf("Clip = %q (%d bytes)", got, len(got))
	}
	var b strings.Builder
	lg := New(&b, Debug1)
	lg.Errorf("%s", long)
	lg.Debugf("%s", long)
	if lines := strings.Split(b.String(), "\r\n"); len(lines[0]) > MaxMessage || len(lines[1]) < len(long) {
		t.Errorf("error line %d bytes (clipped?), debug line %d bytes (whole?)", len(lines[0]), len(lines[1]))
	}
}
