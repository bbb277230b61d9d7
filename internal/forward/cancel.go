package forward

// Cancelling one remote forward while the connection stays up: a
// multiplexing master shares one Forwarder (the connection's forwarded
// channels can be handed to only one taker) between the forwards of many
// clients, and a client's forwards must end with that client.

import (
	"context"
	"errors"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// ErrNotForwarded is a cancel for a remote forward that is not running.
var ErrNotForwarded = errors.New("port not forwarded")

// CancelRemote asks the server to stop listening for the remote forward fw
// (cancel-tcpip-forward, RFC 4254 7.1; cancel-streamlocal-forward@openssh.com,
// OpenSSH PROTOCOL 2.4) and stops serving it. fw is as given to
// [Forwarder.Start]; a port of 0 names the port the server allocated.
// Connections already forwarded go on until they end.
func (f *Forwarder) CancelRemote(ctx context.Context, fw sshconf.Forward) error {
	f.mu.Lock()
	var r *remote
	for i, x := range f.remotes {
		if x.fw == fw {
			r = x
			f.remotes = append(f.remotes[:i:i], f.remotes[i+1:]...)
			break
		}
	}
	f.mu.Unlock()
	if r == nil {
		return ErrNotForwarded
	}
	name, payload := "cancel-tcpip-forward", ssh.Marshal(&tcpipForwardMsg{r.host, uint32(r.port)})
	if fw.ListenPath != "" {
		name, payload = "cancel-streamlocal-forward@openssh.com", ssh.Marshal(&streamlocalForwardMsg{fw.ListenPath})
	}
	var (
		ok  bool
		err error
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ok, _, err = f.c.SendRequest(context.Background(), name, true, payload)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	if !ok {
		return errors.New("the server refused to cancel the forward")
	}
	return nil
}
