package client

// Forwards of a client's command line (-L, -R, -D, LocalForward…) asked
// of a master, jumpgate's or OpenSSH's, and reported in the words ssh(1)
// uses when it connects on its own, so that a script cannot tell the
// difference. They live as long as this client: a jumpgate master ends
// them when our control connection closes (we say so in our hello,
// [mux.ExtClientForwards]); OpenSSH's master would keep them forever, so
// we cancel them ourselves on the way out.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/jumpgate/jumpgate/internal/mux"
	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// muxForwards asks c for every forward of h. opened are those that came
// up; err is non-nil when the run must end (ExitOnForwardFailure, or the
// master went away).
func (r *Client) muxForwards(ctx context.Context, h *sshconf.Host, c *mux.Client) (opened []mux.Forward, err error) {
	exitOnFailure := h.Get("exitonforwardfailure") == "yes"
	word := "Warning"
	if exitOnFailure {
		word = "Error"
	}
	gatewayPorts := h.Get("gatewayports") == "yes"
	var localTried, localOK int
	for _, fw := range h.Forwards() {
		r.log.Debugf("%s", describeForward(fw))
		q := muxForward(fw, false)
		port, err := c.Forward(ctx, q)
		local := fw.Kind == sshconf.Local || fw.Kind == sshconf.Dynamic
		if local {
			localTried++
		}
		if err == nil {
			opened = append(opened, q)
			if local {
				localOK++
			} else if fw.ListenPath == "" && fw.ListenPort == 0 {
				r.log.Infof("Allocated port %d for remote forward to %s", port, remoteTarget(fw))
			}
			continue
		}
		var re *mux.RefusedError
		if !errors.As(err, &re) {
			// Not the forward's failure: the master stopped answering.
			return opened, r.fail("forwarding request to the control master failed: %v", err)
		}
		if local {
			fmt.Fprintf(r.logw, "%s\r\n", strings.ReplaceAll(localFailure(fw, re.Reason, gatewayPorts), "\n", "\r\n"))
			if fw.ListenPath == "" {
				fmt.Fprintf(r.logw, "channel_setup_fwd_listener_tcpip: cannot listen to port: %d\r\n", fw.ListenPort)
			}
			continue
		}
		if strings.HasPrefix(re.Reason, "remote port forwarding failed for listen ") {
			fmt.Fprintf(r.logw, "%s: %s\r\n", word, re.Reason)
		} else {
			fmt.Fprintf(r.logw, "%s: remote port forwarding failed: %s\r\n", word, re.Reason)
		}
		if exitOnFailure {
			return opened, &StatusError{exitConnection}
		}
	}
	if localTried > 0 && localOK != localTried {
		if exitOnFailure {
			return opened, r.fail("Could not request local forwarding.")
		}
		if localOK == 0 {
			fmt.Fprintf(r.logw, "Could not request local forwarding.\r\n")
		}
	}
	return opened, nil
}

// remoteTarget is where a remote forward's connections go, as ssh(1)'s
// "Allocated port" line names it.
func remoteTarget(fw sshconf.Forward) string {
	switch {
	case fw.ConnectPath != "":
		return fw.ConnectPath
	case fw.Kind == sshconf.RemoteDynamic:
		return "socks:0"
	}
	return net.JoinHostPort(fw.ConnectHost, strconv.Itoa(fw.ConnectPort))
}

// localFailure is why a master could not listen for a local forward. A
// jumpgate master says why ("Port forwarding failed: bind [127.0.0.1]:80:
// Address already in use"); OpenSSH's keeps it to its own stderr, so we
// try the bind ourselves (the master runs on this host) to name the cause.
func localFailure(fw sshconf.Forward, reason string, gatewayPorts bool) string {
	const prefix = "Port forwarding failed"
	if why, ok := strings.CutPrefix(reason, prefix+": "); ok && why != "" {
		return why
	}
	if fw.ListenPath != "" {
		if _, err := os.Lstat(fw.ListenPath); err == nil {
			return "cannot bind to path " + fw.ListenPath + ": Address already in use"
		}
		return reason
	}
	addr := fw.ListenHost
	switch {
	case !fw.HasListenHost && !gatewayPorts, addr == "localhost":
		addr = "127.0.0.1"
	case addr == "*" || !fw.HasListenHost:
		addr = ""
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(fw.ListenPort)))
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return fmt.Sprintf("bind [%s]:%d: %s", addr, fw.ListenPort, StrerrorText(errno))
		}
		return fmt.Sprintf("bind [%s]:%d: %v", addr, fw.ListenPort, err)
	}
	ln.Close()
	return reason
}

// cancelMuxForwards cancels forwards this client opened on a master that
// would otherwise keep them (OpenSSH's), over a new control connection,
// since the master may already have closed the session's.
func (r *Client) cancelMuxForwards(path string, opened []mux.Forward) {
	if len(opened) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), MuxAnswerBound)
	defer cancel()
	c, err := mux.Dial(ctx, path)
	if err != nil {
		r.log.Debugf("cancel forwards: %v", err)
		return
	}
	defer c.Close()
	for _, q := range opened {
		q.Close = true
		if _, err := c.Forward(ctx, q); err != nil {
			r.log.Debugf("cancel forward: %v", err)
		}
	}
}
