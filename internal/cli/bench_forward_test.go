package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/iostreams"
)

func TestBenchForwardUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string
	}{
		{"bad flag", []string{"--nope"}, exitUsage, "unknown flag: --nope"},
		{"arguments", []string{"extra"}, exitUsage, "takes no arguments"},
		{"zero runs", []string{"--runs", "0"}, exitUsage, "--runs must be at least 1"},
		{"zero seconds", []string{"--seconds", "0"}, exitUsage, "--seconds must be at least 1"},
		{"bad target", []string{"--target", "-1"}, exitUsage, "--target must be above 0"},
		{"bad server", []string{"--server", "telnet"}, exitUsage, `unknown server "telnet"`},
		{"missing client", []string{"--client", "/nonexistent/ssh"}, 1, "OpenSSH's client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			code, _, errOut := runJumpgate(append([]string{"bench", "forward"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, errOut, tt.code, tt.wantErr)
			}
		})
	}
	t.Run("help", func(t *testing.T) {
		t.Parallel()
		code, out, _ := runJumpgate("bench", "forward", "--help")
		if code != 0 || !strings.Contains(out, "--cipher") || !strings.Contains(out, "--seconds") || !strings.Contains(out, "--masters") {
			t.Errorf("exit %d, stdout %q; want flags", code, out)
		}
	})
}

// TestBenchForwardTarget: the verdict's default ratio is 1 against OpenSSH,
// 0.8 against plain TCP on a long path, and --target wins over both.
func TestBenchForwardTarget(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want float64
	}{
		{nil, 1},
		{[]string{"--rtt", "200ms"}, longPathTarget},
		{[]string{"--rtt", "200ms", "--target", "0.9"}, 0.9},
		{[]string{"--target", "1.1"}, 1.1},
	}
	for _, tt := range tests {
		e := &env{io: &iostreams.IOStreams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}},
			getenv: func(string) string { return "" }, argv0: "jumpgate"}
		f, err := parseBenchForward(e, tt.args)
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
		} else if f.target != tt.want {
			t.Errorf("%q: target %v, want %v", tt.args, f.target, tt.want)
		}
	}
}
