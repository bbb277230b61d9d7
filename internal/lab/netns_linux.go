package lab

// The Linux-only parts: named network namespaces are bind mounts of nsfs
// files under /run/netns, made and removed with mount(2).

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/jumpgate/jumpgate/internal/nsexec"
)

// ensureNetnsDir makes /run/netns a shared mount point, as iproute2 does,
// so that removing a namespace's bind mount propagates into the servers'
// mount namespaces (which are its slaves) instead of pinning it there.
func ensureNetnsDir() error {
	if err := os.MkdirAll(netnsDir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", netnsDir, err)
	}
	err := unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	if errors.Is(err, unix.EINVAL) { // not a mount point yet
		if err := unix.Mount(netnsDir, netnsDir, "none", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return fmt.Errorf("bind-mount %s: %w", netnsDir, err)
		}
		err = unix.Mount("", netnsDir, "none", unix.MS_SHARED|unix.MS_REC, "")
	}
	if err != nil {
		return fmt.Errorf("make %s shared: %w", netnsDir, err)
	}
	return nil
}

// newNamedNetns creates a network namespace bind-mounted at
// /run/netns/name.
func newNamedNetns(name string) error {
	ns, err := nsexec.NewNamed(name)
	if err != nil {
		return err
	}
	return ns.Close()
}

// removeNetns unmounts and removes a named network namespace; the
// namespace itself goes away with its last user.
func removeNetns(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil &&
		!errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
