package engine_test

// The interoperability matrix: every algorithm our engine offers, against
// Debian's OpenSSH 9.2 in both directions (our client against sshd,
// Debian's ssh against our server as `jumpgate serve` runs it), each case
// a whole session: key exchange, host key check, publickey login, exec of
// a command that checks 1 MiB of stdin by SHA-256, writes 1 MiB back and
// exits with a chosen status.
//
// The cases cover rather than cross the dimensions. In the protocol the
// key exchange, the host key, each direction's cipher+MAC and compression
// are negotiated independently (RFC 4253 7.1) and meet only where one
// feeds another: the cipher decides whether a MAC is used and sits
// beside it in every packet (encrypt-and-MAC, encrypt-then-MAC, AEAD),
// and the key exchange's hash is what the host key signs. So every
// non-AEAD cipher is paired with every MAC, every key exchange with every
// plain host key type, each host certificate type appears once, and
// compression cycles across all of it; the longest list sets the number
// of cases and the others repeat along it. A full cross product would be
// thousands of connections and find nothing more. Not here: ML-KEM
// (OpenSSH 9.9) and security-key host keys, which our own pair covers.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/server"
	"github.com/jumpgate/jumpgate/internal/server/servertest"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// sshdCompressions are the compression methods Debian's sshd 9.2 agrees
// to: never plain zlib, pre-authentication compression, which sshd left
// in 7.4 (TestMatrixClientAgainstOpenSSH checks that it still refuses).
// Our server does plain zlib when configured to, and ssh(1) does it.
func sshdCompressions(a sshwire.AlgorithmList) []string {
	return slices.DeleteFunc(slices.Clone(a.Compressions), func(c string) bool { return c == "zlib" })
}

// matrixPayload is the size each way.
const matrixPayload = 1 << 20

// caseTimeout bounds one case, a hung connection included.
const caseTimeout = 90 * time.Second

type matrixCase struct {
	kex, hostKey, cipher, mac, comp string
	status                          int
}

func (c matrixCase) String() string {
	mac := c.mac
	if mac == "" {
		mac = "-"
	}
	return strings.Join([]string{c.kex, c.hostKey, c.cipher, mac, c.comp}, " ")
}

// matrixCases lays the covering design out over a's algorithms.
func matrixCases(a sshwire.AlgorithmList) []matrixCase {
	comps := a.Compressions
	type suite struct{ cipher, mac string }
	var suites []suite
	for _, c := range a.Ciphers {
		if engine.AEAD(c) {
			suites = append(suites, suite{c, ""})
			continue
		}
		for _, m := range a.MACs {
			suites = append(suites, suite{c, m})
		}
	}
	var plain, certs []string
	for _, h := range a.HostKeys {
		if strings.HasSuffix(h, engine.CertSuffix) {
			certs = append(certs, h)
		} else {
			plain = append(plain, h)
		}
	}
	type kexHost struct{ kex, hostKey string }
	var kh []kexHost
	for _, k := range a.KeyExchanges {
		for _, h := range plain {
			kh = append(kh, kexHost{k, h})
		}
	}
	for i, h := range certs {
		kh = append(kh, kexHost{a.KeyExchanges[i%len(a.KeyExchanges)], h})
	}
	n := max(len(suites), len(kh), len(comps))
	cases := make([]matrixCase, n)
	for i := range cases {
		s, k := suites[i%len(suites)], kh[i%len(kh)]
		// Statuses 0 to 95; 96 and up are the command's own failures.
		cases[i] = matrixCase{kex: k.kex, hostKey: k.hostKey, cipher: s.cipher, mac: s.mac,
			comp: comps[i%len(comps)], status: i % 96}
	}
	return cases
}

// TestMatrixCases checks the covering design itself: every value of every
// dimension, every cipher with every MAC, every key exchange with every
// host key type.
func TestMatrixCases(t *testing.T) {
	t.Parallel()
	a := engine.InteropAlgorithms()
	cases := matrixCases(a)
	seen := map[string]bool{}
	for _, c := range cases {
		seen["kex "+c.kex] = true
		seen["hostkey "+c.hostKey] = true
		seen["cipher "+c.cipher] = true
		seen["comp "+c.comp] = true
		seen["cipher+mac "+c.cipher+" "+c.mac] = true
		seen["kex+hostkey "+c.kex+" "+c.hostKey] = true
	}
	var want []string
	for _, c := range a.Ciphers {
		if engine.AEAD(c) {
			continue
		}
		for _, m := range a.MACs {
			want = append(want, "cipher+mac "+c+" "+m)
		}
	}
	for _, k := range a.KeyExchanges {
		want = append(want, "kex "+k)
		for _, h := range a.HostKeys {
			if !strings.HasSuffix(h, engine.CertSuffix) {
				want = append(want, "kex+hostkey "+k+" "+h)
			}
		}
	}
	for _, h := range a.HostKeys {
		want = append(want, "hostkey "+h)
	}
	for _, c := range a.Ciphers {
		want = append(want, "cipher "+c)
	}
	for _, c := range a.Compressions {
		want = append(want, "comp "+c)
	}
	for _, w := range want {
		if !seen[w] {
			t.Errorf("no case has %s", w)
		}
	}
	if !slices.Contains(a.HostKeys, "ssh-rsa") || !slices.Contains(a.Ciphers, "3des-cbc") || !slices.Contains(a.Compressions, "zlib") {
		t.Errorf("the matrix lacks the non-default algorithms: %q", a)
	}
	t.Logf("%d cases per direction", len(cases))
}

// matrixHostKeys are host keys of every type, each with a certificate
// from one CA for the principal 127.0.0.1, as files for sshd and as
// signers for our server.
type matrixHostKeys struct {
	files   []string // private keys; each has its certificate at file+"-cert.pub"
	plain   []ssh.PublicKey
	signers []ssh.Signer // plain, then the certificates
	ca      ssh.PublicKey
}

func newMatrixHostKeys(t *testing.T) *matrixHostKeys {
	t.Helper()
	dir := t.TempDir()
	keygen := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ssh-keygen", append([]string{"-q"}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen %q: %v: %s", args, err, out)
		}
	}
	ca := filepath.Join(dir, "ca")
	keygen("-t", "ed25519", "-N", "", "-f", ca)
	k := &matrixHostKeys{ca: parsePub(t, ca+".pub")}
	var certSigners []ssh.Signer
	for _, kt := range [][]string{{"ed25519"}, {"ecdsa", "-b", "256"}, {"ecdsa", "-b", "384"}, {"ecdsa", "-b", "521"}, {"rsa", "-b", "2048"}} {
		f := filepath.Join(dir, strings.Join(kt, ""))
		keygen(append([]string{"-N", "", "-f", f, "-t"}, kt...)...)
		keygen("-s", ca, "-h", "-I", "host", "-n", "127.0.0.1", f+".pub")
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ssh.ParsePrivateKey(b)
		if err != nil {
			t.Fatal(err)
		}
		cert, ok := parsePub(t, f+"-cert.pub").(*ssh.Certificate)
		if !ok {
			t.Fatalf("%s-cert.pub is no certificate", f)
		}
		cs, err := ssh.NewCertSigner(cert, s)
		if err != nil {
			t.Fatal(err)
		}
		k.files = append(k.files, f)
		k.plain = append(k.plain, s.PublicKey())
		k.signers = append(k.signers, s)
		certSigners = append(certSigners, cs)
	}
	k.signers = append(k.signers, certSigners...)
	return k
}

func parsePub(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pk, _, _, _, err := ssh.ParseAuthorizedKey(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pk
}

// check is a HostKeyCallback: one of our keys, or a valid certificate of
// the CA for the host; extra are other plain keys to accept.
func (k *matrixHostKeys) check(extra ...ssh.PublicKey) func(string, net.Addr, ssh.PublicKey) error {
	cc := &ssh.CertChecker{
		IsHostAuthority: func(auth ssh.PublicKey, _ string) bool { return sameKey(auth, k.ca) },
		HostKeyFallback: func(_ string, _ net.Addr, key ssh.PublicKey) error {
			for _, p := range slices.Concat(k.plain, extra) {
				if sameKey(p, key) {
					return nil
				}
			}
			return fmt.Errorf("unknown host key %s", ssh.FingerprintSHA256(key))
		},
	}
	return cc.CheckHostKey
}

// knownHosts is a known_hosts file for ssh(1): the plain keys and the CA
// for each port.
func (k *matrixHostKeys) knownHosts(t *testing.T, ports ...string) string {
	t.Helper()
	var b strings.Builder
	for _, port := range ports {
		host := "[127.0.0.1]:" + port
		for _, p := range k.plain {
			fmt.Fprintf(&b, "%s %s", host, ssh.MarshalAuthorizedKey(p))
		}
		fmt.Fprintf(&b, "@cert-authority %s %s", host, ssh.MarshalAuthorizedKey(k.ca))
	}
	f := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func sameKey(a, b ssh.PublicKey) bool { return bytes.Equal(a.Marshal(), b.Marshal()) }

// matrixUser is a user key as a signer and as a file for ssh(1).
func matrixUser(t *testing.T) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(f, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return s, f
}

// matrixData is what a case sends: half random, half text, so that
// compression has both kinds; the command answers each byte plus one.
func matrixData() (in, want []byte, sum string) {
	in = make([]byte, matrixPayload)
	rand.Read(in[:matrixPayload/2])
	var text []byte
	for i := 0; len(text) < matrixPayload/2; i++ {
		text = fmt.Appendf(text, "line %d of the interoperability matrix\n", i)
	}
	copy(in[matrixPayload/2:], text)
	want = make([]byte, len(in))
	for i, b := range in {
		want[i] = b + 1
	}
	h := sha256.Sum256(in)
	return in, want, hex.EncodeToString(h[:])
}

// matrixScript writes the command each case runs, with the expected
// hash and the exit status as its arguments: it reads the payload from
// stdin, checks its hash (exit 98 and a word on stderr if wrong), writes
// it back with each byte plus one and exits with the status. Both ends
// run on this machine, so a file keeps the servers' logs short.
func matrixScript(t *testing.T) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "matrix.sh")
	script := fmt.Sprintf(`f=$(mktemp) || exit 97
head -c %d >"$f"
set -- $(sha256sum <"$f") "$@"
if [ "$1" != "$3" ]; then echo "received $(wc -c <"$f") bytes, sha256 $1" >&2; rm -f "$f"; exit 98; fi
LC_ALL=C tr '\000-\377' '\001-\377\000' <"$f"
rm -f "$f"
exit "$4"
`, matrixPayload)
	if err := os.WriteFile(f, []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// checkOutput compares what came back.
func checkOutput(out, want []byte, status, wantStatus int, stderr string) error {
	var errs []string
	if status != wantStatus {
		errs = append(errs, fmt.Sprintf("exit status %d, want %d", status, wantStatus))
	}
	if !bytes.Equal(out, want) {
		errs = append(errs, fmt.Sprintf("%d bytes back, want %d matching", len(out), len(want)))
	}
	if len(errs) > 0 && stderr != "" {
		errs = append(errs, "stderr: "+lastLines(stderr, 5))
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "; "))
	}
	return nil
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(l[max(0, len(l)-n):], " | ")
}

// requireNoRace skips t under the race detector; scripts/test.sh runs
// these tests in a step of their own without it.
func requireNoRace(t *testing.T) {
	t.Helper()
	if raceDetector {
		t.Skip("5-10x slower under -race: scripts/test.sh runs it without (go test -run 'TestMatrix|TestRekeyGiB' ./internal/engine)")
	}
}

// runMatrix runs cases on a pool sized to the machine and fails t with a
// table of the cases that failed.
func runMatrix(t *testing.T, cases []matrixCase, run func(matrixCase) error) {
	t.Helper()
	workers := min(max(2*runtime.GOMAXPROCS(0), 4), 8)
	errs := make([]error, len(cases))
	took := make([]time.Duration, len(cases))
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				start := time.Now()
				errs[i] = run(cases[i])
				took[i] = time.Since(start)
			}
		})
	}
	start := time.Now()
	for i := range cases {
		next <- i
	}
	close(next)
	wg.Wait()
	t.Logf("%d cases, %d at a time, in %s", len(cases), workers, time.Since(start).Round(100*time.Millisecond))
	if testing.Verbose() {
		order := make([]int, len(cases))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int { return cmpDuration(took[b], took[a]) })
		for _, i := range order[:min(8, len(order))] {
			t.Logf("slowest: %s %s", took[i].Round(10*time.Millisecond), cases[i])
		}
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEX\tHOST KEY\tCIPHER\tMAC\tCOMPRESSION\tERROR")
	failed := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		failed++
		c := cases[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v\n", c.kex, c.hostKey, c.cipher, cmp(c.mac, "-"), c.comp, err)
	}
	tw.Flush()
	if failed > 0 {
		t.Errorf("%d of %d cases failed:\n%s", failed, len(cases), b.String())
	}
}

func cmpDuration(a, b time.Duration) int { return int((a - b) / time.Microsecond) }

func cmp(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// TestMatrixClientAgainstOpenSSH: our client against Debian's sshd with
// every host key type and every algorithm enabled, the algorithms forced
// per connection on our side.
func TestMatrixClientAgainstOpenSSH(t *testing.T) {
	t.Parallel()
	requireNoRace(t)
	sshtest.RequireOpenSSH(t, "ssh-keygen", "sshd")
	a := engine.InteropAlgorithms()
	keys := newMatrixHostKeys(t)
	user, _ := matrixUser(t)
	conf := []string{
		"Ciphers " + strings.Join(a.Ciphers, ","),
		"MACs " + strings.Join(a.MACs, ","),
		"KexAlgorithms " + strings.Join(a.KeyExchanges, ","),
		"HostKeyAlgorithms " + strings.Join(a.HostKeys, ","),
		"Compression yes",
		"AuthorizedKeysFile {dir}/authorized_keys",
		"PermitRootLogin prohibit-password",
		"MaxStartups 100",
	}
	for _, f := range keys.files {
		conf = append(conf, "HostKey "+f, "HostCertificate "+f+"-cert.pub")
	}
	d := sshtest.StartSSHD(t, conf...)
	if err := os.WriteFile(filepath.Join(d.Dir, "authorized_keys"), ssh.MarshalAuthorizedKey(user.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	// sshd's own ed25519 key comes first and is the one it shows.
	check := keys.check(d.HostKey)
	script := matrixScript(t)
	ca := a
	ca.Compressions = sshdCompressions(a)
	runMatrix(t, matrixCases(ca), func(c matrixCase) error {
		return clientCase(d.Addr, user, check, fmt.Sprintf("sh %s %%s %d", script, c.status), c)
	})
	// Plain zlib: sshd still refuses it.
	nc, err := net.DialTimeout("tcp", d.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_, err = engine.Client(nc, d.Addr, &sshwire.ClientConfig{User: "root", Auth: []sshwire.AuthMethod{sshwire.Signers(user)},
		HostKeyCallback: check, Algorithms: sshwire.AlgorithmList{Compressions: []string{"zlib"}}})
	if err == nil || !strings.Contains(err.Error(), "compression") {
		t.Errorf("plain zlib with sshd: %v; want no common compression, or the matrix to have it", err)
	}
}

// clientCase runs one case with our client; command has a %s for the
// payload's hash.
func clientCase(addr string, user ssh.Signer, check func(string, net.Addr, ssh.PublicKey) error, command string, c matrixCase) error {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(caseTimeout))
	algs := sshwire.AlgorithmList{KeyExchanges: []string{c.kex}, HostKeys: []string{c.hostKey}, Ciphers: []string{c.cipher},
		Compressions: []string{c.comp}}
	if c.mac != "" {
		algs.MACs = []string{c.mac}
	}
	conn, err := engine.Client(nc, addr, &sshwire.ClientConfig{User: "root", Auth: []sshwire.AuthMethod{sshwire.Signers(user)},
		HostKeyCallback: check, Algorithms: algs})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close()
	got := conn.Algorithms()
	for _, w := range [][3]string{{"kex", got.KeyExchange, c.kex}, {"host key", got.HostKey, c.hostKey},
		{"cipher out", got.Write.Cipher, c.cipher}, {"cipher in", got.Read.Cipher, c.cipher},
		{"mac out", got.Write.MAC, c.mac}, {"mac in", got.Read.MAC, c.mac},
		{"compression out", got.Write.Compression, c.comp}, {"compression in", got.Read.Compression, c.comp}} {
		if w[1] != w[2] {
			return fmt.Errorf("%s %q negotiated, want %q", w[0], w[1], w[2])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	s, err := sshwire.NewSession(ctx, conn)
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	in, want, sum := matrixData()
	var out, stderr bytes.Buffer
	s.Stdin, s.Stdout, s.Stderr = bytes.NewReader(in), &out, &stderr
	status := 0
	if err := s.Run(fmt.Sprintf(command, sum)); err != nil {
		var ee *sshwire.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("exec: %w", err)
		}
		status = ee.ExitStatus()
	}
	return checkOutput(out.Bytes(), want, status, c.status, stderr.String())
}

// TestMatrixOpenSSHAgainstServer: Debian's ssh against our server (what
// `jumpgate serve` runs), offering every algorithm, with host keys and
// certificates of every type; the algorithms are forced with ssh's -o,
// and ssh's own log says what it negotiated.
func TestMatrixOpenSSHAgainstServer(t *testing.T) {
	t.Parallel()
	requireNoRace(t)
	sshtest.RequireOpenSSH(t, "ssh", "ssh-keygen")
	a := engine.InteropAlgorithms()
	keys := newMatrixHostKeys(t)
	user, userFile := matrixUser(t)
	authKeys := filepath.Join(t.TempDir(), "authorized_keys")
	if err := os.WriteFile(authKeys, ssh.MarshalAuthorizedKey(user.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	// ssh -C prefers zlib@openssh.com, so plain zlib's cases go to a
	// server that offers only it.
	start := func(comps []string) (srv *servertest.Server, port string) {
		srv = servertest.Start(t, func(c *server.Config) {
			c.HostKeys = keys.signers
			c.AuthorizedKeys = authKeys
			c.Handshake = func(nc net.Conn, cfg *sshwire.ServerConfig) (sshwire.ServerConn, error) {
				cfg.Algorithms = a
				cfg.Algorithms.Compressions = comps
				return engine.Server(nc, cfg)
			}
		})
		_, port, _ = net.SplitHostPort(srv.Addr)
		return srv, port
	}
	srv, port := start(a.Compressions)
	_, zlibPort := start([]string{"zlib"})
	knownHosts := keys.knownHosts(t, port, zlibPort)
	script := matrixScript(t)
	runMatrix(t, matrixCases(a), func(c matrixCase) error {
		p := port
		if c.comp == "zlib" {
			p = zlibPort
		}
		return sshCase(srv.User, p, userFile, knownHosts, fmt.Sprintf("sh %s %%s %d", script, c.status), c)
	})
}

// sshCase runs one case with Debian's ssh; command has a %s for the
// payload's hash.
func sshCase(user, port, userFile, knownHosts, command string, c matrixCase) error {
	comp := "no"
	if c.comp != "none" {
		comp = "yes"
	}
	args := []string{"-v", "-F", "none", "-p", port, "-i", userFile, "-l", user,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile=" + knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", "KexAlgorithms=" + c.kex, "-o", "HostKeyAlgorithms=" + c.hostKey,
		"-o", "Ciphers=" + c.cipher, "-o", "Compression=" + comp}
	if c.mac != "" {
		args = append(args, "-o", "MACs="+c.mac)
	}
	in, want, sum := matrixData()
	ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", append(args, "127.0.0.1", fmt.Sprintf(command, sum))...)
	var out, stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), &out, &stderr
	err := cmd.Run()
	var xe *exec.ExitError
	if err != nil && !errors.As(err, &xe) {
		return err
	}
	log := stderr.String()
	lines := map[string]bool{}
	for l := range strings.Lines(log) {
		lines[strings.TrimSpace(l)] = true
	}
	mac := cmp(c.mac, "<implicit>")
	for _, w := range []string{"kex: algorithm: " + c.kex, "kex: host key algorithm: " + c.hostKey,
		fmt.Sprintf("kex: server->client cipher: %s MAC: %s compression: %s", c.cipher, mac, c.comp),
		fmt.Sprintf("kex: client->server cipher: %s MAC: %s compression: %s", c.cipher, mac, c.comp)} {
		if !lines["debug1: "+w] {
			return fmt.Errorf("ssh's log lacks %q (exit %d): %s", w, cmd.ProcessState.ExitCode(), lastLines(log, 3))
		}
	}
	// What is not ssh's trace: the command's stderr, ssh's errors.
	var rest []string
	for l := range strings.Lines(log) {
		if !slices.ContainsFunc([]string{"debug", "OpenSSH_", "Authenticated to", "Transferred:", "Bytes per second:"},
			func(p string) bool { return strings.HasPrefix(l, p) }) {
			rest = append(rest, l)
		}
	}
	return checkOutput(out.Bytes(), want, cmd.ProcessState.ExitCode(), c.status, strings.Join(rest, ""))
}

// rekeyVolume is what the rekeying tests send each way, and rekeyLimit
// the RekeyLimit both ends are given: 16 re-exchanges or more.
const (
	rekeyVolume = 1 << 30
	rekeyLimit  = 64 << 20
)

// rekeyStream is rekeyVolume bytes: a random MiB repeated, each copy
// stamped with its number, so that a lost, repeated or reordered MiB
// changes the hash.
type rekeyStream struct {
	block []byte
	off   int64
}

func newRekeyStream() *rekeyStream {
	s := &rekeyStream{block: make([]byte, 1<<20)}
	rand.Read(s.block)
	return s
}

func (s *rekeyStream) Read(p []byte) (int, error) {
	if s.off >= rekeyVolume {
		return 0, io.EOF
	}
	bs := int64(len(s.block))
	if s.off%bs == 0 {
		binary.BigEndian.PutUint64(s.block, uint64(s.off/bs))
	}
	n := copy(p, s.block[s.off%bs:])
	n = int(min(int64(n), rekeyVolume-s.off))
	s.off += int64(n)
	return n, nil
}

// hashCount is a SHA-256 that counts what it is given.
type hashCount struct {
	h hash.Hash
	n int64
}

func newHashCount() *hashCount { return &hashCount{h: sha256.New()} }

func (w *hashCount) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return w.h.Write(p)
}

func (w *hashCount) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }

// TestRekeyGiBAgainstOpenSSH sends 1 GiB each way through Debian's
// sshd's cat with RekeyLimit 64M on both ends, so that each starts key
// re-exchanges while the other's data is in flight; what comes back must
// hash as what went.
func TestRekeyGiBAgainstOpenSSH(t *testing.T) {
	t.Parallel()
	requireNoRace(t)
	sshtest.RequireOpenSSH(t, "sshd")
	user, _ := matrixUser(t)
	d := sshtest.StartSSHD(t, "AuthorizedKeysFile {dir}/authorized_keys", "PermitRootLogin prohibit-password",
		fmt.Sprintf("RekeyLimit %d", rekeyLimit))
	if err := os.WriteFile(filepath.Join(d.Dir, "authorized_keys"), ssh.MarshalAuthorizedKey(user.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	nc, err := net.DialTimeout("tcp", d.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Minute))
	conn, err := engine.ClientWith(nc, d.Addr, &sshwire.ClientConfig{User: "root", Auth: []sshwire.AuthMethod{sshwire.Signers(user)},
		HostKeyCallback: ssh.FixedHostKey(d.HostKey)}, engine.TransportOptions{RekeyBytes: rekeyLimit})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := sshwire.NewSession(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	sent, got := newHashCount(), newHashCount()
	s.Stdin, s.Stdout = io.TeeReader(newRekeyStream(), sent), got
	start := time.Now()
	if err := s.Run("cat"); err != nil {
		t.Fatal(err)
	}
	el := time.Since(start)
	rekeys := engine.KexCount(conn) - 1
	t.Logf("%d MiB each way with %s in %s (%.0f MiB/s each way), %d key re-exchanges",
		got.n>>20, conn.Algorithms().Write.Cipher, el.Round(100*time.Millisecond), float64(got.n>>20)/el.Seconds(), rekeys)
	if got.n != rekeyVolume || got.sum() != sent.sum() {
		t.Fatalf("sent %d bytes (sha256 %s), got %d back (sha256 %s)", sent.n, sent.sum(), got.n, got.sum())
	}
	// Each direction crosses the limit 16 times, the last right at the
	// end, which the closing may beat.
	if want := rekeyVolume/rekeyLimit - 1; rekeys < want {
		t.Fatalf("%d key re-exchanges, want %d or more", rekeys, want)
	}
}

// TestRekeyGiBOpenSSHAgainstServer is the other direction: Debian's ssh
// with RekeyLimit 64M sends 1 GiB through cat on our server, which has
// the same limit.
func TestRekeyGiBOpenSSHAgainstServer(t *testing.T) {
	t.Parallel()
	requireNoRace(t)
	sshtest.RequireOpenSSH(t, "ssh")
	user, userFile := matrixUser(t)
	authKeys := filepath.Join(t.TempDir(), "authorized_keys")
	if err := os.WriteFile(authKeys, ssh.MarshalAuthorizedKey(user.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	handshake := engine.ServerWith(engine.TransportOptions{RekeyBytes: rekeyLimit})
	conns := make(chan sshwire.ServerConn, 1)
	srv := servertest.Start(t, func(c *server.Config) {
		c.AuthorizedKeys = authKeys
		c.Handshake = func(nc net.Conn, cfg *sshwire.ServerConfig) (sshwire.ServerConn, error) {
			sc, err := handshake(nc, cfg)
			if err == nil {
				select {
				case conns <- sc:
				default:
				}
			}
			return sc, err
		}
	})
	_, port, _ := net.SplitHostPort(srv.Addr)
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(knownHosts, fmt.Appendf(nil, "[127.0.0.1]:%s %s", port, ssh.MarshalAuthorizedKey(srv.HostKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ssh", "-v", "-F", "none", "-p", port, "-i", userFile, "-l", srv.User,
		"-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
		"-o", "UserKnownHostsFile="+knownHosts, "-o", "GlobalKnownHostsFile=/dev/null",
		"-o", fmt.Sprintf("RekeyLimit=%d", rekeyLimit), "127.0.0.1", "cat")
	sent, got := newHashCount(), newHashCount()
	var stderr bytes.Buffer
	cmd.Stdin, cmd.Stdout, cmd.Stderr = io.TeeReader(newRekeyStream(), sent), got, &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("ssh: %v: %s", err, lastLines(stderr.String(), 10))
	}
	el := time.Since(start)
	sc := <-conns
	rekeys := engine.KexCount(sc) - 1
	sshRekeys := strings.Count(stderr.String(), "SSH2_MSG_NEWKEYS received") - 1
	t.Logf("%d MiB each way with %s in %s (%.0f MiB/s each way), %d key re-exchanges (ssh counts %d)",
		got.n>>20, sc.Algorithms().Write.Cipher, el.Round(100*time.Millisecond), float64(got.n>>20)/el.Seconds(), rekeys, sshRekeys)
	if got.n != rekeyVolume || got.sum() != sent.sum() {
		t.Fatalf("sent %d bytes (sha256 %s), got %d back (sha256 %s)", sent.n, sent.sum(), got.n, got.sum())
	}
	// ssh counts an exchange when our NEWKEYS arrives, we once we send it.
	if want := rekeyVolume/rekeyLimit - 1; rekeys < want || sshRekeys < rekeys-1 || sshRekeys > rekeys {
		t.Fatalf("%d key re-exchanges (ssh counts %d), want %d or more", rekeys, sshRekeys, want)
	}
}
