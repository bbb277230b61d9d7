package bench

import (
	"errors"
	"fmt"
	"os/exec"
	"runtime"

	"github.com/vishvananda/netns"
)

// startInNetns starts cmd inside the network namespace at path. A child
// process inherits the namespace of the thread that forks it, so the fork
// happens on a locked thread switched there for the moment of Start and
// switched back after; no nsenter process sits in the time measured.
func startInNetns(path string, cmd *exec.Cmd) error {
	target, err := netns.GetFromPath(path)
	if err != nil {
		return fmt.Errorf("open network namespace %s: %w", path, err)
	}
	defer target.Close()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("current network namespace: %w", err)
	}
	defer orig.Close()
	if err := netns.Set(target); err != nil {
		runtime.UnlockOSThread()
		return fmt.Errorf("enter network namespace %s: %w", path, err)
	}
	startErr := cmd.Start()
	if err := netns.Set(orig); err != nil {
		// The thread stays locked and ends with the goroutine, so no
		// other goroutine runs in the wrong namespace.
		return errors.Join(startErr, fmt.Errorf("restore network namespace: %w", err))
	}
	runtime.UnlockOSThread()
	return startErr
}
