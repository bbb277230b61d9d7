package mux

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
)

// ErrExists is returned by [Listen] when the control path is taken.
var ErrExists = errors.New("control socket already exists")

// Listener is a master's control socket. Closing it removes the path, but
// only while the path is still this socket (a newer master may have
// replaced a stale one).
type Listener struct {
	*net.UnixListener
	Path string
	ino  uint64
}

// Listen creates the control socket at path: bound under a temporary name,
// made 0600, then linked into place, so that no client ever meets a socket
// that is not listening yet or has the wrong mode (as OpenSSH's
// muxserver_listen). An existing path gives [ErrExists].
func Listen(path string) (*Listener, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path + "." + hex.EncodeToString(rnd[:])
	// sun_path holds 108 bytes with the NUL; bind's EINVAL says nothing.
	if len(tmp) >= 108 {
		return nil, fmt.Errorf("control socket: path %q too long for Unix domain socket", tmp)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on control socket %s: %w", path, err)
	}
	ln.SetUnlinkOnClose(false)
	defer os.Remove(tmp)
	if err := os.Chmod(tmp, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil {
		ln.Close()
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExists, path)
		}
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	l := &Listener{UnixListener: ln, Path: path}
	if fi, err := os.Lstat(path); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			l.ino = st.Ino
		}
	}
	return l, nil
}

// Close stops listening and removes the path if it is still ours.
func (l *Listener) Close() error {
	err := l.UnixListener.Close()
	if fi, serr := os.Lstat(l.Path); serr == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Ino == l.ino && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(l.Path)
		}
	}
	return err
}

// PrepareDir makes dir (and parents) for control sockets, and refuses a
// directory that others can write to or that another user owns, since
// anyone who can replace our socket can read our sessions.
func PrepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("control directory %s: %w", dir, err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("control directory %s: %w", dir, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok {
		return fmt.Errorf("control directory %s: not a directory", dir)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("control directory %s: owned by uid %d, not by us", dir, st.Uid)
	}
	if fi.Mode().Perm() != 0o700 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("control directory %s: %w", dir, err)
		}
	}
	return nil
}
