package client

// A background master must not keep its first client's standard streams:
// whoever reads the client's stderr (a pipe in a script, OpenSSH running us
// as a ProxyCommand, exec.Cmd waiting for I/O) would never see EOF, since
// the master lives on for ControlPersist. ssh(1)'s master detaches the
// same way once it has connected. Stdin and stdout are /dev/null from the
// start (spawnMaster); stderr is needed until the master is ready (host
// key warnings, a failed login), so it goes through masterStderr.

import (
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/vlog"
)

// masterStderr is the stderr of a background master: the inherited one
// until detach, then the -E log file or nowhere. Descriptor 2 itself
// becomes a pipe the master drains, so that children started before or
// after detaching (a ProxyCommand, a jump host's master) never hold the
// client's stderr either, and never get EPIPE for writing to it.
type masterStderr struct {
	mu   sync.Mutex
	w    io.Writer
	orig *os.File      // the inherited stderr, until detach
	pr   *os.File      // read end of the pipe now on descriptor 2
	done chan struct{} // closed when the relay has seen EOF
}

// takeStderr moves descriptor 2 onto a pipe relayed to the inherited
// stderr until detach.
func takeStderr() (*masterStderr, error) {
	fd, err := unix.FcntlInt(2, unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	orig := os.NewFile(uintptr(fd), "stderr")
	pr, pw, err := os.Pipe()
	if err != nil {
		orig.Close()
		return nil, err
	}
	if err := dupTo(int(pw.Fd()), 2); err != nil {
		orig.Close()
		pr.Close()
		pw.Close()
		return nil, err
	}
	pw.Close()
	s := &masterStderr{w: orig, orig: orig, pr: pr, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 4096)
		for {
			n, err := pr.Read(buf)
			if n > 0 {
				s.Write(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return s, nil
}

func (s *masterStderr) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(p)
	return len(p), nil
}

// detach lets go of the inherited stderr: from now on messages go to
// to (the -E file), or nowhere when to is nil.
func (s *masterStderr) detach(to io.Writer) {
	if to == nil {
		to = io.Discard
	}
	s.mu.Lock()
	s.w = to
	orig := s.orig
	s.orig = nil
	s.mu.Unlock()
	if orig != nil {
		orig.Close()
	}
}

// finish is for a master that did not start: what children wrote to
// descriptor 2 reaches the inherited stderr before we exit.
func (s *masterStderr) finish() {
	if f, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
		dupTo(int(f.Fd()), 2)
		f.Close()
	}
	select {
	case <-s.done:
	case <-time.After(200 * time.Millisecond):
	}
	s.detach(nil)
}

// useMasterStderr points the run's messages at s (unless they go to an
// -E file), and ProxyCommands' and banners' output too.
func (r *Client) useMasterStderr(s *masterStderr) {
	ios := *r.e.IO
	ios.ErrOut = s
	r.e.IO = &ios
	if r.args.LogFile == "" {
		r.logw = s
		r.log = vlog.New(s, r.log.Level())
	}
}

// releaseForkedStdio is ssh(1)'s stdfd_devnull after -f: once in the
// background with no session (-N), nothing holds the caller's stdin,
// stdout or stderr (which would keep a `$(ssh -f -N …)` or a pipe
// waiting); stderr stays when debug lines go to it, as in ssh(1).
func (r *Client) releaseForkedStdio() {
	if !r.args.ForkAfter {
		return
	}
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer f.Close()
	fds := []int{0, 1, 2}
	if r.args.LogFile == "" && r.log.Enabled(vlog.Debug1) {
		fds = fds[:2]
	}
	for _, fd := range fds {
		dupTo(int(f.Fd()), fd)
	}
}
