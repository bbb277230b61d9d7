package libvirt

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseDomIfAddr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []IfAddr
		pick string
	}{
		{"domifaddr-lease.txt", []IfAddr{
			{"vnet0", "52:54:00:a1:b2:c3", "ipv4", netip.MustParsePrefix("192.168.122.45/24")},
		}, "192.168.122.45"},
		{"domifaddr-agent.txt", []IfAddr{
			{"lo", "00:00:00:00:00:00", "ipv4", netip.MustParsePrefix("127.0.0.1/8")},
			{"lo", "00:00:00:00:00:00", "ipv6", netip.MustParsePrefix("::1/128")},
			{"eth0", "52:54:00:a1:b2:c3", "ipv6", netip.MustParsePrefix("fe80::5054:ff:fea1:b2c3/64")},
			{"eth0", "52:54:00:a1:b2:c3", "ipv6", netip.MustParsePrefix("fd00:6::45/64")},
			{"eth0", "52:54:00:a1:b2:c3", "ipv4", netip.MustParsePrefix("198.18.6.45/24")},
		}, "198.18.6.45"},
		{"domifaddr-empty.txt", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDomIfAddr(string(readTestdata(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
			a, ok := PickAddr(got)
			if ok != (tt.pick != "") || ok && a.String() != tt.pick {
				t.Errorf("PickAddr = %v, %v; want %q", a, ok, tt.pick)
			}
		})
	}
}

func TestPickAddrIPv6Only(t *testing.T) {
	t.Parallel()
	addrs := []IfAddr{
		{Prefix: netip.MustParsePrefix("fe80::1/64")},
		{Prefix: netip.MustParsePrefix("fd00:6::45/64")},
	}
	if a, ok := PickAddr(addrs); !ok || a.String() != "fd00:6::45" {
		t.Errorf("PickAddr = %v, %v", a, ok)
	}
}

func TestParseList(t *testing.T) {
	t.Parallel()
	got, err := ParseList(string(readTestdata(t, "list-all.txt")))
	if err != nil {
		t.Fatal(err)
	}
	want := []Domain{
		{1, "guest", "running"},
		{3, "build box", "paused"},
		{-1, "old", "shut off"},
		{-1, "windows 11", "in shutdown"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseDomDisplay(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want Display
		uri  string
	}{
		{"domdisplay-spice.txt", Display{Type: "spice", Network: "tcp", Address: "127.0.0.1:5900"}, "spice://127.0.0.1:5900"},
		{"domdisplay-vnc.txt", Display{Type: "vnc", Network: "tcp", Address: "localhost:5901"}, "vnc://localhost:1"},
		{"domdisplay-spice-unix.txt", Display{Type: "spice", Network: "unix", Address: "/var/lib/libvirt/qemu/domain-1-guest/spice.sock"}, "spice+unix:///var/lib/libvirt/qemu/domain-1-guest/spice.sock"},
		{"domdisplay-spice-tls.txt", Display{Type: "spice", Network: "tcp", Address: "localhost:5901", TLSPort: 5902}, "spice://localhost:5901"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := ParseDomDisplay(string(readTestdata(t, tt.file)))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.uri {
				t.Errorf("URI %q, want %q", got.String(), tt.uri)
			}
		})
	}
}

func TestParseGraphicsXML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file string
		want []Display
	}{
		{"dumpxml-spice.xml", []Display{
			{Type: "spice", Network: "tcp", Address: "127.0.0.1:5900"},
			{Type: "vnc", Network: "tcp", Address: "127.0.0.1:5901"},
		}},
		{"dumpxml-socket.xml", []Display{
			{Type: "spice", Network: "unix", Address: "/var/lib/libvirt/qemu/domain-2-guest/spice.sock"},
		}},
		{"dumpxml-stopped.xml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			got, err := ParseGraphicsXML(readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestBadInput checks that malformed output is an error that says what
// was wrong, not a panic or a half-read result.
func TestBadInput(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		parse func(string) error
		in    string
		want  string
	}{
		{"domifaddr short row", func(s string) error { _, err := ParseDomIfAddr(s); return err }, " vnet0 52:54:00:00:00:01 ipv4\n", "line 1"},
		{"domifaddr bad address", func(s string) error { _, err := ParseDomIfAddr(s); return err }, " vnet0 - ipv4 192.168.122.300/24\n", "bad address"},
		{"list short row", func(s string) error { _, err := ParseList(s); return err }, " 1 guest\n", "want id, name and state"},
		{"list bad id", func(s string) error { _, err := ParseList(s); return err }, " x guest running\n", "bad id"},
		{"domdisplay empty", func(s string) error { _, err := ParseDomDisplay(s); return err }, "\n", "no Spice or VNC display"},
		{"domdisplay rdp", func(s string) error { _, err := ParseDomDisplay(s); return err }, "rdp://h:3389\n", "no Spice or VNC display"},
		{"domdisplay port", func(s string) error { _, err := ParseDomDisplay(s); return err }, "spice://h:99999\n", "bad port"},
		{"domdisplay unix relative", func(s string) error { _, err := ParseDomDisplay(s); return err }, "spice+unix://sock\n", "no socket path"},
		{"xml", func(s string) error { _, err := ParseGraphicsXML([]byte(s)); return err }, "<domain><devices>", "domain XML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.parse(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParseDomIfAddr(f *testing.F) {
	for _, n := range []string{"domifaddr-lease.txt", "domifaddr-agent.txt", "domifaddr-empty.txt"} {
		f.Add(string(readTestdata(f, n)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		addrs, err := ParseDomIfAddr(s)
		if err != nil && addrs != nil {
			t.Fatal("result and error")
		}
		if a, ok := PickAddr(addrs); ok && (!a.IsValid() || a.IsLoopback()) {
			t.Fatalf("picked %v", a)
		}
	})
}

func FuzzParseList(f *testing.F) {
	f.Add(string(readTestdata(f, "list-all.txt")))
	f.Fuzz(func(t *testing.T, s string) {
		doms, err := ParseList(s)
		if err != nil {
			return
		}
		for _, d := range doms {
			if d.Name == "" || d.State == "" {
				t.Fatalf("empty name or state in %+v", d)
			}
		}
	})
}

func FuzzParseDomDisplay(f *testing.F) {
	for _, n := range []string{"domdisplay-spice.txt", "domdisplay-vnc.txt", "domdisplay-spice-unix.txt", "domdisplay-spice-tls.txt"} {
		f.Add(string(readTestdata(f, n)))
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDomDisplay(s)
		if err != nil {
			return
		}
		// The URI we would hand remote-viewer reads back as the same
		// display (TLS ports are not part of it).
		back, err := ParseDomDisplay(d.String())
		if err != nil {
			t.Fatalf("%+v: URI %q does not parse back: %v", d, d.String(), err)
		}
		d.TLSPort = 0
		if back != d {
			t.Fatalf("round trip: %+v became %+v via %q", d, back, d.String())
		}
	})
}

func FuzzParseGraphicsXML(f *testing.F) {
	for _, n := range []string{"dumpxml-spice.xml", "dumpxml-socket.xml", "dumpxml-stopped.xml"} {
		f.Add(readTestdata(f, n))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ds, err := ParseGraphicsXML(b)
		if err != nil {
			return
		}
		for _, d := range ds {
			if d.Type != "spice" && d.Type != "vnc" || d.Address == "" {
				t.Fatalf("bad display %+v", d)
			}
		}
	})
}

func TestParsePPM(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"2x1", "P6\n2 1\n255\n\xff\x00\x00\x00\x00\xff", true},
		{"comment", "P6 # qemu\n2 1 255\n\xff\x00\x00\x00\x00\xff", true},
		{"truncated", "P6\n2 1\n255\n\xff\x00\x00", false},
		{"ascii", "P3\n1 1\n255\n1 2 3\n", false},
		{"16 bit", "P6\n1 1\n65535\n\x00\x00\x00\x00\x00\x00", false},
		{"huge", "P6\n999999 999999\n255\n", false},
		{"zero", "P6\n0 1\n255\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := ParsePPM([]byte(tc.in))
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if r, g, b, _ := img.At(0, 0).RGBA(); r>>8 != 255 || g != 0 || b != 0 {
				t.Errorf("pixel 0 = %v", img.At(0, 0))
			}
			if r, g, b, _ := img.At(1, 0).RGBA(); r != 0 || g != 0 || b>>8 != 255 {
				t.Errorf("pixel 1 = %v", img.At(1, 0))
			}
		})
	}
}

func FuzzParsePPM(f *testing.F) {
	f.Add([]byte("P6\n2 1\n255\n\xff\x00\x00\x00\x00\xff"))
	f.Add([]byte("P6 # c\n1 1 15\n\x01\x02\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := ParsePPM(b)
		if err == nil && (img.Bounds().Dx() <= 0 || img.Bounds().Dy() <= 0) {
			t.Fatalf("empty image without an error")
		}
	})
}
