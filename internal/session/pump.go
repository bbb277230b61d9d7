package session

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/jumpgate/jumpgate/internal/sshio"
	"github.com/jumpgate/jumpgate/internal/vlog"
)

// pumpStdin copies Stdin to the channel through esc (nil: no escapes)
// and half-closes the channel at local EOF, as ssh(1) does. The returned
// stop ends the pump: at once when Stdin has read deadlines (a pollable
// file), otherwise the reader is abandoned in its Read and whatever it
// reads afterwards is dropped.
func (r *runner) pumpStdin(ctx context.Context, w io.WriteCloser, esc *Escaper) (stop func()) {
	quit := make(chan struct{})
	exited := make(chan struct{})
	w = chunked{w}
	go func() {
		defer close(exited)
		// One read, one chunk: a 32 KiB read made a full packet and a
		// 512-byte runt, each compressed and flushed on its own with -C.
		buf := make([]byte, sshio.ChannelChunk)
		for {
			n, err := r.o.Stdin.Read(buf)
			select {
			case <-quit:
				return
			default:
			}
			if n > 0 && !r.forward(ctx, w, esc, buf[:n]) {
				return
			}
			if err != nil {
				if err != io.EOF {
					r.log.Debug2f("channel 0: read stdin: %v", err)
				}
				w.Close() // EOF to the remote side; output keeps coming
				return
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(quit)
			d, ok := r.o.Stdin.(interface{ SetReadDeadline(time.Time) error })
			if ok && d.SetReadDeadline(time.Now()) == nil {
				<-exited
				d.SetReadDeadline(time.Time{})
			}
		})
	}
}

// forward sends typed bytes, acting on escape sequences; it reports
// false when the pump should stop (channel gone, or "~.").
func (r *runner) forward(ctx context.Context, w io.Writer, esc *Escaper, p []byte) bool {
	if esc == nil {
		_, err := w.Write(p)
		return err == nil
	}
	for _, st := range esc.Feed(p) {
		if st.Action == Send {
			if _, err := w.Write(st.Data); err != nil {
				return false
			}
			continue
		}
		if !r.escape(ctx, esc.Char(), st) {
			return false
		}
	}
	return true
}

// escape carries out one escape sequence with ssh(1)'s messages (written
// to stderr whatever the log level, as ssh(1) writes them); it reports
// false after "~.".
func (r *runner) escape(ctx context.Context, c byte, st Step) bool {
	say := func(format string, args ...any) { fmt.Fprintf(r.stderr, format, args...) }
	switch st.Action {
	case Disconnect:
		say("%c.\r\n", c)
		r.disconnected.Store(true)
		r.client.Close()
		return false
	case Help:
		say("%s", HelpText(c, r.o.EnableCommandLine))
	case ListChannels:
		say("%c#\r\n%s", c, r.channelList())
	case Suspend:
		say("%c^Z [suspend ssh]\r\n", c)
		r.suspend()
	case Break:
		say("%cB\r\n", c)
		// RFC 4335; ssh(1) asks for 1000 ms and wants no reply.
		r.sess.SendRequest("break", false, ssh.Marshal(struct{ Ms uint32 }{1000}))
	case Rekey:
		say("%cR [rekeying is not supported]\r\n", c)
	case LessVerbose, MoreVerbose:
		r.changeLogLevel(c, st.Action == MoreVerbose)
	case Background:
		say("%c& [backgrounding is not supported]\r\n", c)
	case CommandLineDisabled:
		say("commandline disabled\r\n")
	case Prompt:
		io.WriteString(r.promptWriter(), "\r\nssh> ")
	case Echo:
		r.promptWriter().Write(st.Data)
	case Command:
		for _, l := range runCommand(ctx, string(st.Data), r.o.Forward) {
			r.log.Infof("%s", l)
		}
	case CommandCancelled:
	}
	return true
}

// promptWriter is where the "ssh>" prompt goes: the terminal, as ssh(1)
// writes it to /dev/tty, or stderr without one.
func (r *runner) promptWriter() io.Writer {
	if r.o.TTY != nil {
		return r.o.TTY
	}
	return r.stderr
}

// channelList answers "~#". The session channel is the only one until
// forwarding arrives.
func (r *runner) channelList() string {
	return "The following connections are open:\r\n  #0 client-session (session channel)\r\n"
}

// changeLogLevel is "~V" and "~v": ssh(1) moves LogLevel one step,
// between QUIET and DEBUG3, and names the new level.
func (r *runner) changeLogLevel(c byte, up bool) {
	ch := byte('V')
	if up {
		ch = 'v'
	}
	setter, ok := any(r.log).(interface{ SetLevel(vlog.Level) })
	if r.log == nil || !ok {
		fmt.Fprintf(r.stderr, "%c%c [changing LogLevel is not supported]\r\n", c, ch)
		return
	}
	l := r.log.Level()
	if up && l < vlog.Debug3 {
		l++
	} else if !up && l > vlog.Quiet {
		l--
	}
	setter.SetLevel(l)
	fmt.Fprintf(r.stderr, "%c%c [LogLevel %s]\r\n", c, ch, l)
}

// suspend is "~^Z": restore the terminal, stop as a shell job, and on
// SIGCONT go back to raw mode and send the window size, which may have
// changed meanwhile.
func (r *runner) suspend() {
	r.term.leaveRaw()
	if err := suspendSelf(); err != nil {
		r.log.Errorf("suspend: %v", err)
	}
	r.term.enterRaw()
	r.sendWindowIfChanged()
}

// watchWindow follows SIGWINCH on the local terminal and sends
// window-change requests; stop ends it.
func (r *runner) watchWindow(sent winsize) (stop func()) {
	r.winMu.Lock()
	r.lastWin = sent
	r.winMu.Unlock()
	sigs := winchSignals()
	if r.o.TTY == nil || len(sigs) == 0 {
		return func() {}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	quit := make(chan struct{})
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		for {
			select {
			case <-ch:
				r.sendWindowIfChanged()
			case <-quit:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(quit)
		<-exited
	}
}

// sendWindowIfChanged measures the terminal and sends window-change
// when its size differs from the last one sent.
func (r *runner) sendWindowIfChanged() {
	if r.o.TTY == nil {
		return
	}
	ws, err := getWinsize(r.o.TTY)
	if err != nil || ws.Cols == 0 || ws.Rows == 0 {
		return
	}
	r.winMu.Lock()
	defer r.winMu.Unlock()
	if ws == r.lastWin {
		return
	}
	r.lastWin = ws
	r.log.Debug2f("client_check_window_change: changed")
	r.sess.SendRequest("window-change", false, windowChange(ws))
}

// chunked is the stdin channel written in sshio's chunks, closed as itself.
type chunked struct{ io.WriteCloser }

func (c chunked) Write(p []byte) (int, error) {
	return sshio.ChannelWriter{W: c.WriteCloser}.Write(p)
}
