package cli

import (
	"context"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/iostreams"
)

func TestDispatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		argv      []string
		wantCode  int
		wantOut   []string
		wantErr   []string
		wantNoErr bool
		wantNoOut bool
	}{
		{name: "help lists every command", argv: []string{"jumpgate", "--help"}, wantCode: 0,
			wantOut: []string{"ssh ", "serve ", "lab ", "vpn ", "topo ", "version "}, wantNoErr: true},
		{name: "no args is usage", argv: []string{"jumpgate"}, wantCode: exitUsage,
			wantErr: []string{"Usage: jumpgate"}, wantNoOut: true},
		{name: "unknown command", argv: []string{"jumpgate", "frobnicate"}, wantCode: exitUsage,
			wantErr: []string{`jumpgate: error: unknown command "frobnicate"`, "jumpgate: hint: run 'jumpgate --help'"}, wantNoOut: true},
		{name: "version", argv: []string{"/usr/bin/jumpgate", "version"}, wantCode: 0,
			wantOut: []string{"jumpgate ", "go go1.", "golang.org/x/crypto "}, wantNoErr: true},
		{name: "version with args", argv: []string{"jumpgate", "version", "x"}, wantCode: exitUsage,
			wantErr: []string{"version takes no arguments"}},
		{name: "ssh flags first run ssh, as scp -S does", argv: []string{"jumpgate", "-G", "-F", "none", "-o", "User=zed", "h"},
			wantCode: 0, wantOut: []string{"user zed\n", "hostname h\n"}},
		{name: "forward is ssh -N", argv: []string{"jumpgate", "forward", "-G", "-F", "none", "-L", "8080:localhost:80", "h"},
			wantCode: 0, wantOut: []string{"sessiontype none\n", "localforward 8080 [localhost]:80\n"}},
		{name: "forward help", argv: []string{"jumpgate", "forward", "--help"}, wantCode: 0, wantOut: []string{"ssh -N"}},
		{name: "invoked as ssh", argv: []string{"/usr/local/bin/ssh", "-F", "none", "-G", "h"},
			wantCode: 0, wantOut: []string{"hostname h\n"}},
		{name: "console wants HOST/DOMAIN", argv: []string{"jumpgate", "console", "--print", "hyper1"}, wantCode: exitUsage,
			wantErr: []string{`console: "hyper1" is not HOST/DOMAIN`, "hint: name the hypervisor and the libvirt domain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, out, errOut := iostreams.Test("")
			code := Main(context.Background(), tt.argv, ios)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout %q lacks %q", out, w)
				}
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut.String(), w) {
					t.Errorf("stderr %q lacks %q", errOut, w)
				}
			}
			if tt.wantNoErr && errOut.Len() > 0 {
				t.Errorf("unexpected stderr %q", errOut)
			}
			if tt.wantNoOut && out.Len() > 0 {
				t.Errorf("unexpected stdout %q", out)
			}
			if n := strings.Count(errOut.String(), "error:"); n > 1 {
				t.Errorf("error printed %d times, want once: %q", n, errOut)
			}
		})
	}
}

// TestHelp: every command answers --help, -h and `jumpgate help COMMAND`
// the same way: its usage on stdout, nothing on stderr, exit 0.
func TestHelp(t *testing.T) {
	t.Parallel()
	for _, c := range commands() {
		for _, argv := range [][]string{{c.name, "--help"}, {c.name, "-h"}, {"help", c.name}} {
			t.Run(strings.Join(argv, " "), func(t *testing.T) {
				t.Parallel()
				ios, out, errOut := iostreams.Test("")
				code := Main(context.Background(), append([]string{"jumpgate"}, argv...), ios)
				if code != 0 || errOut.Len() > 0 {
					t.Errorf("exit code %d, stderr %q; want 0 and nothing", code, errOut)
				}
				if !strings.Contains(strings.ToLower(out.String()), "usage: ") {
					t.Errorf("stdout %q has no usage", out)
				}
			})
		}
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, 0},
		{"plain error is a connection failure", errString("boom"), exitConnection},
		{"usage", usageErrorf("bad"), exitUsage},
		{"status passes through", &statusError{code: 3}, 3},
		{"hinted keeps code", withHint(errString("x"), 7, "do y"), 7},
		{"hinted without code defaults", withHint(errString("x"), 0), exitConnection},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := exitCode(tt.err); got != tt.want {
				t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }
