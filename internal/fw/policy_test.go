package fw

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParsePolicyExample(t *testing.T) {
	t.Parallel()
	p := mustParse(t, "../../examples/fw-two-bridges.yaml")
	if got := len(p.Bridges); got != 2 {
		t.Fatalf("bridges = %d, want 2", got)
	}
	vm1 := p.Bridges[1].Ports[0]
	want := Port{Name: "vnet-vm1", Role: RoleGuest, Bind: []Station{{
		MAC: net.HardwareAddr{0x52, 0x54, 0, 0, 6, 1},
		IPs: []netip.Addr{netip.MustParseAddr("198.18.0.21"), netip.MustParseAddr("2001:db8:6::21")},
	}}}
	if !reflect.DeepEqual(vm1, want) {
		t.Errorf("vnet-vm1 = %+v, want %+v", vm1, want)
	}
	if b := p.Bridges[0].Ports[2]; b.Role != RoleBorder || b.Peer != PeerHost {
		t.Errorf("wire-host = %+v, want a border to the host", b)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	t.Parallel()
	const head = "version: 1\nbridges:\n  - name: br0\n    ports:\n"
	tests := []struct {
		name, in string
		want     string // the error, after "p.yaml:"
	}{
		{"empty", "", "1: empty policy"},
		{"not yaml", "version: [1", "1: sequence end token ']' not found"},
		{"no version", "bridges: []\n", "1: version: missing"},
		{"version 2", "version: 2\nbridges: []\n", "1: version: version 2 is not supported"},
		{"version string", "version: one\n", "1: version: want a number"},
		{"unknown top field", "version: 1\nbridge: []\n", "2: bridge: unknown field"},
		{"bridges not list", "version: 1\nbridges: {}\n", "2: bridges: want a list"},
		{"bridge without name", "version: 1\nbridges:\n  - ports: []\n", "3: bridges[0].name: missing"},
		{"duplicate key", "version: 1\nversion: 1\n", "2: version: given twice"},
		{"unknown port field", head + "      - name: tap0\n        role: guest\n        binds: []\n", "7: bridges[0].ports[0].binds: unknown field"},
		{"bad role", head + "      - name: tap0\n        role: vm\n", "6: bridges[0].ports[0].role: \"vm\": want guest or border"},
		{"guest without bind", head + "      - name: tap0\n        role: guest\n", "5: bridges[0].ports[0].bind: missing"},
		{"border without peer", head + "      - name: eth0\n        role: border\n", "5: bridges[0].ports[0].peer: missing"},
		{"bad mac", head + "      - name: tap0\n        role: guest\n        bind:\n          - mac: 52:54:zz:00:00:01\n", "8: bridges[0].ports[0].bind[0].mac: \"52:54:zz:00:00:01\" is not an Ethernet address"},
		{"multicast mac", head + "      - name: tap0\n        role: guest\n        bind:\n          - mac: 01:00:5e:00:00:01\n", "8: bridges[0].ports[0].bind[0].mac: port tap0: mac 01:00:5e:00:00:01: a multicast"},
		{"bad ip", head + "      - name: tap0\n        role: guest\n        bind:\n          - mac: 52:54:00:00:00:01\n            ips: [198.18.0.300]\n", "9: bridges[0].ports[0].bind[0].ips[0]: \"198.18.0.300\" is not an IP address"},
		{"ip twice", head + "      - name: tap0\n        role: guest\n        bind:\n          - mac: 52:54:00:00:00:01\n            ips: [198.18.0.3, 198.18.0.3]\n", "9: bridges[0].ports[0].bind[0].ips[1]: 198.18.0.3 is listed twice"},
		{"unspecified ip", head + "      - name: tap0\n        role: guest\n        bind:\n          - mac: 52:54:00:00:00:01\n            ips: [0.0.0.0]\n", "9: bridges[0].ports[0].bind[0].ips[0]: port tap0: ip 0.0.0.0"},
		{"mac on two ports", head + "      - name: tap0\n        role: guest\n        bind:\n          - mac: 52:54:00:00:00:01\n      - name: tap1\n        role: guest\n        bind:\n          - mac: 52:54:00:00:00:01\n",
			"12: bridges[0].ports[1].bind[0].mac: port tap1: mac 52:54:00:00:00:01 is already bound to port tap0"},
		{"unknown peer", head + "      - name: eth0\n        role: border\n        peer: br9\n", "7: bridges[0].ports[0].peer: port eth0: peer \"br9\" is neither"},
		{"peer itself", head + "      - name: eth0\n        role: border\n        peer: br0\n", "7: bridges[0].ports[0].peer: port eth0: peer br0 is the port's own bridge"},
		{"border binds", head + "      - name: eth0\n        role: border\n        peer: host\n        bind: []\n", "8: bridges[0].ports[0].bind: border port eth0 binds no stations"},
		{"guest peer", head + "      - name: tap0\n        role: guest\n        bind: []\n        peer: host\n", "8: bridges[0].ports[0].peer: guest port tap0 has no peer"},
		{"port twice", head + "      - name: tap0\n        role: guest\n        bind: []\n      - name: tap0\n        role: guest\n        bind: []\n", "8: bridges[0].ports[1].name: port tap0 is already a port of bridge br0"},
		{"bridge twice", "version: 1\nbridges:\n  - name: br0\n  - name: br0\n", "3: bridges[0].name: bridge br0 is listed twice"},
		{"long name", head + "      - name: a-name-far-too-long\n        role: guest\n        bind: []\n", "5: bridges[0].ports[0].name: port \"a-name-far-too-long\": interface name longer"},
		{"name with slash", head + "      - name: a/b\n        role: guest\n        bind: []\n", "5: bridges[0].ports[0].name: port \"a/b\": interface name has a character"},
		{"null name", head + "      - name:\n        role: guest\n", "5: bridges[0].ports[0].name: want a string, got nothing"},
		{"remote on a guest", head + "      - name: tap0\n        role: guest\n        bind: []\n        remote: []\n        closed: true\n", "9: bridges[0].ports[0].closed: guest port tap0 has no remote stations"},
		{"remote behind external", head + "      - name: eth0\n        role: border\n        peer: external\n        closed: true\n", "8: bridges[0].ports[0].closed: port eth0: only a border to \"remote\""},
		{"closed not a bool", head + "      - name: vx0\n        role: border\n        peer: remote\n        closed: yes please\n", "8: bridges[0].ports[0].closed: want true or false"},
		{"remote mac bound here", head + "      - name: tap0\n        role: guest\n        bind:\n          - mac: 52:54:00:00:00:01\n      - name: vx0\n        role: border\n        peer: remote\n        remote:\n          - mac: 52:54:00:00:00:01\n",
			"13: bridges[0].ports[1].remote[0].mac: port vx0: mac 52:54:00:00:00:01 is already bound to port tap0"},
		{"two documents", "version: 1\nbridges: []\n---\nversion: 1\n", "4: more than one YAML document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePolicy("p.yaml", []byte(tt.in))
			if err == nil {
				t.Fatalf("ParsePolicy(%q) = nil error, want %q", tt.in, tt.want)
			}
			want := "p.yaml:" + tt.want
			if strings.HasPrefix(tt.want, "p.yaml") {
				want = tt.want
			}
			if !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error = %q, want prefix %q", err, want)
			}
		})
	}
}

func TestFieldErrorIsTyped(t *testing.T) {
	t.Parallel()
	_, err := ParsePolicy("x.yaml", []byte("version: 1\nbridges:\n  - name: br0\n    ports:\n      - name: e\n        role: border\n        peer: nowhere\n"))
	var fe *FieldError
	if !errors.As(err, &fe) {
		t.Fatalf("error %v is not a *FieldError", err)
	}
	if fe.File != "x.yaml" || fe.Line != 7 || fe.Path != "bridges[0].ports[0].peer" {
		t.Errorf("FieldError = %+v, want x.yaml line 7 bridges[0].ports[0].peer", fe)
	}
}

func TestPolicyEncodeRoundTrip(t *testing.T) {
	t.Parallel()
	for _, file := range policyFiles(t) {
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			p := mustParse(t, file)
			enc := p.Encode()
			q, err := ParsePolicy("encoded", enc)
			if err != nil {
				t.Fatalf("parse encoded policy: %v\n%s", err, enc)
			}
			if !reflect.DeepEqual(p, q) {
				t.Errorf("round trip changed the policy:\n%s", enc)
			}
		})
	}
}

func FuzzParsePolicy(f *testing.F) {
	for _, file := range policyFiles(f) {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("version: 1\nbridges: [{name: b, ports: [{name: p, role: guest, bind: [{mac: '02:00:00:00:00:01', ips: ['::1']}]}]}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePolicy("fuzz.yaml", data)
		if err != nil {
			return
		}
		// What parses generates rules, and encodes to a file that parses
		// back to the same policy.
		if _, err := Generate(p); err != nil {
			t.Fatalf("Generate after a clean parse: %v", err)
		}
		q, err := ParsePolicy("encoded", p.Encode())
		if err != nil {
			t.Fatalf("parse encoded policy: %v\n%s", err, p.Encode())
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the policy:\n%s", p.Encode())
		}
	})
}

// policyFiles lists the policies the tests and the fuzzer start from.
func policyFiles(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return append(files, "../../examples/fw-two-bridges.yaml")
}

func mustParse(t testing.TB, file string) *Policy {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParsePolicy(file, data)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return p
}

// TestParsePolicySecondDocument checks that a policy followed by a second
// document, malformed or not, is refused with the line it starts on: the
// second document must never be dropped unread.
func TestParsePolicySecondDocument(t *testing.T) {
	t.Parallel()
	base, err := os.ReadFile("../../examples/fw-two-bridges.yaml")
	if err != nil {
		t.Fatal(err)
	}
	baseLines := strings.Count(string(base), "\n")
	for _, tail := range []string{"---\n\tfoo: bar\n", "---\n- a\nb: c\n", "---\nkey: [1, 2\n", "---\n\"open\n",
		"---\nfoo: bar\n  baz: 1\n", "---\n{a: 1\n", "---\n*undefined\n", "---\n!!int abc\n", "--- [\n",
		"---\n%YAML 1.2\n---\n", "---\nversion: 1\nbridges: []\n", "...\n---\n: x\n"} {
		t.Run(tail, func(t *testing.T) {
			t.Parallel()
			_, err := ParsePolicy("p.yaml", append(append([]byte{}, base...), tail...))
			var fe *FieldError
			if !errors.As(err, &fe) || fe.File != "p.yaml" || fe.Line < baseLines || fe.Line == 0 {
				t.Errorf("ParsePolicy = %v, want an error at line %d or after", err, baseLines)
			}
		})
	}
}
