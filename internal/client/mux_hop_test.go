package client

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/engine"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// sizedPipe is one end of a pipe that tells a message size, as a hop
// through a master does.
type sizedPipe struct {
	net.Conn
	max int
}

func (p sizedPipe) RelayMessage() int { return p.max }

// TestHopMessageFitsTheMaster: the master of a host whose chain has n
// hops runs its connection over a hop that tells hopMessage(n-1) (TCP
// for n = 0); its channels' messages must hold what a client through it
// is told, hopMessage(n), or each packet would cross as a full message
// and a runt.
func TestHopMessageFitsTheMaster(t *testing.T) {
	_, hk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	for n := range 5 {
		a, b := net.Pipe()
		var under net.Conn = a
		if n > 0 {
			under = sizedPipe{Conn: a, max: hopMessage(n - 1)}
		}
		go func() {
			sc, err := engine.Server(b, &sshwire.ServerConfig{HostKeys: []ssh.Signer{signer},
				PublicKeyCallback: func(sshwire.ConnMetadata, ssh.PublicKey) (*sshwire.Permissions, error) { return nil, nil }})
			if err != nil {
				return
			}
			go sshwire.DiscardRequests(sc.GlobalRequests())
			for nc := range sc.HandleChannelOpen("") {
				_, reqs, _ := nc.Accept()
				go sshwire.DiscardRequests(reqs)
			}
		}()
		c, err := engine.Client(under, "master", &sshwire.ClientConfig{User: "me",
			Auth:            []sshwire.AuthMethod{sshwire.Signers(signer)},
			HostKeyCallback: func(string, net.Addr, ssh.PublicKey) error { return nil }})
		if err != nil {
			t.Fatal(err)
		}
		ch, reqs, err := c.OpenChannel(context.Background(), "direct-tcpip", nil)
		if err != nil {
			t.Fatal(err)
		}
		go sshwire.DiscardRequests(reqs)
		got := ch.(sshwire.MessageSizer).MaxMessage()
		if got < hopMessage(n) {
			t.Errorf("chain of %d: the master's channel carries %d bytes a message, a client through it is told %d", n, got, hopMessage(n))
		}
		c.Close()
		b.Close()
	}
}
