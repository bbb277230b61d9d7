package sshconn

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// startSSHD starts Debian's sshd logging at DEBUG1, with extra config
// lines ("{dir}" in them is the state dir).
func startSSHD(t *testing.T, extra ...string) *sshtest.SSHD {
	t.Helper()
	return sshtest.StartSSHD(t, append([]string{"LogLevel DEBUG1"}, extra...)...)
}

// sshdKnownHosts writes a known_hosts file trusting s and returns it.
func sshdKnownHosts(t *testing.T, s *sshtest.SSHD, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(p, []byte(s.KnownHostsLine()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
