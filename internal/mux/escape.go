package mux

// Escape sequences of a passenger session, handled by the master as
// ssh(1)'s master does (clientloop.c's process_escapes for a channel with
// a control connection): "~." ends that session only, "~?" and "~#"
// answer on the client's stderr, "~B" sends a BREAK, and what only makes
// sense in the client's own process ("~^Z", "~&", "~C", "~v", "~V") is
// declined with ssh(1)'s message.

import (
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/session"
)

// copyOutEscaped copies the client's stdin to the session through the
// escape filter for c, until EOF or "~.".
func (ch *channel) copyOutEscaped(dst io.Writer, c byte) {
	esc := session.NewEscaper(c, false)
	out := io.MultiWriter(dst, counter{&ch.out, &ch.m.bytesOut})
	errw := ch.files[2]
	buf := make([]byte, 32<<10)
	for {
		n, err := ch.files[0].Read(buf)
		for _, st := range esc.Feed(buf[:n]) {
			if st.Action == session.Send {
				if _, werr := out.Write(st.Data); werr != nil {
					return
				}
				continue
			}
			if !ch.escape(errw, c, st.Action) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// escape carries out one escape sequence; it reports false after "~.".
func (ch *channel) escape(w io.Writer, c byte, a session.Action) bool {
	switch a {
	case session.Disconnect:
		fmt.Fprintf(w, "%c.\r\n", c)
		ch.disconnected.Store(true)
		ch.mu.Lock()
		sess := ch.sess
		ch.mu.Unlock()
		if sess != nil {
			sess.Close()
		}
		return false
	case session.Help:
		io.WriteString(w, session.HelpText(c, false))
	case session.ListChannels:
		fmt.Fprintf(w, "%c#\r\nThe following connections are open:\r\n  #%d client-session (multiplexed session of pid %d)\r\n", c, ch.id, ch.c.pid)
	case session.Break:
		fmt.Fprintf(w, "%cB\r\n", c)
		ch.mu.Lock()
		sess := ch.sess
		ch.mu.Unlock()
		if sess != nil {
			sess.SendRequest("break", false, ssh.Marshal(struct{ Ms uint32 }{1000}))
		}
	case session.Rekey:
		fmt.Fprintf(w, "%cR [rekeying is not supported]\r\n", c)
	case session.Suspend:
		fmt.Fprintf(w, "%c^Z is not supported in multiplex mode\r\n", c)
	case session.Background:
		fmt.Fprintf(w, "%c& is not supported in multiplex mode\r\n", c)
	case session.CommandLineDisabled, session.Prompt:
		fmt.Fprintf(w, "%cC is not supported in multiplex mode\r\n", c)
	case session.LessVerbose:
		fmt.Fprintf(w, "%cV is not supported in multiplex mode\r\n", c)
	case session.MoreVerbose:
		fmt.Fprintf(w, "%cv is not supported in multiplex mode\r\n", c)
	}
	return true
}
