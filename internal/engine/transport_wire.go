package engine

import (
	"encoding/binary"
	"errors"
	"math/big"
	"strings"
)

// The transport's message numbers (RFC 4253 12, RFC 8308, RFC 4419, RFC 5656).
const (
	msgDisconnect     = 1
	msgIgnore         = 2
	msgUnimplemented  = 3
	msgDebug          = 4
	msgServiceRequest = 5
	msgServiceAccept  = 6
	msgExtInfo        = 7
	msgKexInit        = 20
	msgNewKeys        = 21
	// 30-49 are the key exchange method's own.
	msgKexECDHInit  = 30
	msgKexECDHReply = 31
	msgKexGexGroup  = 31
	msgKexGexInit   = 32
	msgKexGexReply  = 33
	msgKexGexReq    = 34
)

// errShortMessage is a message that ends before its fields do.
var errShortMessage = errors.New("ssh: message too short")

// pktReader reads the SSH wire types (RFC 4251 5) from a message; the
// first failure sticks, so a parser checks ok once at the end.
type pktReader struct {
	b   []byte
	bad bool
}

func (r *pktReader) ok() bool { return !r.bad }

func (r *pktReader) byte() byte {
	if len(r.b) < 1 {
		r.bad = true
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *pktReader) bool() bool { return r.byte() != 0 }

func (r *pktReader) uint32() uint32 {
	if len(r.b) < 4 {
		r.bad = true
		r.b = nil
		return 0
	}
	v := binary.BigEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *pktReader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// string returns an SSH string's bytes, aliasing the message.
func (r *pktReader) string() []byte {
	n := r.uint32()
	if r.bad || uint64(n) > uint64(len(r.b)) {
		r.bad = true
		r.b = nil
		return nil
	}
	return r.bytes(int(n))
}

func (r *pktReader) nameList() []string {
	s := r.string()
	if r.bad || len(s) == 0 {
		return nil
	}
	return strings.Split(string(s), ",")
}

// mpint reads a non-negative mpint; negative values are refused, as no
// transport value may be negative.
func (r *pktReader) mpint() *big.Int {
	s := r.string()
	if r.bad {
		return nil
	}
	if len(s) > 0 && s[0]&0x80 != 0 {
		r.bad = true
		return nil
	}
	return new(big.Int).SetBytes(s)
}

func appendSSHUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

func appendSSHBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendSSHString(b, s []byte) []byte {
	b = appendSSHUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendSSHNameList(b []byte, names []string) []byte {
	return appendSSHString(b, []byte(strings.Join(names, ",")))
}

// appendSSHMpint appends a non-negative integer as an mpint.
func appendSSHMpint(b []byte, v *big.Int) []byte {
	return appendSSHMpintBytes(b, v.Bytes())
}

// appendSSHMpintBytes appends the unsigned big-endian magnitude m as an
// mpint: leading zeros dropped, a zero byte added before a high bit.
func appendSSHMpintBytes(b, m []byte) []byte {
	for len(m) > 0 && m[0] == 0 {
		m = m[1:]
	}
	if len(m) > 0 && m[0]&0x80 != 0 {
		b = appendSSHUint32(b, uint32(len(m)+1))
		b = append(b, 0)
		return append(b, m...)
	}
	return appendSSHString(b, m)
}
