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

// sizedConn reads an outer channel a message at a time, counting them.
type sizedConn struct {
	*sshwire.ChannelConn
	mu    sync.Mutex
	sizes []int
	rest  []byte
}

func (c *sizedConn) Read(p []byte) (int, error) {
	if len(c.rest) == 0 {
		m, err := c.Channel.(sshwire.PacketReader).ReadPacket()
		if err != nil {
			return 0, err
		}
		c.mu.Lock()
		c.sizes = append(c.sizes, len(m))
		c.mu.Unlock()
		c.rest = m
	}
	n := copy(p, c.rest)
	c.rest = c.rest[n:]
	return n, nil
}

// TestCarriedPacketsFitTheCarrier: a connection carried over a channel
// (a hop of a jump chain) sizes its packets to fit the channel's
// messages, so bulk data crosses one carrier message per packet instead
// of a full one and a sliver.
func TestCarriedPacketsFitTheCarrier(t *testing.T) {
	t.Parallel()
	_, cch, sch := rawChannels(t, "direct-tcpip")
	outerServer := &sizedConn{ChannelConn: &sshwire.ChannelConn{Channel: sch}}
	ch, served := carriedChannel(t, outerServer, cch)
	outerServer.mu.Lock()
	before := len(outerServer.sizes)
	outerServer.mu.Unlock()
	const size = 4 << 20
	msg := bytes.Repeat([]byte("0123456789abcdef"), size/16)
	if _, err := ch.Write(msg); err != nil {
		t.Fatal(err)
	}
	ch.CloseWrite()
	if got := <-served; !bytes.Equal(got, msg) {
		t.Fatalf("carried data changed: %d bytes of %d", len(got), len(msg))
	}
	outerServer.mu.Lock()
	defer outerServer.mu.Unlock()
	sent := outerServer.sizes[before:]
	max := cch.(*channel).MaxMessage()
	// Full packets, plus a few window adjusts and the closing messages.
	if want := size/max + size/max/8 + 8; len(sent) > want {
		t.Errorf("4 MiB crossed in %d carrier messages, want at most %d (carrier messages of %d bytes)", len(sent), want, max)
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

// carriedChannel runs a connection over cch, a channel whose far end is
// outerServer (a server of ours reading it), and opens a channel on it
// whose data the server sends on served once the channel ends.
func carriedChannel(t *testing.T, outerServer net.Conn, cch sshwire.Channel) (sshwire.Channel, <-chan []byte) {
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
	c, err := Client(&sshwire.ChannelConn{Channel: cch}, "carried", &sshwire.ClientConfig{User: "me",
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
	ch, served := carriedChannel(t, outerServer, cch)
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
