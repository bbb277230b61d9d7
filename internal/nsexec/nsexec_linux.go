package nsexec

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// Do runs fn on a locked thread inside the network namespace at path (as
// /run/netns/NAME or /proc/PID/ns/net), then puts the thread back.
func Do(path string, fn func() error) error {
	h, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer h.Close()
	return DoHandle(h, fn)
}

// DoHandle is [Do] for a namespace already open.
func DoHandle(h netns.NsHandle, fn func() error) error {
	return locked(func() error {
		if err := netns.Set(h); err != nil {
			return fmt.Errorf("enter network namespace: %w", err)
		}
		return fn()
	})
}

// New creates a network namespace and returns a handle to it, leaving the
// calling thread in its own.
func New() (netns.NsHandle, error) {
	var h netns.NsHandle
	err := locked(func() error {
		var err error
		h, err = netns.New() // switches this thread into it
		return err
	})
	if err != nil && h.IsOpen() {
		h.Close()
	}
	if err != nil {
		return netns.None(), fmt.Errorf("new network namespace: %w", err)
	}
	return h, nil
}

// NewNamed is [New] for a namespace bind-mounted at /run/netns/name, as
// `ip netns add` makes.
func NewNamed(name string) (netns.NsHandle, error) {
	var h netns.NsHandle
	err := locked(func() error {
		var err error
		h, err = netns.NewNamed(name)
		return err
	})
	if err != nil && h.IsOpen() {
		h.Close()
	}
	if err != nil {
		return netns.None(), fmt.Errorf("new network namespace %s: %w", name, err)
	}
	return h, nil
}

// Self returns a handle to the process's own network namespace, read on a
// locked thread: /proc/self/ns/net is the main thread's, which may be in
// another namespace for a moment.
func Self() (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := netns.Get() // an unlocked thread is in the process's own namespace
	if err != nil {
		return netns.None(), fmt.Errorf("own network namespace: %w", err)
	}
	return h, nil
}

// locked runs fn on a locked thread and puts the thread back in the
// namespace it was in. If that fails, the thread stays locked and dies
// with the goroutine instead of running others in the wrong namespace.
func locked(fn func() error) error {
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current network namespace: %w", err)
	}
	defer orig.Close()
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		return errors.Join(ferr, fmt.Errorf("restore network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return ferr
}
