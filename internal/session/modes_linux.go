package session

import (
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/sys/unix"
)

// terminalModes reads f's settings as ssh(1)'s tty_make_modes sends them:
// output and input speed first, then the special characters and flags of
// OpenSSH's ttymodes.h, in its order (the ones Linux has). Special
// characters that are disabled are sent as 255.
func terminalModes(f *os.File) ([]ttyMode, error) {
	var t *unix.Termios
	err := control(f, func(fd int) (err error) {
		t, err = unix.IoctlGetTermios(fd, unix.TCGETS)
		return err
	})
	if err != nil {
		return nil, err
	}
	speed := baud(t.Cflag & unix.CBAUD)
	modes := []ttyMode{{ssh.TTY_OP_OSPEED, speed}, {ssh.TTY_OP_ISPEED, speed}}
	for _, c := range []struct {
		op  byte
		idx int
	}{
		{ssh.VINTR, unix.VINTR}, {ssh.VQUIT, unix.VQUIT}, {ssh.VERASE, unix.VERASE},
		{ssh.VKILL, unix.VKILL}, {ssh.VEOF, unix.VEOF}, {ssh.VEOL, unix.VEOL},
		{ssh.VEOL2, unix.VEOL2}, {ssh.VSTART, unix.VSTART}, {ssh.VSTOP, unix.VSTOP},
		{ssh.VSUSP, unix.VSUSP}, {ssh.VREPRINT, unix.VREPRINT}, {ssh.VWERASE, unix.VWERASE},
		{ssh.VLNEXT, unix.VLNEXT}, {ssh.VDISCARD, unix.VDISCARD},
	} {
		v := uint32(t.Cc[c.idx])
		if v == 0 { // _POSIX_VDISABLE
			v = 255
		}
		modes = append(modes, ttyMode{c.op, v})
	}
	flag := func(op byte, field, bit uint32) {
		v := uint32(0)
		if field&bit != 0 {
			v = 1
		}
		modes = append(modes, ttyMode{op, v})
	}
	flag(ssh.IGNPAR, t.Iflag, unix.IGNPAR)
	flag(ssh.PARMRK, t.Iflag, unix.PARMRK)
	flag(ssh.INPCK, t.Iflag, unix.INPCK)
	flag(ssh.ISTRIP, t.Iflag, unix.ISTRIP)
	flag(ssh.INLCR, t.Iflag, unix.INLCR)
	flag(ssh.IGNCR, t.Iflag, unix.IGNCR)
	flag(ssh.ICRNL, t.Iflag, unix.ICRNL)
	flag(ssh.IUCLC, t.Iflag, unix.IUCLC)
	flag(ssh.IXON, t.Iflag, unix.IXON)
	flag(ssh.IXANY, t.Iflag, unix.IXANY)
	flag(ssh.IXOFF, t.Iflag, unix.IXOFF)
	flag(ssh.IMAXBEL, t.Iflag, unix.IMAXBEL)
	flag(ssh.IUTF8, t.Iflag, unix.IUTF8)
	flag(ssh.ISIG, t.Lflag, unix.ISIG)
	flag(ssh.ICANON, t.Lflag, unix.ICANON)
	flag(ssh.XCASE, t.Lflag, unix.XCASE)
	flag(ssh.ECHO, t.Lflag, unix.ECHO)
	flag(ssh.ECHOE, t.Lflag, unix.ECHOE)
	flag(ssh.ECHOK, t.Lflag, unix.ECHOK)
	flag(ssh.ECHONL, t.Lflag, unix.ECHONL)
	flag(ssh.NOFLSH, t.Lflag, unix.NOFLSH)
	flag(ssh.TOSTOP, t.Lflag, unix.TOSTOP)
	flag(ssh.IEXTEN, t.Lflag, unix.IEXTEN)
	flag(ssh.ECHOCTL, t.Lflag, unix.ECHOCTL)
	flag(ssh.ECHOKE, t.Lflag, unix.ECHOKE)
	flag(ssh.PENDIN, t.Lflag, unix.PENDIN)
	flag(ssh.OPOST, t.Oflag, unix.OPOST)
	flag(ssh.OLCUC, t.Oflag, unix.OLCUC)
	flag(ssh.ONLCR, t.Oflag, unix.ONLCR)
	flag(ssh.OCRNL, t.Oflag, unix.OCRNL)
	flag(ssh.ONOCR, t.Oflag, unix.ONOCR)
	flag(ssh.ONLRET, t.Oflag, unix.ONLRET)
	// ttymodes.h tests CS7 and CS8 as bit masks, so CS8 sends CS7 1 too.
	flag(ssh.CS7, t.Cflag, unix.CS7)
	flag(ssh.CS8, t.Cflag, unix.CS8)
	flag(ssh.PARENB, t.Cflag, unix.PARENB)
	flag(ssh.PARODD, t.Cflag, unix.PARODD)
	return modes, nil
}

// baud converts a Bnnn speed code to bits per second.
func baud(code uint32) uint32 {
	for _, s := range []struct{ code, bps uint32 }{
		{unix.B0, 0}, {unix.B50, 50}, {unix.B75, 75}, {unix.B110, 110}, {unix.B134, 134},
		{unix.B150, 150}, {unix.B200, 200}, {unix.B300, 300}, {unix.B600, 600},
		{unix.B1200, 1200}, {unix.B1800, 1800}, {unix.B2400, 2400}, {unix.B4800, 4800},
		{unix.B9600, 9600}, {unix.B19200, 19200}, {unix.B38400, 38400}, {unix.B57600, 57600},
		{unix.B115200, 115200}, {unix.B230400, 230400}, {unix.B460800, 460800},
		{unix.B500000, 500000}, {unix.B576000, 576000}, {unix.B921600, 921600},
		{unix.B1000000, 1000000}, {unix.B1152000, 1152000}, {unix.B1500000, 1500000},
		{unix.B2000000, 2000000}, {unix.B2500000, 2500000}, {unix.B3000000, 3000000},
		{unix.B3500000, 3500000}, {unix.B4000000, 4000000},
	} {
		if s.code == code {
			return s.bps
		}
	}
	return 9600 // OpenSSH's speed_to_baud default
}
