package vpn

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/rawio"
)

// tunDevice is a tun or tap file descriptor, non-blocking so that Close
// interrupts a Read through Go's poller.
type tunDevice struct {
	f      *os.File
	rc     syscall.RawConn
	name   string
	closed atomic.Bool
}

// Open creates a tun (L3) or tap (L2) device named name ("" or a pattern
// like "jg%d" lets the kernel number it) without packet information
// headers. The device disappears with its addresses and routes when it is
// closed.
//
// With offload, every packet read or written starts with a virtio_net_hdr
// ([vnetHdrLen] bytes) and the device takes and gives TCP segments of up
// to 64 KiB with their checksums left to the kernel (TSO/GSO, as
// wireguard-go and virtio guests do): one read, one frame and one write
// per 64 KiB instead of per 1500 bytes. Peer mode passes the header to
// the far device untouched (both ends are ours); the native transport
// finishes what it asks for itself (native_offload.go).
func Open(mode Mode, name string, offload bool) (Device, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("open /dev/net/tun: %w", err)
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("device name %q: %w", name, err)
	}
	flags := uint16(unix.IFF_NO_PI)
	if mode == L2 {
		flags |= unix.IFF_TAP
	} else {
		flags |= unix.IFF_TUN
	}
	if offload {
		flags |= unix.IFF_VNET_HDR
	}
	ifr.SetUint16(flags)
	if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("create %s device %q: %w", map[Mode]string{L3: "tun", L2: "tap"}[mode], name, err)
	}
	if offload {
		// The argument is the flags themselves, not a pointer to them.
		const feats = unix.TUN_F_CSUM | unix.TUN_F_TSO4 | unix.TUN_F_TSO6
		if err := unix.IoctlSetInt(fd, unix.TUNSETOFFLOAD, feats); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("enable offloads (TSO, checksum) on %s: %w: %w", ifr.Name(), ErrNoOffload, err)
		}
	}
	f := os.NewFile(uintptr(fd), "/dev/net/tun")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &tunDevice{f: f, rc: rc, name: ifr.Name()}, nil
}

func (d *tunDevice) Name() string { return d.name }

// Read and Write use raw system calls (see rawio): a packet that starts
// a burst does not wait for the runtime to wake its monitor thread.
func (d *tunDevice) Read(p []byte) (int, error) {
	n, err := rawio.Read(d.rc, p)
	return n, d.err(err)
}

func (d *tunDevice) Write(p []byte) (int, error) {
	n, err := rawio.Write(d.rc, p)
	return n, d.err(err)
}

func (d *tunDevice) Close() error {
	d.closed.Store(true)
	return d.f.Close()
}

// err gives os.ErrClosed once the device is closed, as os.File does.
func (d *tunDevice) err(err error) error {
	if err != nil && d.closed.Load() {
		return os.ErrClosed
	}
	return err
}

// interrupt ends a blocked Read without closing the device.
func (d *tunDevice) interrupt() { d.f.SetReadDeadline(aLongTimeAgo) }

var aLongTimeAgo = time.Unix(1, 0)

// resume undoes interrupt.
func (d *tunDevice) resume() { d.f.SetReadDeadline(time.Time{}) }

// ReadLoop calls fn for every packet the device reads, and flush once it
// has nothing more ready, until fn or flush fails or the device is closed
// or interrupted. It stays inside one poller wait loop: a fresh RawConn.Read
// per batch forgets the readiness it has seen, so it would read once more
// only to learn the device is empty, after every packet sent.
func (d *tunDevice) ReadLoop(buf []byte, fn func(p []byte) error, flush func() error) error {
	var ferr error
	got := 0
	err := d.rc.Read(func(fd uintptr) bool {
		for {
			n, err := rawio.ReadFD(fd, buf)
			if err != nil || n <= 0 {
				if err != nil && err != unix.EAGAIN {
					ferr = err
					return true
				}
				break
			}
			if ferr = fn(buf[:n]); ferr != nil {
				return true
			}
			// A batch is at most 64 packets; the device may still
			// have more, so read on (waiting now could miss them).
			if got++; got == 64 {
				got = 0
				if ferr = flush(); ferr != nil {
					return true
				}
			}
		}
		if got > 0 {
			got = 0
			if ferr = flush(); ferr != nil {
				return true
			}
			rawio.Yield()
		}
		return false // empty: wait for the next packet
	})
	if err != nil {
		return d.err(err)
	}
	return ferr
}
