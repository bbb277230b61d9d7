package client

// Hop reuse: a jump host is reached through its own master, started in
// the background when none runs, so a chain authenticates each hop once.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"github.com/jumpgate/jumpgate/internal/mux"
	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// hopViaMaster is dial's ViaMaster: a connection to addr through the
// jump host hop's master, started in the background if none runs.
func (r *Client) hopViaMaster(ctx context.Context, hop *sshconf.Host, addr string) (net.Conn, error) {
	s, err := r.muxSettingsFor(hop, nil)
	if err != nil || !s.on() || s.mode == "no" && !s.tryMaster() {
		return nil, nil
	}
	c, dead, _ := r.dialMaster(ctx, s.path, true)
	if dead {
		r.log.Infof("Control master at %s for jump host %s did not answer within %v; connecting directly.", s.path, hop.Original(), MuxAnswerBound)
		return nil, nil
	}
	if c == nil {
		if !s.becomeMaster() || s.persist == 0 {
			return nil, nil
		}
		path, err := r.spawnMaster(ctx, r.hopMasterArgs(hop), s.path)
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) {
				return nil, fmt.Errorf("master for jump host %s failed to connect", hop.Original())
			}
			r.log.Debugf("jump host %s: %v", hop.Original(), err)
			return nil, nil
		}
		if c, _, err = r.dialMaster(ctx, path, false); err != nil {
			return nil, nil
		}
	}
	host, port, _ := net.SplitHostPort(addr)
	p, _ := strconv.Atoi(port)
	fds, err := socketPair()
	if err != nil {
		c.Close()
		return nil, err
	}
	theirs := os.NewFile(uintptr(fds[1]), "hop-theirs")
	ours := os.NewFile(uintptr(fds[0]), "hop-ours")
	defer ours.Close()
	err = c.StdioForward(ctx, host, uint32(p), theirs, theirs)
	theirs.Close()
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cannot reach %s from jump host %s through its master: %v", addr, hop.Original(), err)
	}
	nc, err := net.FileConn(ours)
	if err != nil {
		c.Close()
		return nil, err
	}
	r.log.Debugf("Reusing the master connection of jump host %s", hop.Original())
	// The master's connection to hop is carried by the hops before it.
	return &hopConn{Conn: nc, c: c, max: hopMessage(len(r.route(hop)) - 1)}, nil
}

// hopConn keeps the control connection of its stdio forward open.
type hopConn struct {
	net.Conn
	c   *mux.Client
	max int
}

// SyscallConn exposes the socket, so the transport over it reads and
// writes with raw system calls (see rawio) as it does over TCP.
func (h *hopConn) SyscallConn() (syscall.RawConn, error) {
	sc, ok := h.Conn.(syscall.Conn)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	return sc.SyscallConn()
}

// RelayMessage bounds the packets of the transport over the hop
// (sshio.RelayMessage) to what the master's channel sends as one message:
// the master copies each read of the socket into its channel whole.
func (h *hopConn) RelayMessage() int { return h.max }

// hopMessage is the most a hop master's channel carries in one message:
// 32 KiB, the largest packet sshd and our server take on a forward, less
// what each connection under the master's own frames its packets with
// (134 bytes in our engine; 256 leaves room).
func hopMessage(chain int) int { return 32<<10 - 256*chain }

func (h *hopConn) Close() error {
	err := h.Conn.Close()
	h.c.Close()
	return err
}

// hopMasterArgs is the command line of a background master for a jump
// host, resolved as resolveHop resolves it.
func (r *Client) hopMasterArgs(hop *sshconf.Host) []string {
	args := []string{"jumpgate", "ssh"}
	if r.args.ConfigFile != "" {
		args = append(args, "-F", r.args.ConfigFile)
	}
	if r.args.LogFile != "" {
		args = append(args, "-E", r.args.LogFile)
	}
	if r.args.LogLevel >= 0 {
		args = append(args, "-o", "LogLevel="+logLevelNames[r.args.LogLevel])
	}
	args = append(args, "-o", "ClearAllForwardings=yes", "-o", "ControlMaster=auto",
		"-l", hop.Get("user"), "-p", hop.Get("port"))
	if pj := hop.Get("proxyjump"); pj != "" {
		args = append(args, "-J", pj)
	}
	return append(args, "-N", hop.Original())
}
