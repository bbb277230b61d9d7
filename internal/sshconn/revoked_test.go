package sshconn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// TestRevokedHostKeys checks keys and certificates against revocation
// files made by ssh-keygen: KRLs (by key, certificate serial, serial
// bitmap, key ID, CA) and plain key lists.
func TestRevokedHostKeys(t *testing.T) {
	t.Parallel()
	sshtest.RequireOpenSSH(t, "ssh-keygen")
	dir := t.TempDir()
	run := func(stdin string, args ...string) {
		t.Helper()
		cmd := exec.Command("ssh-keygen", args...)
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(stdin)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %v: %v\n%s", args, err, out)
		}
	}
	for _, k := range []string{"ca", "other_ca", "host", "host2"} {
		run("", "-q", "-t", "ed25519", "-N", "", "-f", k)
	}
	// host-cert.pub: serial 7, ID host7; host2-cert.pub: serial 8, ID host8.
	run("", "-q", "-h", "-s", "ca", "-z", "7", "-I", "host7", "-n", "example.test", "host.pub")
	run("", "-q", "-h", "-s", "ca", "-z", "8", "-I", "host8", "-n", "example.test", "host2.pub")
	run("", "-q", "-k", "-f", "krl_empty", "/dev/null")
	run("", "-q", "-k", "-f", "krl_plain", "host.pub")
	run("", "-q", "-k", "-f", "krl_cert", "host-cert.pub")
	run("", "-q", "-k", "-f", "krl_ca", "ca.pub")
	run("", "-q", "-k", "-f", "krl_other_ca", "other_ca.pub")
	var odd strings.Builder
	for i := 1; i < 200; i += 2 {
		odd.WriteString("serial: " + strconv.Itoa(i) + "\n")
	}
	os.WriteFile(filepath.Join(dir, "odd.spec"), []byte(odd.String()), 0o600)
	run("", "-q", "-k", "-f", "krl_odd", "-s", "ca.pub", "odd.spec")
	os.WriteFile(filepath.Join(dir, "range.spec"), []byte("serial: 5-7\n"), 0o600)
	run("", "-q", "-k", "-f", "krl_range", "-s", "ca.pub", "range.spec")
	os.WriteFile(filepath.Join(dir, "id.spec"), []byte("id: host7\n"), 0o600)
	run("", "-q", "-k", "-f", "krl_id", "-s", "ca.pub", "id.spec")
	cat := func(name string, files ...string) {
		var b bytes.Buffer
		for _, f := range files {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			b.Write(data)
		}
		os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o600)
	}
	cat("list_empty")
	cat("list_plain", "host.pub")
	cat("list_cert", "host-cert.pub")
	cat("list_ca", "ca.pub")
	key := func(f string) ssh.PublicKey {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		k, _, _, _, err := ssh.ParseAuthorizedKey(data)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	host, host2, cert, cert2 := key("host.pub"), key("host2.pub"), key("host-cert.pub"), key("host2-cert.pub")
	for _, tc := range []struct {
		file    string
		key     ssh.PublicKey
		revoked bool
	}{
		{"krl_empty", host, false}, {"krl_empty", cert, false},
		{"krl_plain", host, true}, {"krl_plain", cert, true}, {"krl_plain", host2, false},
		{"krl_cert", cert, true}, {"krl_cert", cert2, false},
		{"krl_ca", cert, true}, {"krl_ca", host, false},
		{"krl_other_ca", cert, false},
		{"krl_odd", cert, true}, {"krl_odd", cert2, false},
		{"krl_range", cert, true}, {"krl_range", cert2, false},
		{"krl_id", cert, true}, {"krl_id", cert2, false},
		{"list_empty", cert, false},
		{"list_plain", host, true}, {"list_plain", cert, true}, {"list_plain", cert2, false},
		{"list_cert", cert, true}, {"list_cert", host, true}, {"list_cert", host2, false},
		{"list_ca", cert, true}, {"list_ca", cert2, true}, {"list_ca", host, false},
	} {
		err := checkRevoked(filepath.Join(dir, tc.file), tc.key)
		if err != nil && !errors.Is(err, errKeyRevoked) {
			t.Errorf("%s, %s: %v", tc.file, tc.key.Type(), err)
			continue
		}
		if got := errors.Is(err, errKeyRevoked); got != tc.revoked {
			t.Errorf("%s, %s (%s): revoked = %v, want %v", tc.file, tc.key.Type(), ssh.FingerprintSHA256(tc.key), got, tc.revoked)
		}
	}
	if err := checkRevoked(filepath.Join(dir, "missing"), host); err == nil || errors.Is(err, errKeyRevoked) {
		t.Errorf("a missing file: %v, want a read error (which refuses every host)", err)
	}
}

// FuzzKRL feeds arbitrary KRLs to the parser and the check: no panic.
func FuzzKRL(f *testing.F) {
	hdr := []byte(krlMagic)
	hdr = binary.BigEndian.AppendUint32(hdr, 1)
	hdr = append(hdr, make([]byte, 24+4+4)...)
	f.Add(hdr)
	sec := append(append([]byte{}, hdr...), krlCertificates)
	sec = binary.BigEndian.AppendUint32(sec, 4+0+4+0+1+4+8+4+2)
	sec = append(sec, 0, 0, 0, 0, 0, 0, 0, 0, krlSerialBitmap, 0, 0, 0, 14)
	sec = append(sec, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0xaa, 0x55)
	f.Add(sec)
	key := testSigner(f, "fuzz").PublicKey()
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := parseKRL(data)
		if err != nil {
			return
		}
		k.revoked(key)
	})
}
