package mux

// A control connection carries both the byte stream of packets and, beside
// single marker bytes, file descriptors (SCM_RIGHTS). OpenSSH sends each
// descriptor with one byte of its own (mm_send_fd). We read the socket only
// with recvmsg, so no descriptor is ever dropped by a plain read, and keep
// the descriptors in arrival order until a request claims them.

import (
	"errors"
	"net"
	"os"
	"sync"
	"syscall"
)

// maxQueuedFDs bounds descriptors a client may push at us unasked.
const maxQueuedFDs = 16

type fdConn struct {
	uc *net.UnixConn

	rmu sync.Mutex // guards buf, fds (the read side)
	buf []byte
	fds []int

	wmu sync.Mutex // one packet or descriptor at a time
}

func newFDConn(uc *net.UnixConn) *fdConn { return &fdConn{uc: uc} }

// Read fills p from the buffered bytes or one recvmsg, queueing any
// descriptors that arrive.
func (c *fdConn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	if len(c.buf) == 0 {
		if err := c.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// fill does one recvmsg; called with rmu held.
func (c *fdConn) fill() error {
	data := make([]byte, 4096)
	oob := make([]byte, syscall.CmsgSpace(maxQueuedFDs*4))
	n, oobn, _, _, err := c.uc.ReadMsgUnix(data, oob)
	if oobn > 0 {
		msgs, perr := syscall.ParseSocketControlMessage(oob[:oobn])
		if perr == nil {
			for _, m := range msgs {
				if fds, err := syscall.ParseUnixRights(&m); err == nil {
					c.fds = append(c.fds, fds...)
				}
			}
		}
		if len(c.fds) > maxQueuedFDs {
			c.closeFDs()
			return protoErr("client sent more than %d file descriptors", maxQueuedFDs)
		}
	}
	if n > 0 {
		c.buf = append(c.buf, data[:n]...)
		return nil
	}
	if err != nil {
		return err
	}
	return errors.New("mux: connection closed")
}

// recvFDs reads n marker bytes and returns the n descriptors that came
// with them (close-on-exec); on failure every received descriptor is
// closed.
func (c *fdConn) recvFDs(n int) ([]int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.fds) < n {
		// Each descriptor arrives with its marker byte; markers without
		// descriptors mean the client sent none.
		if len(c.buf) >= n {
			c.closeFDs()
			return nil, protoErr("did not receive file descriptors")
		}
		if err := c.fill(); err != nil {
			c.closeFDs()
			return nil, err
		}
	}
	if len(c.buf) < n {
		c.closeFDs()
		return nil, protoErr("descriptors without marker bytes")
	}
	c.buf = c.buf[n:]
	fds := append([]int(nil), c.fds[:n]...)
	for _, fd := range fds {
		syscall.CloseOnExec(fd)
	}
	c.fds = c.fds[n:]
	return fds, nil
}

func (c *fdConn) closeFDs() {
	for _, fd := range c.fds {
		syscall.Close(fd)
	}
	c.fds = nil
}

func (c *fdConn) writePacket(m Message) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return WritePacket(c.uc, m)
}

// sendFDs sends each file with a marker byte of its own, as mm_send_fd.
func (c *fdConn) sendFDs(files ...*os.File) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, f := range files {
		if _, _, err := c.uc.WriteMsgUnix([]byte{0}, syscall.UnixRights(int(f.Fd())), nil); err != nil {
			return err
		}
	}
	return nil
}

func (c *fdConn) Close() error {
	err := c.uc.Close()
	c.rmu.Lock()
	c.closeFDs()
	c.rmu.Unlock()
	return err
}
