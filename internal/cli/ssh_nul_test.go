package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/iostreams"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// TestSSHConfigNUL compares with ssh -G a configuration whose lines hold
// NULs: ssh(1) reads each line as a C string, cut at the NUL.
func TestSSHConfigNUL(t *testing.T) {
	t.Parallel()
	sshtest.RequireOpenSSH(t, "ssh")
	cfg := filepath.Join(t.TempDir(), "cfg")
	if err := os.WriteFile(cfg, []byte("Host x\n  User bob\x00evil\n  Hostname h\x00 extra args\n  Port 22\x00\n\x00Port 99\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	want, err := exec.Command("ssh", "-G", "-F", cfg, "x").Output()
	if err != nil {
		t.Fatalf("ssh -G: %v", err)
	}
	ios, stdout, stderr := iostreams.Test("")
	if code := Main(context.Background(), []string{"ssh", "-G", "-F", cfg, "x"}, ios); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, k := range []string{"user ", "hostname ", "port "} {
		if w, g := lineWith(string(want), k), lineWith(stdout.String(), k); w != g {
			t.Errorf("ssh(1): %q, jumpgate: %q", w, g)
		}
	}
}

func lineWith(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// TestSSHBadConfigFiles compares with ssh -G the words and exit code for
// configuration files with bad lines: ssh(1) names every bad line of a
// file, then that it gives up ("terminating, N bad configuration options").
func TestSSHBadConfigFiles(t *testing.T) {
	t.Parallel()
	sshtest.RequireOpenSSH(t, "ssh")
	dir := t.TempDir()
	files := map[string]string{
		"one":      "Bogus x\n",
		"several":  "Bogus x\nPort abc\nBatchMode maybe\nMatch nosuch x\nUser ok\n",
		"include":  "Include " + filepath.Join(dir, "several") + "\nBogus2 y\n",
		"forward":  "Host x\nLocalForward bad\nUser\n",
		"quotes":   "User \"a\n",
		"after-ok": "User ok\nPort 0\n",
	}
	for name, conf := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for name := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := filepath.Join(dir, name)
			cmd := exec.Command("ssh", "-G", "-F", cfg, "x")
			var wantErr strings.Builder
			cmd.Stderr = &wantErr
			err := cmd.Run()
			wantCode := 0
			if ee, ok := err.(*exec.ExitError); ok {
				wantCode = ee.ExitCode()
			}
			ios, _, stderr := iostreams.Test("")
			code := Main(context.Background(), []string{"ssh", "-G", "-F", cfg, "x"}, ios)
			if code != wantCode || stderr.String() != wantErr.String() {
				t.Errorf("exit %d, stderr:\n%q\nssh(1) exits %d:\n%q", code, stderr, wantCode, wantErr.String())
			}
		})
	}
}
