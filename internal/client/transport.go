package client

import (
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jumpgate/jumpgate/internal/sshwire"
)

// transportFailure is the error that broke conn's transport (a MAC,
// packet length or padding failure), in ssh(1)'s words: the line its
// packet layer logs, then its fatal line. "" when conn ended otherwise
// or is still up.
func transportFailure(conn sshwire.Conn) string {
	done := make(chan error, 1)
	go func() { done <- conn.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(200 * time.Millisecond):
		return ""
	}
	if err == nil || errors.Is(err, io.EOF) {
		return ""
	}
	remote := "UNKNOWN port 65535" // a ProxyCommand, as ssh(1) names it
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		remote = ta.IP.String() + " port " + strconv.Itoa(ta.Port)
	}
	// The transport's errors by their words: our engine's, x/crypto's, and
	// the AEADs'.
	s := err.Error()
	var first, why string
	switch {
	case strings.Contains(s, "message authentication code incorrect"), strings.Contains(s, "MAC failure"),
		strings.Contains(s, "message authentication failed"):
		first, why = "Corrupted MAC on input.", "message authentication code incorrect"
	case strings.Contains(s, "packet length"), strings.Contains(s, "packet too large"), strings.Contains(s, "empty packet"):
		first, why = "Bad packet length.", "Connection corrupted"
	case strings.Contains(s, "padding"):
		first, why = "padding error: "+strings.TrimPrefix(s, "ssh: "), "Connection corrupted"
	default:
		return ""
	}
	return first + "\r\nssh_dispatch_run_fatal: Connection to " + remote + ": " + why
}
