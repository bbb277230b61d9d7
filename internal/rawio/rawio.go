// Package rawio reads and writes non-blocking descriptors with raw system
// calls, still waiting through Go's poller (and so honouring deadlines
// and Close) when they would block.
//
// Why: Go's own Read and Write enter the system call through the
// scheduler, and the first one after an idle spell wakes the runtime's
// monitor thread (sysmon), a futex and an inter-processor interrupt in the
// path of every packet that starts a burst (a VPN ping, a keystroke). A
// non-blocking descriptor never blocks, so it needs none of that
// bookkeeping. Figures: docs/perf.md.
package rawio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Read reads once from rc's descriptor into p, waiting in the poller
// while nothing is there. 0, io.EOF at end of file.
func Read(rc syscall.RawConn, p []byte) (n int, err error) {
	if len(p) == 0 {
		return 0, nil
	}
	perr := rc.Read(func(fd uintptr) bool {
		n, err = ReadFD(fd, p)
		if err == syscall.EAGAIN {
			return false
		}
		if err == nil && n == 0 {
			err = io.EOF
		}
		return true
	})
	if perr != nil {
		return 0, perr
	}
	return n, err
}

// Yield gives the CPU to whatever is runnable on it, before the caller
// parks in the poller. A writer calls it once it has fed a reader that
// must answer (a VPN's far sshd, on a machine that also runs it): Linux
// often wakes the reader on the writer's CPU, where it would otherwise wait
// while Go's scheduler looks for other work and arms the poller. With
// nothing else runnable it is one cheap system call. Figures: docs/perf.md.
func Yield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }

// ReadFD reads once from fd, a non-blocking descriptor, inside a
// syscall.RawConn's Read callback.
func ReadFD(fd uintptr, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		r, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// Write writes all of p to rc's descriptor, waiting in the poller while
// it is full.
func Write(rc syscall.RawConn, p []byte) (n int, err error) {
	if len(p) == 0 {
		return 0, nil
	}
	perr := rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
			switch e {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				return false
			case 0:
				n += int(r)
			default:
				err = e
				return true
			}
		}
		return true
	})
	if perr != nil && err == nil {
		err = perr
	}
	return n, err
}

// Conn is a net.Conn read and written with raw system calls.
type Conn struct {
	net.Conn
	rc syscall.RawConn
}

// NetConn is the conn c wraps.
func (c *Conn) NetConn() net.Conn { return c.Conn }

// NewConn wraps c when it has a descriptor (TCP, Unix); other conns are
// returned as they are.
func NewConn(c net.Conn) net.Conn {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return c
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return c
	}
	return &Conn{Conn: c, rc: rc}
}

// CloseWrite shuts the write side, when the wrapped conn can (TCP, Unix).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return &net.OpError{Op: "close", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: errors.ErrUnsupported}
}

func (c *Conn) Read(p []byte) (int, error) {
	n, err := Read(c.rc, p)
	return n, netErr("read", c.Conn, err)
}

func (c *Conn) Write(p []byte) (int, error) {
	n, err := Write(c.rc, p)
	return n, netErr("write", c.Conn, err)
}

// netErr words errors as net.Conn's own methods do.
func netErr(op string, c net.Conn, err error) error {
	if err == nil || err == io.EOF {
		return err
	}
	if _, ok := err.(*net.OpError); ok {
		return err
	}
	if errno, ok := err.(syscall.Errno); ok {
		err = os.NewSyscallError(op, errno)
	}
	return &net.OpError{Op: op, Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// File is a non-blocking *os.File read and written with raw system calls.
type File struct {
	*os.File
	rc     syscall.RawConn
	closed atomic.Bool
}

// Stdio is this process's stdin and stdout (pipes from sshd, for a
// program run over an exec channel) made non-blocking and wrapped for raw
// reads and writes, so that closing one also ends a read blocked on it.
// Either is the plain file if that fails.
func Stdio() (in, out io.ReadWriteCloser) {
	return NewFile(pollable(os.Stdin, 0)), NewFile(pollable(os.Stdout, 1))
}

// pollable makes f, the standard descriptor fd, non-blocking and watched
// by the poller; f as it is if that fails. (f.Fd would put f back in
// blocking mode.)
func pollable(f *os.File, fd int) *os.File {
	if err := syscall.SetNonblock(fd, true); err != nil {
		return f
	}
	return os.NewFile(uintptr(fd), f.Name())
}

// NewFile wraps f if it is non-blocking (watched by the poller); a
// blocking file is returned as it is: a raw read of it would hold up the
// scheduler.
func NewFile(f *os.File) io.ReadWriteCloser {
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	nonblock := false
	rc.Control(func(fd uintptr) {
		fl, err := unix.FcntlInt(fd, unix.F_GETFL, 0)
		nonblock = err == nil && fl&unix.O_NONBLOCK != 0
	})
	if !nonblock {
		return f
	}
	return &File{File: f, rc: rc}
}

func (f *File) Read(p []byte) (int, error) {
	n, err := Read(f.rc, p)
	return n, f.fileErr(err)
}

func (f *File) Write(p []byte) (int, error) {
	n, err := Write(f.rc, p)
	return n, f.fileErr(err)
}

func (f *File) Close() error {
	f.closed.Store(true)
	return f.File.Close()
}

// fileErr gives os.ErrClosed for a closed file, as its own methods do
// (the poller's error for it is not exported).
func (f *File) fileErr(err error) error {
	if err != nil && err != io.EOF && f.closed.Load() {
		return os.ErrClosed
	}
	return err
}
