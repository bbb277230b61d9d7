package engine

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshio"
	"github.com/jumpgate/jumpgate/internal/sshtest"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// testHostKeys are one signer of each host key type; RSA keys are slow to
// make, so a test makes them once and shares them.
type testHostKeys struct {
	ed25519, ecdsa256, ecdsa384, ecdsa521, rsa ssh.Signer
}

func newTestHostKeys(t testing.TB) *testHostKeys {
	t.Helper()
	k := &testHostKeys{}
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer := func(key any) ssh.Signer {
		s, err := ssh.NewSignerFromKey(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	k.ed25519 = signer(ed)
	for _, c := range []struct {
		curve elliptic.Curve
		dst   *ssh.Signer
	}{{elliptic.P256(), &k.ecdsa256}, {elliptic.P384(), &k.ecdsa384}, {elliptic.P521(), &k.ecdsa521}} {
		e, err := ecdsa.GenerateKey(c.curve, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		*c.dst = signer(e)
	}
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k.rsa = signer(r)
	return k
}

func (k *testHostKeys) all() []ssh.Signer {
	return []ssh.Signer{k.ed25519, k.ecdsa256, k.ecdsa384, k.ecdsa521, k.rsa}
}

// pairConfigs are a client and server configuration that trust each
// other; the client records the key it was shown.
func pairConfigs(keys []ssh.Signer, algs sshwire.AlgorithmList) (client, server *transportConfig) {
	client = &transportConfig{version: "SSH-2.0-jumpgate_test", algorithms: algs,
		dialAddr: "pipe",
		hostKeyCallback: func(string, net.Addr, ssh.PublicKey) error {
			return nil
		}}
	server = &transportConfig{isServer: true, version: "SSH-2.0-jumpgate_testd", algorithms: algs, hostKeys: keys}
	return client, server
}

// handshakePair runs both handshakes over nc pair.
func handshakePair(t testing.TB, cc, sc net.Conn, ccfg, scfg *transportConfig) (client, server packetConn, cerr, serr error) {
	t.Helper()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		server, serr = handshake(sc, scfg)
		if serr != nil {
			sc.Close()
		}
	}()
	client, cerr = handshake(cc, ccfg)
	if cerr != nil {
		cc.Close()
	}
	wg.Wait()
	return client, server, cerr, serr
}

func newPipePair(t testing.TB, ccfg, scfg *transportConfig) (client, server packetConn) {
	t.Helper()
	cc, sc := net.Pipe()
	client, server, cerr, serr := handshakePair(t, cc, sc, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	t.Cleanup(func() {
		client.close()
		server.close()
	})
	return client, server
}

// pairReaders read both ends of a pair for as long as they are open, as
// a connection's reader does, so that key exchanges run, and pass the
// messages on.
type pairReaders struct {
	a, b   packetConn
	ain    chan []byte // read by a
	bin    chan []byte
	errors chan error
}

func startReaders(a, b packetConn) *pairReaders {
	r := &pairReaders{a: a, b: b, ain: make(chan []byte, 1024), bin: make(chan []byte, 1024), errors: make(chan error, 2)}
	read := func(pc packetConn, out chan []byte) {
		defer close(out)
		for {
			p, err := pc.readPacket()
			if err != nil {
				r.errors <- err
				return
			}
			out <- bytes.Clone(p)
		}
	}
	go read(a, r.ain)
	go read(b, r.bin)
	return r
}

// exchange sends count messages of growing sizes each way at once and
// checks that they arrive whole and in order.
func exchange(t testing.TB, r *pairReaders, count int) {
	t.Helper()
	msg := func(tag byte, i int) []byte {
		p := bytes.Repeat([]byte{tag, byte(i)}, 1+(i*997)%16000)
		p[0] = 94 // SSH_MSG_CHANNEL_DATA's number: any non-transport message
		return p
	}
	errs := make(chan error, 4)
	send := func(w packetConn, tag byte) {
		for i := range count {
			if err := w.writePacket(msg(tag, i)); err != nil {
				errs <- fmt.Errorf("write %d: %w", i, err)
				return
			}
		}
		errs <- nil
	}
	recv := func(in chan []byte, tag byte) {
		for i := range count {
			p, ok := <-in
			if !ok {
				errs <- fmt.Errorf("read %d: %w", i, <-r.errors)
				return
			}
			if want := msg(tag, i); !bytes.Equal(p, want) {
				errs <- fmt.Errorf("message %d: got %d bytes, want %d", i, len(p), len(want))
				return
			}
		}
		errs <- nil
	}
	go send(r.a, 'a')
	go send(r.b, 'b')
	go recv(r.bin, 'a')
	go recv(r.ain, 'b')
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func TestTransportAlgorithms(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	type tc struct {
		name string
		algs sshwire.AlgorithmList
	}
	var cases []tc
	for _, k := range slices.Concat(defaultKexes(), legacyKexes()) {
		cases = append(cases, tc{name: "kex/" + k, algs: sshwire.AlgorithmList{KeyExchanges: []string{k}}})
	}
	for _, c := range allCiphers() {
		cases = append(cases, tc{name: "cipher/" + c, algs: sshwire.AlgorithmList{
			KeyExchanges: []string{"curve25519-sha256"}, Ciphers: []string{c}}})
	}
	for _, m := range allMACs() {
		for _, c := range []string{"aes128-ctr", "aes256-cbc"} {
			cases = append(cases, tc{name: "mac/" + c + "/" + m, algs: sshwire.AlgorithmList{
				KeyExchanges: []string{"curve25519-sha256"}, Ciphers: []string{c}, MACs: []string{m}}})
		}
	}
	for _, h := range []string{"ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
		"ecdsa-sha2-nistp521", "rsa-sha2-256", "rsa-sha2-512", "ssh-rsa"} {
		cases = append(cases, tc{name: "hostkey/" + h, algs: sshwire.AlgorithmList{
			KeyExchanges: []string{"curve25519-sha256"}, HostKeys: []string{h}}})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ccfg, scfg := pairConfigs(keys.all(), c.algs)
			client, server := newPipePair(t, ccfg, scfg)
			ca, sa := client.algorithms(), server.algorithms()
			if ca.KeyExchange != sa.KeyExchange || ca.Write != sa.Read || ca.Read != sa.Write || ca.HostKey != sa.HostKey {
				t.Fatalf("client chose %+v, server %+v", ca, sa)
			}
			check := func(what, got string, want []string) {
				if len(want) > 0 && got != want[0] {
					t.Errorf("%s: negotiated %q, want %q", what, got, want[0])
				}
			}
			check("kex", ca.KeyExchange, c.algs.KeyExchanges)
			check("cipher", ca.Write.Cipher, c.algs.Ciphers)
			check("host key", ca.HostKey, c.algs.HostKeys)
			if i, _ := lookupCipher(ca.Write.Cipher); !i.aead {
				check("mac", ca.Write.MAC, c.algs.MACs)
			}
			if !bytes.Equal(client.sessionID(), server.sessionID()) || len(client.sessionID()) == 0 {
				t.Fatal("session IDs differ")
			}
			r := startReaders(client, server)
			// EXT_INFO comes with the first packet after NEWKEYS.
			exchange(t, r, 1)
			if got := strings.Join(client.serverSigAlgs(), ","); !strings.Contains(got, "rsa-sha2-256") {
				t.Errorf("server-sig-algs = %q", got)
			}
			exchange(t, r, 40)
		})
	}
}

// TestTransportCompression runs zlib@openssh.com: nothing compressed
// before authentication, both directions after.
func TestTransportCompression(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{"curve25519-sha256"}})
	ccfg.compression, scfg.compression = true, true
	client, server := newPipePair(t, ccfg, scfg)
	if got := client.algorithms().Write.Compression; got != "zlib@openssh.com" {
		t.Fatalf("compression %q, want zlib@openssh.com", got)
	}
	r := startReaders(client, server)
	exchange(t, r, 5)
	if client.(*transport).wr.deflate != nil {
		t.Fatal("compressing before authentication")
	}
	server.authenticated()
	client.authenticated()
	exchange(t, r, 60)
	if client.(*transport).wr.deflate == nil {
		t.Fatal("not compressing after authentication")
	}
}

func TestDisconnectError(t *testing.T) {
	t.Parallel()
	keys := newTestHostKeys(t)
	ccfg, scfg := pairConfigs(keys.all(), sshwire.AlgorithmList{KeyExchanges: []string{"curve25519-sha256"}})
	client, server := newPipePair(t, ccfg, scfg)
	p := appendSSHUint32([]byte{msgDisconnect}, disconnectByApplication)
	p = appendSSHString(p, []byte("bye"))
	p = appendSSHString(p, nil)
	go server.writePacket(p)
	_, err := client.readPacket()
	var de *DisconnectError
	if !errors.As(err, &de) || de.Reason != disconnectByApplication || de.Message != "bye" {
		t.Fatalf("readPacket = %v, want the peer's disconnect", err)
	}
}

// TestTransportMinRTT: a transport over TCP tells the path's round trip
// (windows grow by it), and a channel of its connection tells the same to
// a connection carried over it.
func TestTransportMinRTT(t *testing.T) {
	t.Parallel()
	cc, sc := sshtest.TCPPair(t)
	ccfg, scfg := pairConfigs([]ssh.Signer{newTestHostKeys(t).ed25519}, sshwire.AlgorithmList{})
	client, server, cerr, serr := handshakePair(t, cc, sc, ccfg, scfg)
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v", cerr, serr)
	}
	defer client.close()
	defer server.close()
	if rtt := client.minRTT(); rtt <= 0 || rtt > time.Second {
		t.Errorf("over loopback TCP: %v, want above 0 and far below a second", rtt)
	}
	ch := &channel{conn: &conn{pc: client}}
	if got := sshio.MinRTT(&sshwire.ChannelConn{Channel: ch}); got != client.minRTT() {
		t.Errorf("through a channel: %v, want the connection's %v", got, client.minRTT())
	}
}
