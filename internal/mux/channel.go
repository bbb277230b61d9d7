package mux

// A channel is what a client's MUX_C_NEW_SESSION or MUX_C_NEW_STDIO_FWD
// runs on the shared connection, wired to the descriptors the client
// passed. The descriptors are set non-blocking (so that closing them
// interrupts a pending read, as a terminal on stdin never reaches EOF by
// itself) and their flags are restored before we let them go, since the
// client, and the shell after it, share those open files.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/rawio"
	"github.com/jumpgate/jumpgate/internal/sshio"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

type channel struct {
	m       *Master
	c       *ctlConn
	id      uint32 // session id for the client
	req     uint32 // request id to answer
	kind    string
	tty     bool
	what    string
	started time.Time
	files   []*passedFile
	in, out atomic.Uint64
	// disconnected: the user typed "~." on the session's stdin.
	disconnected atomic.Bool

	once sync.Once
	done chan struct{}

	mu   sync.Mutex
	sess *sshwire.Session
	conn net.Conn
}

// passedFile is a descriptor a client passed, with what it takes to give
// it back as it came.
type passedFile struct {
	*os.File
	dup      int // same open file, to restore the flags after File is closed
	wasBlock bool
}

func openFiles(fds []int) []*passedFile {
	out := make([]*passedFile, len(fds))
	for i, fd := range fds {
		fl, _ := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
		nb := fl&unix.O_NONBLOCK != 0
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			dup = -1
		}
		syscall.SetNonblock(fd, true)
		out[i] = &passedFile{File: os.NewFile(uintptr(fd), "client-fd"+strconv.Itoa(i)), dup: dup, wasBlock: !nb}
	}
	return out
}

func (f *passedFile) release() {
	f.File.Close()
	if f.dup >= 0 {
		if f.wasBlock {
			syscall.SetNonblock(f.dup, false)
		}
		syscall.Close(f.dup)
		f.dup = -1
	}
}

// raw returns f read and written with raw system calls (it is
// non-blocking, see openFiles).
func (f *passedFile) raw() io.ReadWriter { return rawio.NewFile(f.File) }

// control runs fn on the descriptor without Fd(), which would put it back
// into blocking mode.
func (f *passedFile) control(fn func(fd int)) {
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) { fn(int(fd)) })
	}
}

func (f *passedFile) winsize() (*unix.Winsize, bool) {
	var (
		ws  *unix.Winsize
		err error = errors.New("no descriptor")
	)
	f.control(func(fd int) { ws, err = unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ) })
	return ws, err == nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// close ends the channel: the remote side, then the client's descriptors.
func (ch *channel) close() {
	ch.once.Do(func() {
		close(ch.done)
		ch.mu.Lock()
		if ch.sess != nil {
			ch.sess.Close()
		}
		if ch.conn != nil {
			ch.conn.Close()
		}
		ch.mu.Unlock()
		for _, f := range ch.files {
			f.release()
		}
	})
}

// counter adds what passes through to two totals.
type counter struct {
	n, total *atomic.Uint64
}

func (c counter) Write(p []byte) (int, error) {
	c.n.Add(uint64(len(p)))
	c.total.Add(uint64(len(p)))
	return len(p), nil
}

// copyIn copies what the server sends into a client's descriptor.
func (ch *channel) copyIn(dst *passedFile, src io.Reader) error {
	return ch.copy(dst.raw(), src, counter{&ch.in, &ch.m.bytesIn})
}

// copyOut copies a client's descriptor into the channel.
func (ch *channel) copyOut(dst io.Writer, src *passedFile) error {
	return ch.copy(sshio.ChannelWriter{W: dst}, src.raw(), counter{&ch.out, &ch.m.bytesOut})
}

// copy copies src to dst through a large pooled buffer (sshio.Copy),
// counting what was written.
//
// A master relaying a hop for the next one (hop reuse) carries every
// byte of the connections behind it: with io.Copy's 32 KiB, each read of
// the channel took at most one packet and each write woke the next
// master for it. Raw reads and writes of the descriptor spare the
// scheduler's system-call bookkeeping (see rawio).
func (ch *channel) copy(dst io.Writer, src io.Reader, c counter) error {
	_, err := sshio.Copy(io.MultiWriter(dst, c), src)
	return err
}

// session runs MUX_C_NEW_SESSION: files are stdin, stdout, stderr.
func (ch *channel) session(q *NewSession) error {
	m, c := ch.m, ch.c
	ch.kind, ch.what = "session", q.Command
	if ch.what == "" {
		ch.what = "(shell)"
	}
	if !c.ask("Allow shared connection to %s? ", m.cfg.Host) {
		c.reply(&Refusal{Denied: true, ID: q.ID, Reason: "Permission denied"})
		return nil
	}
	sess, err := sshwire.NewSession(context.Background(), m.cfg.Client)
	if err != nil {
		c.reply(&Refusal{ID: q.ID, Reason: "Session open refused by peer: " + err.Error()})
		return err
	}
	ch.mu.Lock()
	ch.sess = sess
	ch.mu.Unlock()
	stdin, _ := sess.StdinPipe()
	stdout, _ := sess.StdoutPipe()
	stderr, _ := sess.StderrPipe()
	if q.Agent && m.cfg.Agent != nil {
		if err := m.cfg.Agent(sess); err != nil {
			m.log.Debugf("agent forwarding for control client: %v", err)
		}
	}
	ttyFail := false
	if q.TTY {
		rows, cols := 24, 80
		for _, f := range ch.files[:2] {
			if ws, ok := f.winsize(); ok {
				rows, cols = int(ws.Row), int(ws.Col)
				break
			}
		}
		term := q.Term
		if term == "" {
			term = "dumb"
		}
		if err := sess.RequestPty(term, rows, cols, sshwire.TerminalModes{}); err != nil {
			ttyFail = true
		} else {
			ch.mu.Lock()
			ch.tty = true
			ch.mu.Unlock()
		}
	}
	for _, kv := range q.Env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || name == "" || m.cfg.SendEnv == nil || !m.cfg.SendEnv(name) {
			continue
		}
		sess.Setenv(name, val) // a refusal is not fatal, as in ssh(1)
	}
	switch {
	case q.Subsystem:
		err = sess.RequestSubsystem(q.Command)
	case q.Command == "":
		err = sess.Shell()
	default:
		err = sess.Start(q.Command)
	}
	if !c.reply(&SessionOpened{ID: q.ID, Session: ch.id}) {
		return errors.New("control client went away")
	}
	if ttyFail {
		c.reply(&TTYAllocFail{Session: ch.id})
	}
	if err != nil {
		fmt.Fprintf(ch.files[2], "%s request failed on channel %d\r\n", map[bool]string{true: "subsystem", false: "exec"}[q.Subsystem], ch.id)
		c.reply(&ExitMessage{Session: ch.id, Status: 255})
		return nil
	}
	go func() {
		// As ssh(1)'s master: escapes on the client's stdin, for a
		// session that asked for a pty and an escape character.
		if q.TTY && q.EscapeChar < 256 {
			ch.copyOutEscaped(stdin, byte(q.EscapeChar))
		} else {
			ch.copyOut(stdin, ch.files[0])
		}
		stdin.Close()
	}()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); ch.copyIn(ch.files[1], stdout) }()
	go func() { defer wg.Done(); ch.copyIn(ch.files[2], stderr) }()
	werr := sess.Wait()
	drained := make(chan struct{})
	go func() { wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ch.done:
	case <-time.After(closeGrace):
	}
	if ch.disconnected.Load() {
		// "~.": no exit status, as from ssh(1)'s master.
		if c.events {
			c.reply(&Disconnected{Session: ch.id})
		}
		return nil
	}
	status := uint32(0)
	var ee *sshwire.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &ee) && ee.Signal() == "":
		status = uint32(ee.ExitStatus())
	default:
		status = 255
		if ee != nil && c.events {
			c.reply(&ExitSignal{Session: ch.id, Signal: ee.Signal(), Message: ee.Msg()})
		}
	}
	c.reply(&ExitMessage{Session: ch.id, Status: status})
	return nil
}

// closeGrace bounds the wait for output after the remote command exited.
const closeGrace = 5 * time.Second

// stdio runs MUX_C_NEW_STDIO_FWD: files are stdin and stdout, joined to
// a direct-tcpip (or direct-streamlocal) channel to host:port.
func (ch *channel) stdio(q *StdioForward) error {
	m, c := ch.m, ch.c
	ch.kind = "stdio"
	var (
		conn net.Conn
		err  error
	)
	if q.Port == PortStreamLocal {
		ch.what = q.Host
		conn, err = sshwire.Dial(context.Background(), m.cfg.Client, "unix", q.Host)
	} else {
		ch.what = net.JoinHostPort(q.Host, strconv.Itoa(int(q.Port)))
		conn, err = sshwire.Dial(context.Background(), m.cfg.Client, "tcp", ch.what)
	}
	if err != nil {
		reason := err.Error()
		var oe *sshwire.OpenChannelError
		if errors.As(err, &oe) {
			reason = oe.Reason.String()
			if oe.Message != "" {
				reason += ": " + oe.Message
			}
		}
		c.reply(&Refusal{ID: q.ID, Reason: "Session open refused by peer: " + reason})
		return nil
	}
	ch.mu.Lock()
	ch.conn = conn
	ch.mu.Unlock()
	if !c.reply(&SessionOpened{ID: q.ID, Session: ch.id}) {
		return errors.New("control client went away")
	}
	up := make(chan struct{})
	go func() {
		ch.copyOut(conn, ch.files[0])
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		close(up)
	}()
	ch.copyIn(ch.files[1], conn)
	// The far side is done sending: tell a socket peer (hop reuse passes
	// one end of a socketpair) by half-closing it.
	ch.files[1].control(func(fd int) { unix.Shutdown(fd, unix.SHUT_WR) })
	select {
	case <-up:
	case <-ch.done:
	}
	return nil
}

// windowChanged sends the size of the client's terminal if it has a pty.
func (ch *channel) windowChanged() {
	ch.mu.Lock()
	sess, tty := ch.sess, ch.tty
	ch.mu.Unlock()
	if !tty || sess == nil {
		return
	}
	for _, f := range ch.files[:2] {
		if ws, ok := f.winsize(); ok {
			sess.WindowChange(int(ws.Row), int(ws.Col))
			return
		}
	}
}
