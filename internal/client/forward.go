package client

// Port forwarding for jumpgate ssh (-L, -R, -D and their config
// keywords), started after authentication and before the session, with
// ssh(1)'s messages and ExitOnForwardFailure.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/jumpgate/jumpgate/internal/dial"
	"github.com/jumpgate/jumpgate/internal/forward"
	"github.com/jumpgate/jumpgate/internal/sshconf"
)

// startForwards starts every forward of h on conn. A forward that fails
// is reported as ssh(1) does and, with ExitOnForwardFailure, ends the run
// with 255; otherwise the others go on. The returned forwarder is closed
// by the caller (nil when there is nothing to forward).
func (r *Client) startForwards(ctx context.Context, h *sshconf.Host, conn *dial.Conn) (*forward.Forwarder, error) {
	fws := h.Forwards()
	if len(fws) == 0 {
		return nil, nil
	}
	mask, err := strconv.ParseUint(h.Get("streamlocalbindmask"), 8, 32)
	if err != nil {
		mask = 0o177
	}
	f := forward.New(conn.Conn, forward.Options{
		GatewayPorts: h.Get("gatewayports") == "yes",
		BindUnlink:   h.Get("streamlocalbindunlink") == "yes",
		BindMask:     os.FileMode(mask),
		Log:          r.log,
		// A security control: refused, not ignored, when set.
		PermitRemoteOpen: h.GetAll("permitremoteopen"),
	})
	exitOnFailure := h.Get("exitonforwardfailure") == "yes"
	var localTried, localOK int
	for _, fw := range fws {
		r.log.Debugf("%s", describeForward(fw))
		_, err := f.Start(ctx, fw)
		local := fw.Kind == sshconf.Local || fw.Kind == sshconf.Dynamic
		if local {
			localTried++
		}
		if err == nil {
			if local {
				localOK++
			}
			continue
		}
		if ctx.Err() != nil {
			f.Close()
			return nil, &StatusError{exitConnection}
		}
		if local {
			fmt.Fprintf(r.logw, "%s\r\n", strings.ReplaceAll(err.Error(), "\n", "\r\n"))
			if fw.ListenPath == "" {
				fmt.Fprintf(r.logw, "channel_setup_fwd_listener_tcpip: cannot listen to port: %d\r\n", fw.ListenPort)
			}
			continue
		}
		word := "Warning"
		if exitOnFailure {
			word = "Error"
		}
		if errors.Is(err, forward.ErrRefused) {
			if fw.ListenPath != "" {
				fmt.Fprintf(r.logw, "%s: remote port forwarding failed for listen path %s\r\n", word, fw.ListenPath)
			} else {
				fmt.Fprintf(r.logw, "%s: remote port forwarding failed for listen port %d\r\n", word, fw.ListenPort)
			}
		} else {
			fmt.Fprintf(r.logw, "%s: remote port forwarding failed: %v\r\n", word, err)
		}
		if exitOnFailure {
			f.Close()
			return nil, &StatusError{exitConnection}
		}
	}
	if localTried > 0 && localOK != localTried {
		if exitOnFailure {
			f.Close()
			return nil, r.fail("Could not request local forwarding.")
		}
		if localOK == 0 {
			fmt.Fprintf(r.logw, "Could not request local forwarding.\r\n")
		}
	}
	r.startForwardProfile(r.e.Getenv(cpuProfileEnv))
	return f, nil
}

// describeForward is ssh -v's line for a forward being set up.
func describeForward(fw sshconf.Forward) string {
	listen := strconv.Itoa(fw.ListenPort)
	if fw.ListenPath != "" {
		listen = fw.ListenPath
	} else if fw.HasListenHost {
		listen = "[" + fw.ListenHost + "]:" + listen
	}
	to := "[" + fw.ConnectHost + "]:" + strconv.Itoa(fw.ConnectPort)
	if fw.ConnectPath != "" {
		to = fw.ConnectPath
	}
	switch fw.Kind {
	case sshconf.Local:
		return "Local connections to " + listen + " forwarded to remote address " + to
	case sshconf.Remote:
		return "Remote connections from " + listen + " forwarded to local address " + to
	case sshconf.Dynamic:
		return "Local forwarding listening on " + listen + " (SOCKS)"
	default:
		return "Remote connections from " + listen + " forwarded to local SOCKS"
	}
}
