package server

import (
	"encoding/binary"
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// Terminal mode opcodes of RFC 4254 section 8.
var (
	ccModes = map[byte]int{
		1: unix.VINTR, 2: unix.VQUIT, 3: unix.VERASE, 4: unix.VKILL, 5: unix.VEOF, 6: unix.VEOL,
		7: unix.VEOL2, 8: unix.VSTART, 9: unix.VSTOP, 10: unix.VSUSP, 12: unix.VREPRINT,
		13: unix.VWERASE, 14: unix.VLNEXT, 18: unix.VDISCARD,
	}
	iflagModes = map[byte]uint32{
		30: unix.IGNPAR, 31: unix.PARMRK, 32: unix.INPCK, 33: unix.ISTRIP, 34: unix.INLCR,
		35: unix.IGNCR, 36: unix.ICRNL, 37: unix.IUCLC, 38: unix.IXON, 39: unix.IXANY,
		40: unix.IXOFF, 41: unix.IMAXBEL, 42: unix.IUTF8,
	}
	lflagModes = map[byte]uint32{
		50: unix.ISIG, 51: unix.ICANON, 52: unix.XCASE, 53: unix.ECHO, 54: unix.ECHOE,
		55: unix.ECHOK, 56: unix.ECHONL, 57: unix.NOFLSH, 58: unix.TOSTOP, 59: unix.IEXTEN,
		60: unix.ECHOCTL, 61: unix.ECHOKE, 62: unix.PENDIN,
	}
	oflagModes = map[byte]uint32{70: unix.OPOST, 71: unix.OLCUC, 72: unix.ONLCR, 73: unix.OCRNL, 74: unix.ONOCR, 75: unix.ONLRET}
	cflagModes = map[byte]uint32{92: unix.PARENB, 93: unix.PARODD}
)

// applyModes sets the encoded terminal modes of a pty-req on tty.
func applyModes(tty *os.File, modes []byte) error {
	if len(modes) == 0 {
		return nil
	}
	t, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		return err
	}
	for len(modes) > 0 {
		op := modes[0]
		if op == 0 || op >= 160 { // TTY_OP_END, or opcodes without defined arguments
			break
		}
		if len(modes) < 5 {
			return errors.New("truncated terminal modes")
		}
		v := binary.BigEndian.Uint32(modes[1:5])
		modes = modes[5:]
		set := func(flags *uint32, bit uint32) {
			if v != 0 {
				*flags |= bit
			} else {
				*flags &^= bit
			}
		}
		cc, isCC := ccModes[op]
		switch {
		case isCC:
			t.Cc[cc] = uint8(v)
		case op == 90 && v != 0:
			t.Cflag = t.Cflag&^unix.CSIZE | unix.CS7
		case op == 91 && v != 0:
			t.Cflag = t.Cflag&^unix.CSIZE | unix.CS8
		case iflagModes[op] != 0:
			set(&t.Iflag, iflagModes[op])
		case lflagModes[op] != 0:
			set(&t.Lflag, lflagModes[op])
		case oflagModes[op] != 0:
			set(&t.Oflag, oflagModes[op])
		case cflagModes[op] != 0:
			set(&t.Cflag, cflagModes[op])
		case op == 128:
			t.Ispeed = v
		case op == 129:
			t.Ospeed = v
		}
	}
	return unix.IoctlSetTermios(int(tty.Fd()), unix.TCSETS, t)
}
