package server

import (
	"context"
	"net"
	"os"
	"path/filepath"
)

// agentListener serves SSH_AUTH_SOCK for one session: each connection to
// it becomes an auth-agent@openssh.com channel to the client (OpenSSH
// PROTOCOL.agent).
type agentListener struct {
	dir  string
	path string
	ln   net.Listener
}

func (a *agentListener) Close() error {
	err := a.ln.Close()
	os.RemoveAll(a.dir)
	return err
}

// agentReq handles auth-agent-req@openssh.com: a socket in a fresh 0700
// directory owned by the user.
func (s *session) agentReq(ctx context.Context) bool {
	if s.c.Perms.NoAgentForwarding || s.agent != nil {
		return false
	}
	dir, err := os.MkdirTemp("", "jumpgate-agent-")
	if err != nil {
		s.c.Log.Warn("agent forwarding", "err", err)
		return false
	}
	path := filepath.Join(dir, "agent.sock")
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err == nil && os.Getuid() == 0 && s.c.User.UID != 0 {
		err = os.Chown(path, int(s.c.User.UID), int(s.c.User.GID))
		if err == nil {
			err = os.Chown(dir, int(s.c.User.UID), int(s.c.User.GID))
		}
	}
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		os.RemoveAll(dir)
		s.c.Log.Warn("agent forwarding", "err", err)
		return false
	}
	s.agent = &agentListener{dir: dir, path: path, ln: ln}
	s.c.Log.Info("agent forwarding", "sock", path)
	s.c.wg.Go(func() {
		s.c.serveForward(ln, func(net.Conn) (string, []byte) { return "auth-agent@openssh.com", nil })
	})
	return true
}

// sftpServer is Debian's sftp-server (package openssh-sftp-server).
const sftpServer = "/usr/lib/openssh/sftp-server"

// defaultSubsystems offers sftp through OpenSSH's sftp-server when it is
// installed, as Debian's sshd_config does ("Subsystem sftp
// /usr/lib/openssh/sftp-server"), so that scp and sftp work against
// jumpgate serve with no flag.
func defaultSubsystems() map[string]string {
	if _, err := os.Stat(sftpServer); err == nil {
		return map[string]string{"sftp": sftpServer}
	}
	return map[string]string{}
}
