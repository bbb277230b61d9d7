package vpn

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// tunDevice is a tun or tap file descriptor, non-blocking so that Close
// interrupts a Read through Go's poller.
type tunDevice struct {
	f    *os.File
	name string
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
// per 64 KiB instead of per 1500 bytes. Only peer mode uses it, where both
// ends are ours and pass the header through untouched.
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
	return &tunDevice{f: os.NewFile(uintptr(fd), "/dev/net/tun"), name: ifr.Name()}, nil
}

func (d *tunDevice) Name() string                { return d.name }
func (d *tunDevice) Read(p []byte) (int, error)  { return d.f.Read(p) }
func (d *tunDevice) Write(p []byte) (int, error) { return d.f.Write(p) }
func (d *tunDevice) Close() error                { return d.f.Close() }

// interrupt ends a blocked Read without closing the device.
func (d *tunDevice) interrupt() { d.f.SetReadDeadline(aLongTimeAgo) }

var aLongTimeAgo = time.Unix(1, 0)

// resume undoes interrupt.
func (d *tunDevice) resume() { d.f.SetReadDeadline(time.Time{}) }

// ReadBatch calls fn for every packet the device has ready (at least one,
// waiting for it), each read into buf, so the caller can write them to the
// far side in one go.
func (d *tunDevice) ReadBatch(buf []byte, fn func(p []byte) error) error {
	rc, err := d.f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	got := 0
	err = rc.Read(func(fd uintptr) bool {
		for got < 64 {
			n, err := unix.Read(int(fd), buf)
			if err == unix.EINTR {
				continue
			}
			if err != nil || n <= 0 {
				// EAGAIN: nothing more now; wait only if nothing came.
				if err != nil && err != unix.EAGAIN {
					ferr = err
					return true
				}
				return got > 0
			}
			got++
			if ferr = fn(buf[:n]); ferr != nil {
				return true
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return ferr
}
