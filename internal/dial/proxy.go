package dial

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// cmdConn is a ProxyCommand seen as a connection: we write to its standard
// input and read its standard output.
type cmdConn struct {
	cmd  *exec.Cmd
	r, w *os.File
	once sync.Once
}

// proxyCommand starts cmd as ssh(1) does, with `$SHELL -c "exec cmd"`
// (/bin/sh when SHELL is unset or empty).
func proxyCommand(ctx context.Context, shell, command string, stderr io.Writer) (*cmdConn, error) {
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	if shell == "" {
		shell = "/bin/sh"
	}
	cmd := exec.Command(shell, "-c", "exec "+command)
	cmd.Stdin, cmd.Stdout = inR, outW
	if stderr == nil {
		stderr = os.Stderr
	}
	cmd.Stderr = stderr
	// In our process group, as ssh(1) leaves it: a ProxyCommand that is
	// itself an ssh asking for a passphrase on /dev/tty must be in the
	// terminal's foreground group, or SIGTTOU stops it for good.
	if err := cmd.Start(); err != nil {
		for _, f := range []*os.File{inR, inW, outR, outW} {
			f.Close()
		}
		return nil, fmt.Errorf("ProxyCommand %q: %w", command, err)
	}
	inR.Close()
	outW.Close()
	c := &cmdConn{cmd: cmd, r: outR, w: inW}
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	return c, nil
}

func (c *cmdConn) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *cmdConn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Close ends the proxy command the way ssh(1) does (SIGHUP), and reaps it.
func (c *cmdConn) Close() error {
	c.once.Do(func() {
		c.w.Close()
		c.r.Close()
		if c.cmd.Process != nil {
			c.cmd.Process.Signal(syscall.SIGHUP)
			done := make(chan struct{})
			go func() { c.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				c.cmd.Process.Kill()
				<-done
			}
		}
	})
	return nil
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "UNKNOWN" }

func (c *cmdConn) LocalAddr() net.Addr  { return pipeAddr{} }
func (c *cmdConn) RemoteAddr() net.Addr { return pipeAddr{} }
func (c *cmdConn) SetDeadline(t time.Time) error {
	c.r.SetDeadline(t)
	return c.w.SetDeadline(t)
}
func (c *cmdConn) SetReadDeadline(t time.Time) error  { return c.r.SetReadDeadline(t) }
func (c *cmdConn) SetWriteDeadline(t time.Time) error { return c.w.SetWriteDeadline(t) }
