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
