package sshconn

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/ssh/agent"

	"github.com/jumpgate/jumpgate/internal/sshwire"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// rekeyLimit reads RekeyLimit as ssh -G prints it ("262144 5"): bytes,
// then seconds; zero is the transport's default.
func rekeyLimit(s settings) (uint64, time.Duration) {
	f := strings.Fields(s.str("rekeylimit", "0 0"))
	var n uint64
	var secs int64
	if len(f) > 0 {
		n, _ = strconv.ParseUint(f[0], 10, 64)
	}
	if len(f) > 1 {
		secs, _ = strconv.ParseInt(f[1], 10, 64)
	}
	if secs < 0 {
		secs = 0
	}
	return n, time.Duration(secs) * time.Second
}

// engineTrace sends the engine's protocol trace (level 1 to 3) to log
// as debug1 to debug3 lines (the level may change during the session:
// ~v, ~V); nil without a logger.
func engineTrace(log *vlog.Logger) func(level int, format string, args ...any) {
	if log == nil {
		return nil
	}
	return func(level int, format string, args ...any) {
		log.Logf(vlog.Debug1+vlog.Level(min(max(level, 1), 3)-1), format, args...)
	}
}

// kexDone binds the agent connection authentication will use to the
// session, as ssh(1) does before asking it to sign: the agent then
// signs with a destination-restricted key only for its destinations.
func (c *Client) kexDone(p sshwire.HostProof) {
	if c.agent == nil {
		return
	}
	if err := bindAgent(c.agent, p, false); err != nil {
		c.log.Debug2f("ssh_agent_bind_hostkey: %v", err)
		return
	}
	c.log.Debug2f("pubkey_prepare: bound agent to hostkey")
}

// bindAgent sends session-bind@openssh.com (OpenSSH PROTOCOL.agent):
// the host key, the session identifier, the host's signature of it and
// whether the connection is forwarded onwards. Without a proof (x/crypto's
// adapter) it does nothing.
func bindAgent(ag agent.ExtendedAgent, p sshwire.HostProof, forwarding bool) error {
	if len(p.HostKey) == 0 || len(p.Signature) == 0 {
		return nil
	}
	_, err := ag.Extension(sessionBind, bindContents(p, forwarding))
	return err
}

const (
	sessionBind        = "session-bind@openssh.com"
	agentcExtension    = 27 // SSH_AGENTC_EXTENSION
	agentBindWait      = 10 * time.Second
	maxAgentBindAnswer = 1 << 10
)

func bindContents(p sshwire.HostProof, forwarding bool) []byte {
	b := appendString(nil, p.HostKey)
	b = appendString(b, p.SessionID)
	b = appendString(b, p.Signature)
	if forwarding {
		return append(b, 1)
	}
	return append(b, 0)
}

// bindForwarded binds a connection to the agent made for a forwarded
// agent channel, before it relays anything: bound for forwarding, the
// agent lets a key restricted to destinations be used beyond this host
// only as allowed. It speaks the agent protocol itself, since x/crypto's
// agent client keeps reading the connection. An agent that does not know
// the extension refuses it, which is no error; an error leaves the
// connection unusable.
func bindForwarded(conn net.Conn, p sshwire.HostProof) error {
	if len(p.HostKey) == 0 || len(p.Signature) == 0 {
		return nil
	}
	body := append([]byte{agentcExtension}, appendString(nil, []byte(sessionBind))...)
	body = append(body, bindContents(p, true)...)
	conn.SetDeadline(time.Now().Add(agentBindWait))
	defer conn.SetDeadline(time.Time{})
	if _, err := conn.Write(appendString(nil, body)); err != nil {
		return err
	}
	var n [4]byte
	if _, err := io.ReadFull(conn, n[:]); err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n[:])
	if size == 0 || size > maxAgentBindAnswer {
		return fmt.Errorf("agent answered session-bind with %d bytes", size)
	}
	_, err := io.CopyN(io.Discard, conn, int64(size))
	return err
}

func appendString(b, s []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
