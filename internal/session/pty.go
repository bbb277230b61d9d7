package session

import (
	"encoding/binary"
	"os"

	"golang.org/x/crypto/ssh"
)

// defaultCols and defaultRows are the window size sent when there is no
// local terminal to measure (ssh -tt with stdin not a terminal).
// ssh(1) sends 0x0 there; a zero size confuses full-screen programs, so
// jumpgate sends the classic 80x24 instead.
const (
	defaultCols = 80
	defaultRows = 24
)

// winsize is a terminal's size in characters and pixels.
type winsize struct {
	Cols, Rows, XPixel, YPixel uint32
}

// termSize measures f, or returns 80x24 when f is nil or not a terminal.
func termSize(f *os.File) winsize {
	if f != nil {
		if ws, err := getWinsize(f); err == nil && ws.Cols > 0 && ws.Rows > 0 {
			return ws
		}
	}
	return winsize{Cols: defaultCols, Rows: defaultRows}
}

// ttyMode is one encoded terminal mode of RFC 4254 section 8.
type ttyMode struct {
	op  byte
	val uint32
}

// encodeModes encodes modes in order as RFC 4254's "encoded terminal
// modes", ending with TTY_OP_END.
func encodeModes(modes []ttyMode) string {
	b := make([]byte, 0, 5*len(modes)+1)
	for _, m := range modes {
		b = append(b, m.op)
		b = binary.BigEndian.AppendUint32(b, m.val)
	}
	return string(append(b, 0))
}

// ptyRequest is the payload of a "pty-req" channel request (RFC 4254
// section 6.2).
func ptyRequest(term string, ws winsize, modes []ttyMode) []byte {
	return ssh.Marshal(struct {
		Term                       string
		Cols, Rows, XPixel, YPixel uint32
		Modes                      string
	}{term, ws.Cols, ws.Rows, ws.XPixel, ws.YPixel, encodeModes(modes)})
}

// windowChange is the payload of a "window-change" request (RFC 4254
// section 6.7), pixels included as ssh(1) sends them.
func windowChange(ws winsize) []byte {
	return ssh.Marshal(ws)
}
