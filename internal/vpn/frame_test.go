package vpn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"testing"
)

func seed(f *testing.F, name string) {
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
}

func TestFrameRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		packets [][]byte
	}{
		{"one", [][]byte{[]byte("hello")}},
		{"many", [][]byte{bytes.Repeat([]byte{1}, 1500), {2}, bytes.Repeat([]byte{3}, 9000)}},
		{"over a batch", func() [][]byte {
			var p [][]byte
			for i := range 200 {
				p = append(p, bytes.Repeat([]byte{byte(i)}, 1400))
			}
			return p
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			w := NewFrameWriter(&buf)
			for _, p := range tt.packets {
				if err := w.WritePacket(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			r := NewFrameReader(&buf, 9014)
			for i, want := range tt.packets {
				got, err := r.ReadPacket()
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("packet %d: %d bytes, %v; want %d bytes", i, len(got), err, len(want))
				}
			}
			if _, err := r.ReadPacket(); err != io.EOF {
				t.Errorf("after the last packet: %v, want EOF", err)
			}
		})
	}
}

func TestFrameBadInput(t *testing.T) {
	t.Parallel()
	hdr := func(n uint32) []byte { return binary.BigEndian.AppendUint32(nil, n) }
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"longer than the MTU", hdr(1515), ErrPacketTooLong},
		{"empty frame", hdr(0), ErrBadFrame},
		{"truncated header", []byte{0, 0}, io.ErrUnexpectedEOF},
		{"truncated packet", append(hdr(10), 1, 2, 3), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewFrameReader(bytes.NewReader(tt.in), 1514).ReadPacket()
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzFrame decodes arbitrary streams without panicking, and re-encodes
// what it decoded into the same bytes.
func FuzzFrame(f *testing.F) {
	seed(f, "frames.bin")
	f.Add([]byte{0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewFrameReader(bytes.NewReader(in), 1514)
		var out bytes.Buffer
		w := NewFrameWriter(&out)
		for {
			p, err := r.ReadPacket()
			if err != nil {
				break
			}
			if len(p) == 0 || len(p) > 1514 {
				t.Fatalf("decoded a packet of %d bytes", len(p))
			}
			if err := w.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		w.Flush()
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("re-encoding differs from the input")
		}
	})
}

// FuzzParse feeds arbitrary channel data to the tun@openssh.com layer-3
// re-framer: no panic, packets within the MTU, and what it yields written
// back by L3Writer gives the input it consumed.
func FuzzParse(f *testing.F) {
	seed(f, "ipv4-header.bin")
	f.Add([]byte{0, 0, 0, 24, 0x60, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewL3Reader(bytes.NewReader(in), 1500)
		var out bytes.Buffer
		w := NewL3Writer(&out)
		for {
			p, err := r.ReadPacket()
			if err != nil {
				break
			}
			if len(p) > 1500 || len(p) < 20 {
				t.Fatalf("packet of %d bytes", len(p))
			}
			if err := w.WritePacket(p); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.HasPrefix(in, out.Bytes()) {
			t.Fatalf("re-encoding differs from the input")
		}
		ParseTunOpen(in)
	})
}

func TestL3ReaderRejects(t *testing.T) {
	t.Parallel()
	v4 := func(af uint32, total uint16) []byte {
		b := binary.BigEndian.AppendUint32(nil, af)
		h := make([]byte, 20)
		h[0] = 0x45
		binary.BigEndian.PutUint16(h[2:], total)
		return append(b, h...)
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"too long", v4(afInet, 1600), ErrPacketTooLong},
		{"wrong family", v4(afInet6, 20), ErrBadFrame},
		{"short total length", v4(afInet, 10), ErrBadFrame},
		{"truncated", v4(afInet, 40), io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewL3Reader(bytes.NewReader(tt.in), 1500).ReadPacket()
			if !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestPickPair(t *testing.T) {
	t.Parallel()
	near, far, err := PickPair(nil)
	if err != nil || near.String() != "198.19.252.1/30" || far.String() != "198.19.252.2/30" {
		t.Errorf("empty: %v %v %v", near, far, err)
	}
	used := []netip.Prefix{netip.MustParsePrefix("198.19.252.0/24")}
	near, _, err = PickPair(used)
	if err != nil || near.String() != "198.19.253.1/30" {
		t.Errorf("with 198.19.252.0/24 used: %v %v", near, err)
	}
	if _, _, err := PickPair([]netip.Prefix{netip.MustParsePrefix("198.18.0.0/15")}); err == nil {
		t.Errorf("no error with the whole range used")
	}
}
