package dial

import (
	"testing"

	"github.com/jumpgate/jumpgate/internal/sshtest"
	"golang.org/x/sys/unix"
)

func TestLimitUnsent(t *testing.T) {
	tc, _ := sshtest.TCPPair(t)
	limitUnsent(tc)
	rc, err := tc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	var gerr error
	rc.Control(func(fd uintptr) { got, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NOTSENT_LOWAT) })
	if gerr != nil || got != unsentLimit {
		t.Errorf("TCP_NOTSENT_LOWAT = %d (%v), want %d", got, gerr, unsentLimit)
	}
}
