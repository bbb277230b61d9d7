package engine

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// messageConn is a socket that tells its relay's message size
// (sshio.RelayMessage), as a hop through a jump host's master does, and
// records its writes.
type messageConn struct {
	net.Conn
	max    int
	mu     sync.Mutex
	writes []int
}

func (c *messageConn) RelayMessage() int { return c.max }

func (c *messageConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// netConnOf wraps a conn and shows it with NetConn.
type netConnOf struct{ net.Conn }

func (w netConnOf) NetConn() net.Conn { return w.Conn }

// TestPacketsFitASizedSocket: over a socket that tells its relay's
// message size (a hop through a master, which copies each read into its
// channel whole), every packet fits one message, so none crosses as a
// full one and a runt.
func TestPacketsFitASizedSocket(t *testing.T) {
	t.Parallel()
	a, b := net.Pipe()
	t.Cleanup(func() { a.Close(); b.Close() })
	const max = 8 << 10
	outer := &messageConn{Conn: a, max: max}
	// Wrapped, as dial wraps every connection (rawio's, a byte count).
	ch, served := carriedChannel(t, b, netConnOf{outer})
	const size = 1 << 20
	msg := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if _, err := ch.Write(msg); err != nil {
		t.Fatal(err)
	}
	ch.CloseWrite()
	if got := <-served; !bytes.Equal(got, msg) {
		t.Fatalf("data changed: %d bytes of %d", len(got), len(msg))
	}
	outer.mu.Lock()
	defer outer.mu.Unlock()
	big := 0
	for _, n := range outer.writes {
		if n > max {
			t.Fatalf("a packet of %d bytes over a socket of %d-byte messages", n, max)
		}
		if n > max/2 {
			big++
		}
	}
	if want := size / max; big < want {
		t.Errorf("1 MiB left in %d packets over half a message, want at least %d", big, want)
	}
}

// TestWindowGivenBackEarly: the window read is given back once more than
// three packets' worth is outstanding, as OpenSSH does, not when half the
// window is gone: that halved the window a sender could use.
func TestWindowGivenBackEarly(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "test")
	const sent, read = 256 << 10, 128 << 10
	if _, err := cch.Write(make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(sch, make([]byte, read)); err != nil {
		t.Fatal(err)
	}
	c := cch.(*channel)
	want := uint32(initialWindow - sent + read)
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		swin := c.swin
		c.mu.Unlock()
		if swin >= want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("sender's window %d after the reader took %d of %d bytes, want %d", swin, read, sent, want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRekeyWhileDataFlowsBothWays: 16 MiB echoed through 32+ key
// re-exchanges arrives whole. It does not reproduce the deadlock writeData
// avoids (a writer holding wmu through an exchange while the reader needs
// wmu for a CLOSE): that needs a CLOSE in flight at the wrong moment, and
// this test passes with the old code too.
func TestRekeyWhileDataFlowsBothWays(t *testing.T) {
	t.Parallel()
	hk, user := newEd25519(t), newEd25519(t)
	cn, sn := net.Pipe()
	go func() {
		sc, err := Server(sn, &sshwire.ServerConfig{HostKeys: []ssh.Signer{hk},
			PublicKeyCallback: func(sshwire.ConnMetadata, ssh.PublicKey) (*sshwire.Permissions, error) { return nil, nil }})
		if err != nil {
			return
		}
		go sshwire.DiscardRequests(sc.GlobalRequests())
		for nc := range sc.HandleChannelOpen("") {
			ch, reqs, _ := nc.Accept()
			go sshwire.DiscardRequests(reqs)
			go func() { io.Copy(ch, ch); ch.CloseWrite() }()
		}
	}()
	c, err := Client(cn, "pipe", &sshwire.ClientConfig{User: "me", Auth: []sshwire.AuthMethod{sshwire.Signers(user)},
		HostKeyCallback: func(string, net.Addr, ssh.PublicKey) error { return nil }, RekeyLimit: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ch, reqs, err := c.OpenChannel(context.Background(), "echo", nil)
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(reqs)
	msg := bytes.Repeat([]byte("jumpgate"), 2<<20)
	go func() { ch.Write(msg); ch.CloseWrite() }()
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(ch); got <- b }()
	select {
	case b := <-got:
		if !bytes.Equal(b, msg) {
			t.Fatalf("echoed %d bytes of %d, or changed", len(b), len(msg))
		}
		pc := c.(*conn).pc.(*transport)
		pc.mu.Lock()
		n := pc.kexCount
		pc.mu.Unlock()
		if n < 32 {
			t.Errorf("%d key exchanges for 32 MiB at 256 KiB each", n)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("echo stalled during key re-exchanges")
	}
}

// carriedChannel runs a connection over outerClient (a channel, or a
// socket) whose far end is outerServer (a server of ours reading it), and
// opens a channel on it whose data the server sends on served once the
// channel ends.
func carriedChannel(t *testing.T, outerServer, outerClient net.Conn) (sshwire.Channel, <-chan []byte) {
	t.Helper()
	hk, user := newEd25519(t), newEd25519(t)
	served := make(chan []byte, 1)
	go func() {
		sc, err := Server(outerServer, &sshwire.ServerConfig{HostKeys: []ssh.Signer{hk},
			PublicKeyCallback: func(sshwire.ConnMetadata, ssh.PublicKey) (*sshwire.Permissions, error) { return nil, nil }})
		if err != nil {
			served <- nil
			return
		}
		go sshwire.DiscardRequests(sc.GlobalRequests())
		for nc := range sc.HandleChannelOpen("") {
			ch, reqs, _ := nc.Accept()
			go sshwire.DiscardRequests(reqs)
			b, _ := io.ReadAll(ch)
			served <- b
			ch.Close()
		}
	}()
	c, err := Client(outerClient, "carried", &sshwire.ClientConfig{User: "me",
		Auth:            []sshwire.AuthMethod{sshwire.Signers(user)},
		HostKeyCallback: func(string, net.Addr, ssh.PublicKey) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ch, reqs, err := c.OpenChannel(context.Background(), "bulk", nil)
	if err != nil {
		t.Fatal(err)
	}
	go sshwire.DiscardRequests(reqs)
	return ch, served
}

// pausedConn stops reading while paused, as a peer that falls behind.
type pausedConn struct {
	*sshwire.ChannelConn
	paused atomic.Bool
	resume chan struct{}
}

func (c *pausedConn) Read(p []byte) (int, error) {
	if c.paused.Load() {
		<-c.resume
	}
	return c.ChannelConn.Read(p)
}

// TestCarriedWriteWaitsUncorked: a write on a carried connection corks
// the socket under the carrier; when the carrier's window runs out, it
// waits with the socket uncorked, or what the far side needs to answer
// would sit in the kernel for 200 ms.
func TestCarriedWriteWaitsUncorked(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "direct-tcpip")
	mt := cch.(*channel).conn.pc.(*memTransport)
	outerServer := &pausedConn{ChannelConn: &sshwire.ChannelConn{Channel: sch}, resume: make(chan struct{})}
	ch, served := carriedChannel(t, outerServer, &sshwire.ChannelConn{Channel: cch})
	// The inner server's reader is inside a Read already: a small message
	// ends it, and its next Read waits. The carrier's window must run out
	// before the inner channel's, which is as large less the framing.
	outerServer.paused.Store(true)
	resume := sync.OnceFunc(func() { close(outerServer.resume) })
	defer resume()
	if _, err := ch.SendRequest("nudge@jumpgate", false, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	msg := bytes.Repeat([]byte("0123456789abcdef"), (3<<20)/16)
	wrote := make(chan error, 1)
	go func() {
		_, err := ch.Write(msg)
		ch.CloseWrite()
		wrote <- err
	}()
	waitWindowSpent(t, cch.(*channel))
	time.Sleep(50 * time.Millisecond) // the writer waits for the carrier's window by now
	if mt.corks.Load() == 0 {
		t.Error("the carried write never corked the socket under its carrier")
	}
	if mt.corked.Load() {
		t.Error("the carried write waits for its carrier's window with the socket corked")
	}
	resume()
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if got := <-served; !bytes.Equal(got, msg) {
		t.Fatalf("carried data changed: %d bytes of %d", len(got), len(msg))
	}
}
