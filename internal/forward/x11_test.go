package forward

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// x11Setup builds an X11 connection setup with the given auth.
func x11Setup(order byte, name string, data []byte) []byte {
	var bo binary.ByteOrder = binary.LittleEndian
	if order == 'B' {
		bo = binary.BigEndian
	}
	h := []byte{order, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	bo.PutUint16(h[2:], 11)
	bo.PutUint16(h[6:], uint16(len(name)))
	bo.PutUint16(h[8:], uint16(len(data)))
	pad := func(b []byte) []byte { return append(b, make([]byte, (4-len(b)%4)%4)...) }
	return append(append(h, pad([]byte(name))...), pad(data)...)
}

func TestX11RewriteSetup(t *testing.T) {
	t.Parallel()
	fake := bytes.Repeat([]byte{0xfa}, 16)
	real := bytes.Repeat([]byte{0x7e}, 16)
	x := &X11{proto: mitMagicCookie, fake: fake, real: real}
	tests := []struct {
		name string
		in   []byte
		want []byte
		err  string
	}{
		{"little endian", x11Setup('l', mitMagicCookie, fake), x11Setup('l', mitMagicCookie, real), ""},
		{"big endian", x11Setup('B', mitMagicCookie, fake), x11Setup('B', mitMagicCookie, real), ""},
		{"wrong cookie", x11Setup('l', mitMagicCookie, real), nil, "does not match fake data"},
		{"other protocol", x11Setup('l', "XDM-AUTHORIZATION-1", fake), nil, "different authentication protocol"},
		{"bad byte order", append([]byte{'x'}, x11Setup('l', mitMagicCookie, fake)[1:]...), nil, "bad byte order"},
		{"truncated", x11Setup('l', mitMagicCookie, fake)[:20], nil, "unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := x.rewriteSetup(bytes.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %x, %v; want %x", got, err, tt.want)
			}
		})
	}
}

func TestParseXAuthList(t *testing.T) {
	t.Parallel()
	proto, data := parseXAuthList([]byte("host/unix:0  MIT-MAGIC-COOKIE-1  0123456789abcdef0123456789abcdef\nother\n"))
	if proto != mitMagicCookie || len(data) != 16 || data[0] != 0x01 {
		t.Errorf("got %q %x", proto, data)
	}
	if _, data := parseXAuthList([]byte("garbage\n")); data != nil {
		t.Errorf("garbage gave %x", data)
	}
}

// FuzzX11Setup feeds arbitrary setups to the cookie rewriter: no panic,
// and what it accepts keeps its length and carries the real cookie.
func FuzzX11Setup(f *testing.F) {
	fake := bytes.Repeat([]byte{0xfa}, 16)
	f.Add(x11Setup('l', mitMagicCookie, fake))
	f.Add(x11Setup('B', mitMagicCookie, fake))
	ents, _ := os.ReadDir("testdata/x11")
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join("testdata/x11", e.Name())); err == nil {
			f.Add(b)
		}
	}
	x := &X11{proto: mitMagicCookie, fake: fake, real: bytes.Repeat([]byte{0x7e}, 16)}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := x.rewriteSetup(bytes.NewReader(in))
		if err != nil {
			return
		}
		if len(out) > len(in) || !bytes.Contains(out, x.real) || bytes.Contains(out, fake) {
			t.Fatalf("%x rewritten to %x", in, out)
		}
	})
}
