package cli

import (
	"strings"
	"testing"
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
