//go:build unix

package session

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// winchSignals are the signals that tell of a window-size change.
func winchSignals() []os.Signal { return []os.Signal{unix.SIGWINCH} }

func getWinsize(f *os.File) (winsize, error) {
	var w winsize
	err := control(f, func(fd int) error {
		ws, err := unix.IoctlGetWinsize(fd, unix.TIOCGWINSZ)
		if err == nil {
			w = winsize{uint32(ws.Col), uint32(ws.Row), uint32(ws.Xpixel), uint32(ws.Ypixel)}
		}
		return err
	})
	return w, err
}

// suspendSelf stops the process as the shell's ^Z would (SIGTSTP has
// its default action unless someone asked for it with signal.Notify) and
// returns once it is continued.
func suspendSelf() error {
	return syscall.Kill(os.Getpid(), syscall.SIGTSTP)
}
