package sshconn

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshconf"
	"github.com/jumpgate/jumpgate/internal/sshtest"
)

// queries is every query ssh(1) 9.2 answers, with keyword forms.
var queries = []string{"cipher", "cipher-auth", "mac", "kex", "kex-gss", "key", "key-cert", "key-plain",
	"key-sig", "sig", "protocol-version", "compression", "help", "Ciphers", "MACs", "KexAlgorithms",
	"HostKeyAlgorithms", "PubkeyAcceptedAlgorithms", "CASignatureAlgorithms", "HostbasedAcceptedAlgorithms",
	"PubkeyAcceptedKeyTypes", "HostbasedKeyTypes", "HostbasedAcceptedKeyTypes", "macs", "kexalgorithms"}

func TestQueryNames(t *testing.T) {
	t.Parallel()
	for _, q := range queries {
		if l, ok := Query(q); !ok || (len(l) == 0 && q != "kex-gss") {
			t.Errorf("Query(%q) = %q, %v", q, l, ok)
		}
	}
	for _, q := range []string{"bogus", "CIPHER", "Key", "", "ciphers,macs"} {
		if l, ok := Query(q); ok {
			t.Errorf("Query(%q) = %q, want unknown as ssh(1)", q, l)
		}
	}
	keys, _ := Query("key")
	for _, k := range []string{"rsa-sha2-256", "rsa-sha2-512", "rsa-sha2-512-cert-v01@openssh.com"} {
		if slices.Contains(keys, k) {
			t.Errorf("-Q key lists signature algorithm %s, not a key type", k)
		}
	}
	if !slices.Contains(keys, "ssh-rsa") {
		t.Errorf("-Q key lacks ssh-rsa: %q", keys)
	}
}

// TestQuerySubsetOfOpenSSH checks each list against Debian's ssh -Q: the
// same names in the same order, less what we cannot complete.
func TestQuerySubsetOfOpenSSH(t *testing.T) {
	t.Parallel()
	sshtest.RequireOpenSSH(t, "ssh")
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("ssh", "-Q", q).Output()
			if err != nil {
				if q != "CASignatureAlgorithms" { // 9.2 does not know it; later ones answer key-sig
					t.Fatalf("ssh -Q %s: %v", q, err)
				}
				out, _ = exec.Command("ssh", "-Q", "key-sig").Output()
			}
			theirs := strings.Fields(string(out))
			ours, _ := Query(q)
			i := 0
			for _, a := range ours {
				j := slices.Index(theirs[i:], a)
				if j < 0 {
					t.Fatalf("%s: we list %s, which ssh -Q %s does not (or not in that order): %q", q, a, q, theirs)
				}
				i += j + 1
			}
		})
	}
}

// TestQueryHandshakes completes a login against Debian's sshd with each
// cipher, MAC, kex and host key algorithm we list, one at a time.
func TestQueryHandshakes(t *testing.T) {
	t.Parallel()
	sshtest.RequireOpenSSH(t, "sshd", "ssh-keygen")
	keyDir := t.TempDir()
	gen := func(name string, args ...string) string {
		p := filepath.Join(keyDir, name)
		if out, err := exec.Command("ssh-keygen", append([]string{"-q", "-N", "", "-f", p}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %s: %v: %s", name, err, out)
		}
		return p
	}
	ca := gen("ca", "-t", "ed25519")
	conf := []string{
		"Ciphers " + strings.Join(sshconf.KnownAlgorithms("cipher"), ","),
		"MACs " + strings.Join(sshconf.KnownAlgorithms("mac"), ","),
		"KexAlgorithms " + strings.Join(sshconf.KnownAlgorithms("kex"), ","),
		"HostKeyAlgorithms " + strings.Join(sshconf.KnownAlgorithms("key-sig"), ","),
		"LogLevel DEBUG1",
		"AuthorizedKeysFile {dir}/authorized_keys",
	}
	var pubs []string
	for i, k := range [][]string{{"ed25519", "-a", "1"}, {"rsa", "-b", "2048"}, {"ecdsa", "-b", "256"}, {"ecdsa", "-b", "384"}, {"ecdsa", "-b", "521"}} {
		p := gen("hk"+strconv.Itoa(i), append([]string{"-t"}, k...)...)
		if out, err := exec.Command("ssh-keygen", "-q", "-s", ca, "-h", "-I", "host", "-n", "127.0.0.1", p+".pub").CombinedOutput(); err != nil {
			t.Fatalf("sign host key: %v: %s", err, out)
		}
		conf = append(conf, "HostKey "+p, "HostCertificate "+p+"-cert.pub")
		b, err := os.ReadFile(p + ".pub")
		if err != nil {
			t.Fatal(err)
		}
		pubs = append(pubs, string(b))
	}
	srv := sshtest.StartSSHD(t, conf...)

	home := t.TempDir()
	authorize(t, srv, keygen(t, filepath.Join(home, "id"), ""))
	caPub, err := os.ReadFile(ca + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	known := srv.KnownHostsLine()
	for _, p := range pubs {
		known += "[127.0.0.1]:" + strconv.Itoa(srv.Port) + " " + p
	}
	known += "@cert-authority [127.0.0.1]:" + strconv.Itoa(srv.Port) + " " + string(caPub)
	kh := filepath.Join(home, "known_hosts")
	if err := os.WriteFile(kh, []byte(known), 0o644); err != nil {
		t.Fatal(err)
	}
	try := func(t *testing.T, kv ...string) {
		t.Helper()
		h := newMapHost(home, append([]string{"user", "root", "hostname", "127.0.0.1", "port", strconv.Itoa(srv.Port),
			"userknownhostsfile", kh, "globalknownhostsfile", "none", "stricthostkeychecking", "yes",
			"identityagent", "none", "identityfile", "~/id"}, kv...)...)
		if _, warn, err := login(t, srv, h, nil, nil); err != nil {
			t.Fatalf("login with %q: %v\n%s", kv, err, warn)
		}
	}
	list := func(q string) []string { l, _ := Query(q); return l }
	for _, c := range list("cipher") {
		t.Run("cipher/"+c, func(t *testing.T) { t.Parallel(); try(t, "ciphers", c, "macs", "hmac-sha2-256") })
	}
	for _, m := range list("mac") {
		t.Run("mac/"+m, func(t *testing.T) { t.Parallel(); try(t, "ciphers", "aes128-ctr", "macs", m) })
	}
	for _, k := range list("kex") {
		t.Run("kex/"+k, func(t *testing.T) { t.Parallel(); try(t, "kexalgorithms", k) })
	}
	for _, k := range list("key-sig") {
		t.Run("hostkey/"+k, func(t *testing.T) { t.Parallel(); try(t, "hostkeyalgorithms", k) })
	}
}
