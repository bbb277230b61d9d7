package server

import (
	"regexp"
	"strconv"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// TestOpenSSHCompression: Debian's ssh -C negotiates zlib@openssh.com
// with jumpgate serve, and compresses what it sends and what it gets
// back (its own counters, printed with -v, say by how much).
func TestOpenSSHCompression(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	t.Parallel()
	key := newKey(t, t.TempDir())
	ts := startServer(t, key.authLine(""), nil)
	c := newSSHClient(t, key, ts)
	data := string(sshtest.Corpus("logs", 2<<20))
	r := c.run(t, ts, data, []string{"-C", "-v", "-o", "LogLevel=DEBUG1"}, "cat")
	if r.code != 0 || r.stdout != data {
		t.Fatalf("ssh -C cat: code %d, %d bytes back of %d; stderr:\n%s", r.code, len(r.stdout), len(data), r.stderr)
	}
	for _, dir := range []string{"client->server", "server->client"} {
		if !regexp.MustCompile(`kex: ` + dir + ` cipher: .* compression: zlib@openssh.com`).MatchString(r.stderr) {
			t.Errorf("%s: zlib@openssh.com not negotiated:\n%s", dir, r.stderr)
		}
	}
	for _, dir := range []string{"outgoing", "incoming"} {
		m := regexp.MustCompile(`compress ` + dir + `: raw data (\d+), compressed (\d+)`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Errorf("no %s compression counters:\n%s", dir, r.stderr)
			continue
		}
		raw, _ := strconv.Atoi(m[1])
		comp, _ := strconv.Atoi(m[2])
		if raw < len(data) || comp*3 > raw {
			t.Errorf("compress %s: raw %d, compressed %d; want at least %d raw, compressed 3x", dir, raw, comp, len(data))
		}
	}
}
