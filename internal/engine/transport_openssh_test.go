package engine

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// Debian's OpenSSH 9.2 has every algorithm we offer but the ML-KEM hybrid
// (OpenSSH 9.9), which only our own pair covers.
func interopKexes() []string {
	return slices.DeleteFunc(defaultKexes(), func(k string) bool { return k == "mlkem768x25519-sha256" })
}

func allCiphers() []string { return slices.Concat(defaultCiphers(), legacyCiphers()) }

func allMACs() []string { return slices.Concat(defaultMACs(), legacyMACs()) }

// interopAllKexes adds the legacy methods, which both sides offer only
// when configured to.
func interopAllKexes() []string { return slices.Concat(interopKexes(), legacyKexes()) }

// sshdHostKeys writes an RSA and an ECDSA host key for sshd beside the
// ed25519 one StartSSHD makes, and returns their HostKey lines.
func sshdHostKeys(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	for _, kt := range []string{"rsa", "ecdsa"} {
		p := filepath.Join(dir, kt)
		if out, err := exec.Command("ssh-keygen", "-q", "-t", kt, "-N", "", "-f", p).CombinedOutput(); err != nil {
			t.Fatalf("ssh-keygen: %v: %s", err, out)
		}
		lines = append(lines, "HostKey "+p)
	}
	return lines
}

// probeSSHD runs our client's transport against sshd: the service
// request and a "none" authentication attempt prove that both directions
// decrypt. With a user key it then authenticates, which starts delayed
// compression, and sends a global request that sshd must answer.
func probeSSHD(t *testing.T, srv *sshtest.SSHD, cfg *transportConfig, user ssh.Signer) packetConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", srv.Addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	cfg.dialAddr = srv.Addr
	cfg.hostKeyCallback = func(_ string, _ net.Addr, key ssh.PublicKey) error {
		return nil
	}
	pc, err := handshake(nc, cfg)
	if err != nil {
		nc.Close()
		t.Fatalf("handshake: %v", err)
	}
	t.Cleanup(func() { pc.close() })
	if err := pc.writePacket(appendSSHString([]byte{msgServiceRequest}, []byte("ssh-userauth"))); err != nil {
		t.Fatal(err)
	}
	expect(t, pc, msgServiceAccept)
	if !slices.Contains(pc.serverSigAlgs(), "rsa-sha2-256") {
		t.Errorf("server-sig-algs = %q", pc.serverSigAlgs())
	}
	req := appendSSHString([]byte{50}, []byte("root"))
	req = appendSSHString(req, []byte("ssh-connection"))
	req = appendSSHString(req, []byte("none"))
	if err := pc.writePacket(req); err != nil {
		t.Fatal(err)
	}
	p := expect(t, pc, 51)
	r := pktReader{b: p[1:]}
	if methods := r.nameList(); !slices.Contains(methods, "publickey") {
		t.Fatalf("USERAUTH_FAILURE lists %q", methods)
	}
	if user == nil {
		return pc
	}
	alg := user.PublicKey().Type()
	blob := user.PublicKey().Marshal()
	signed := appendSSHString(nil, pc.sessionID())
	signed = append(signed, 50)
	signed = appendSSHString(signed, []byte("root"))
	signed = appendSSHString(signed, []byte("ssh-connection"))
	signed = appendSSHString(signed, []byte("publickey"))
	signed = appendSSHBool(signed, true)
	signed = appendSSHString(signed, []byte(alg))
	signed = appendSSHString(signed, blob)
	sig, err := user.Sign(rand.Reader, signed)
	if err != nil {
		t.Fatal(err)
	}
	req = append([]byte{50}, signed[4+len(pc.sessionID())+1:]...)
	req = appendSSHString(req, marshalSignature(sig))
	if err := pc.writePacket(req); err != nil {
		t.Fatal(err)
	}
	expect(t, pc, 52)
	pc.authenticated()
	globalRequest(t, pc)
	return pc
}

// globalRequest sends keepalive@openssh.com wanting a reply and waits for
// it (sshd refuses it: REQUEST_FAILURE).
func globalRequest(t *testing.T, pc packetConn) {
	t.Helper()
	g := appendSSHString([]byte{80}, []byte("keepalive@openssh.com"))
	g = appendSSHBool(g, true)
	if err := pc.writePacket(g); err != nil {
		t.Fatal(err)
	}
	expect(t, pc, 82)
}

func expect(t *testing.T, pc packetConn, want byte) []byte {
	t.Helper()
	for {
		p, err := pc.readPacket()
		if err != nil {
			t.Fatalf("waiting for message %d: %v", want, err)
		}
		if p[0] == 80 { // sshd's hostkeys-00@openssh.com after authentication
			continue
		}
		if p[0] != want {
			t.Fatalf("got message %d, want %d", p[0], want)
		}
		return p
	}
}

func TestInteropClientAgainstSSHD(t *testing.T) {
	hostKeys := sshdHostKeys(t)
	_, userPriv, _ := ed25519.GenerateKey(rand.Reader)
	user, err := ssh.NewSignerFromKey(userPriv)
	if err != nil {
		t.Fatal(err)
	}
	conf := append(hostKeys,
		"Ciphers "+strings.Join(allCiphers(), ","),
		"MACs "+strings.Join(allMACs(), ","),
		"KexAlgorithms "+strings.Join(interopAllKexes(), ","),
		"HostKeyAlgorithms +ssh-rsa",
		"Compression yes",
		"AuthorizedKeysFile {dir}/authorized_keys",
		"PermitRootLogin prohibit-password",
		"RekeyLimit 256K",
		"LogLevel DEBUG2")
	srv := sshtest.StartSSHD(t, conf...)
	if err := os.WriteFile(filepath.Join(srv.Dir, "authorized_keys"), ssh.MarshalAuthorizedKey(user.PublicKey()), 0o600); err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name string
		algs sshwire.AlgorithmList
	}
	var cases []tc
	for _, k := range interopAllKexes() {
		cases = append(cases, tc{"kex/" + k, sshwire.AlgorithmList{KeyExchanges: []string{k}}})
	}
	for _, c := range allCiphers() {
		cases = append(cases, tc{"cipher/" + c, sshwire.AlgorithmList{Ciphers: []string{c}}})
	}
	for _, m := range allMACs() {
		cases = append(cases, tc{"mac/" + m, sshwire.AlgorithmList{Ciphers: []string{"aes128-ctr"}, MACs: []string{m}}})
		cases = append(cases, tc{"mac-cbc/" + m, sshwire.AlgorithmList{Ciphers: []string{"aes256-cbc"}, MACs: []string{m}}})
	}
	for _, h := range []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa"} {
		cases = append(cases, tc{"hostkey/" + h, sshwire.AlgorithmList{HostKeys: []string{h}}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &transportConfig{version: "SSH-2.0-jumpgate_test", algorithms: c.algs}
			pc := probeSSHD(t, srv, cfg, nil)
			a := pc.algorithms()
			for _, w := range [][2]string{{a.KeyExchange, first(c.algs.KeyExchanges)},
				{a.Write.Cipher, first(c.algs.Ciphers)}, {a.Read.Cipher, first(c.algs.Ciphers)},
				{a.Write.MAC, first(c.algs.MACs)}, {a.HostKey, first(c.algs.HostKeys)}} {
				if w[1] != "" && w[0] != w[1] {
					t.Errorf("negotiated %q, want %q", w[0], w[1])
				}
			}
		})
	}
	t.Run("compression", func(t *testing.T) {
		cfg := &transportConfig{version: "SSH-2.0-jumpgate_test", compression: true}
		pc := probeSSHD(t, srv, cfg, user)
		a := pc.algorithms()
		if a.Read.Compression != "zlib@openssh.com" || a.Write.Compression != "zlib@openssh.com" {
			t.Fatalf("compression %+v", a)
		}
		for range 20 {
			globalRequest(t, pc)
		}
	})
	// Key re-exchanges that we start (every 64 KiB) and that sshd starts
	// (RekeyLimit 256K): the reader runs them while the writer writes.
	for _, limit := range []uint64{64 << 10, 0} {
		t.Run(fmt.Sprint("rekey/", limit), func(t *testing.T) { rekeyAgainstSSHD(t, srv, user, limit, false) })
	}
	// Each NEWKEYS restarts the zlib streams, on both sides.
	t.Run("rekey/compressed", func(t *testing.T) { rekeyAgainstSSHD(t, srv, user, 64<<10, true) })
}

func rekeyAgainstSSHD(t *testing.T, srv *sshtest.SSHD, user ssh.Signer, limit uint64, compress bool) {
	{
		cfg := &transportConfig{version: "SSH-2.0-jumpgate_test", rekeyBytes: limit, compression: compress}
		pc := probeSSHD(t, srv, cfg, user)
		replies := make(chan error, 1)
		const requests = 20
		go func() {
			n := 0
			for n < requests {
				p, err := pc.readPacket()
				if err != nil {
					replies <- fmt.Errorf("read: %w", err)
					return
				}
				if p[0] == 82 {
					n++
				}
			}
			replies <- nil
		}()
		// Random and fresh, so that it does not compress away.
		junk := appendSSHString([]byte{msgIgnore}, make([]byte, 16<<10))
		g := appendSSHString([]byte{80}, []byte("keepalive@openssh.com"))
		g = appendSSHBool(g, true)
		for i := range 200 {
			rand.Read(junk[5:])
			if err := pc.writePacket(junk); err != nil {
				t.Fatalf("write: %v (reader: %v)", err, <-replies)
			}
			if i%10 == 9 {
				if err := pc.writePacket(g); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := <-replies; err != nil {
			t.Fatal(err)
		}
		if compress && pc.algorithms().Write.Compression != "zlib@openssh.com" {
			t.Fatalf("compression %+v", pc.algorithms())
		}
		tr := pc.(*transport)
		tr.mu.Lock()
		n := tr.kexCount
		tr.mu.Unlock()
		// sshd checks its limit only when it sends: one re-exchange at
		// least. Ours: the IGNOREs written during an exchange queue (up
		// to a packet's worth) and go out after it.
		want := 2
		if limit > 0 {
			want = 6
		}
		if n < want {
			t.Fatalf("%d key exchanges after 3 MiB, want %d or more", n, want)
		}
	}
}

func first(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// testServer is our transport's server for OpenSSH's client: it accepts
// ssh-userauth and refuses every attempt but "publickey" listing, or,
// with acceptNone, lets "none" in and refuses every channel.
type testServer struct {
	ln         net.Listener
	cfg        *transportConfig
	acceptNone bool
	wg         sync.WaitGroup
	errs       chan error
}

func startTestServer(t *testing.T, cfg *transportConfig, acceptNone bool) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln, cfg: cfg, acceptNone: acceptNone, errs: make(chan error, 16)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer nc.Close()
				nc.SetDeadline(time.Now().Add(30 * time.Second))
				if err := s.serve(nc); err != nil {
					select {
					case s.errs <- err:
					default:
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) port() int { return s.ln.Addr().(*net.TCPAddr).Port }

func (s *testServer) serve(nc net.Conn) error {
	pc, err := handshake(nc, s.cfg)
	if err != nil {
		return err
	}
	defer pc.close()
	for {
		p, err := pc.readPacket()
		if err != nil {
			var de *DisconnectError
			if errors.As(err, &de) {
				return nil
			}
			return err
		}
		var reply []byte
		switch p[0] {
		case msgServiceRequest:
			reply = appendSSHString([]byte{msgServiceAccept}, []byte("ssh-userauth"))
		case 50:
			r := pktReader{b: p[1:]}
			r.string()
			r.string()
			if method := string(r.string()); s.acceptNone && method == "none" {
				if err := pc.writePacket([]byte{52}); err != nil {
					return err
				}
				pc.authenticated()
				continue
			}
			reply = appendSSHNameList([]byte{51}, []string{"publickey"})
			reply = appendSSHBool(reply, false)
		case 90: // CHANNEL_OPEN
			r := pktReader{b: p[1:]}
			r.string()
			id := r.uint32()
			reply = appendSSHUint32([]byte{92}, id)
			reply = appendSSHUint32(reply, 1)
			reply = appendSSHString(reply, []byte("test server"))
			reply = appendSSHString(reply, nil)
		case 80:
			r := pktReader{b: p[1:]}
			r.string()
			if !r.bool() {
				continue
			}
			reply = []byte{82}
		default:
			reply = appendSSHUint32([]byte{msgUnimplemented}, 0)
		}
		if err := pc.writePacket(reply); err != nil {
			return err
		}
	}
}

// runSSH runs Debian's ssh against port and returns its exit code and log.
func runSSH(t *testing.T, port int, args ...string) (int, string) {
	t.Helper()
	base := []string{"-vvv", "-F", "none", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
		"-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "-p", fmt.Sprint(port)}
	cmd := exec.Command("ssh", append(append(base, args...), "127.0.0.1", "true")...)
	var out sshtest.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("ssh: %v", err)
	}
	return cmd.ProcessState.ExitCode(), out.String()
}

func TestInteropOpenSSHClient(t *testing.T) {
	sshtest.RequireOpenSSH(t, "ssh")
	keys := newTestHostKeys(t)
	cfg := &transportConfig{isServer: true, version: "SSH-2.0-jumpgate_testd", hostKeys: keys.all(),
		algorithms:  sshwire.AlgorithmList{KeyExchanges: interopAllKexes(), Ciphers: allCiphers(), MACs: allMACs()},
		compression: true}
	srv := startTestServer(t, cfg, false)
	type tc struct {
		name  string
		args  []string
		wants []string
	}
	var cases []tc
	for _, k := range interopAllKexes() {
		cases = append(cases, tc{"kex/" + k, []string{"-o", "KexAlgorithms=" + k}, []string{"kex: algorithm: " + k}})
	}
	for _, c := range allCiphers() {
		cases = append(cases, tc{"cipher/" + c, []string{"-c", c},
			[]string{"kex: server->client cipher: " + c, "kex: client->server cipher: " + c}})
	}
	for _, m := range allMACs() {
		for _, c := range []string{"aes128-ctr", "aes256-cbc"} {
			cases = append(cases, tc{"mac/" + c + "/" + m, []string{"-c", c, "-m", m},
				[]string{"kex: server->client cipher: " + c + " MAC: " + m, "kex: client->server cipher: " + c + " MAC: " + m}})
		}
	}
	for _, h := range []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "rsa-sha2-256", "rsa-sha2-512"} {
		cases = append(cases, tc{"hostkey/" + h, []string{"-o", "HostKeyAlgorithms=" + h}, []string{"kex: host key algorithm: " + h}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			code, log := runSSH(t, srv.port(), c.args...)
			if code != 255 || !strings.Contains(log, "Permission denied (publickey)") {
				t.Fatalf("ssh exited %d:\n%s", code, log)
			}
			for _, w := range c.wants {
				if !strings.Contains(log, w) {
					t.Errorf("log lacks %q:\n%s", w, log)
				}
			}
			if !strings.Contains(log, "kex-strict-s-v00@openssh.com") {
				t.Errorf("no strict key exchange:\n%s", log)
			}
		})
	}
	t.Run("compression", func(t *testing.T) {
		srv := startTestServer(t, cfg, true)
		code, log := runSSH(t, srv.port(), "-C")
		if code != 255 || !strings.Contains(log, "open failed: administratively prohibited: test server") ||
			!strings.Contains(log, "compression: zlib@openssh.com") || !strings.Contains(log, "Enabling compression") {
			t.Fatalf("ssh exited %d:\n%s", code, log)
		}
	})
	select {
	case err := <-srv.errs:
		t.Errorf("server: %v", err)
	default:
	}
}
