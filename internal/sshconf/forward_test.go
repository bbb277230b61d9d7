package sshconf

import (
	"bufio"
	"os"
	"strings"
	"testing"
)

func TestParseForward(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		spec string
		kind ForwardKind
		want Forward
		err  string
	}{
		{"local tcp", "8080:web:80", Local, Forward{Kind: Local, ListenPort: 8080, ConnectHost: "web", ConnectPort: 80}, ""},
		{"local bind", "127.0.0.2:8080:web:80", Local, Forward{Kind: Local, ListenHost: "127.0.0.2", HasListenHost: true, ListenPort: 8080, ConnectHost: "web", ConnectPort: 80}, ""},
		{"local all addresses", "*:8080:web:80", Local, Forward{Kind: Local, ListenHost: "*", HasListenHost: true, ListenPort: 8080, ConnectHost: "web", ConnectPort: 80}, ""},
		{"local ipv6 target", "8080:[::1]:80", Local, Forward{Kind: Local, ListenPort: 8080, ConnectHost: "::1", ConnectPort: 80}, ""},
		{"unix to unix", "/tmp/a.sock:/run/b.sock", Local, Forward{Kind: Local, ListenPath: "/tmp/a.sock", ConnectPath: "/run/b.sock"}, ""},
		{"port to unix", "2000:/run/b.sock", Local, Forward{Kind: Local, ListenPort: 2000, ConnectPath: "/run/b.sock"}, ""},
		{"unix to tcp", "/tmp/a.sock:web:80", Local, Forward{Kind: Local, ListenPath: "/tmp/a.sock", ConnectHost: "web", ConnectPort: 80}, ""},
		{"host named socks", "1:socks:2", Local, Forward{Kind: Local, ListenPort: 1, ConnectHost: "socks", ConnectPort: 2}, ""},
		{"local port 0", "0:web:80", Local, Forward{}, "Bad local forwarding specification '0:web:80'"},
		{"local no target", "8080", Local, Forward{}, "Bad local forwarding specification '8080'"},
		{"local bad port", "99999:web:80", Local, Forward{}, "Bad local forwarding specification"},
		{"remote port 0", "0:localhost:22", Remote, Forward{Kind: Remote, ConnectHost: "localhost", ConnectPort: 22}, ""},
		{"remote socks", "1080", Remote, Forward{Kind: RemoteDynamic, ListenPort: 1080}, ""},
		{"remote socks bind", "127.0.0.1:1080", Remote, Forward{Kind: RemoteDynamic, ListenHost: "127.0.0.1", HasListenHost: true, ListenPort: 1080}, ""},
		{"remote unix", "/run/r.sock:localhost:4713", Remote, Forward{Kind: Remote, ListenPath: "/run/r.sock", ConnectHost: "localhost", ConnectPort: 4713}, ""},
		{"dynamic", "1080", Dynamic, Forward{Kind: Dynamic, ListenPort: 1080}, ""},
		{"dynamic bind", "[::1]:1080", Dynamic, Forward{Kind: Dynamic, ListenHost: "::1", HasListenHost: true, ListenPort: 1080}, ""},
		{"dynamic too many", "1:2:3", Dynamic, Forward{}, "Bad dynamic forwarding specification '1:2:3'"},
		{"unclosed bracket", "[::1:80:h:1", Local, Forward{}, "Bad local forwarding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseForward(tt.spec, tt.kind, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseForward(%q) = %+v, %v; want error %q", tt.spec, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseForward(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			}
			back, err := ParseForward(got.String(), tt.kind, nil)
			if err != nil || back != got {
				t.Errorf("round trip via %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

func TestHostForwards(t *testing.T) {
	t.Parallel()
	opts := Options{CommandLine: []Option{
		{Key: "LocalForward", Value: "8080 web:80"},
		{Key: "DynamicForward", Value: "1080"},
		{Key: "RemoteForward", Value: "0 localhost:22"},
		{Key: "RemoteForward", Value: "2000"},
	}, ConfigFile: "none", HomeDir: "/nonexistent", LocalUser: "u"}
	h, err := Resolve("h", opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []Forward{
		{Kind: Local, ListenPort: 8080, ConnectHost: "web", ConnectPort: 80},
		{Kind: Dynamic, ListenPort: 1080},
		{Kind: Remote, ConnectHost: "localhost", ConnectPort: 22},
		{Kind: RemoteDynamic, ListenPort: 2000},
	}
	got := h.Forwards()
	if len(got) != len(want) {
		t.Fatalf("Forwards() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Forwards()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	opts.CommandLine = append(opts.CommandLine, Option{Key: "ClearAllForwardings", Value: "yes"})
	if h, err = Resolve("h", opts); err != nil {
		t.Fatal(err)
	}
	if got := h.Forwards(); len(got) != 0 {
		t.Errorf("with ClearAllForwardings: %+v", got)
	}
}

// FuzzParseForward checks that no spec panics the parser and that what
// parses prints back to a spec that parses to the same forward.
func FuzzParseForward(f *testing.F) {
	fh, err := os.Open("testdata/forwards/seeds.txt")
	if err != nil {
		f.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		for k := Local; k <= RemoteDynamic; k++ {
			f.Add(sc.Text(), int(k))
		}
	}
	f.Fuzz(func(t *testing.T, spec string, k int) {
		kind := ForwardKind(uint(k) % 4)
		fw, err := ParseForward(spec, kind, nil)
		if err != nil {
			return
		}
		if strings.ContainsAny(fw.ListenHost+fw.ConnectHost, "/$") || strings.Contains(fw.ListenPath+fw.ConnectPath, "$") {
			return // a host with a slash reads as a path; $ would expand
		}
		back, err := ParseForward(fw.String(), kind, nil)
		if err != nil || back != fw {
			t.Fatalf("%q parsed to %+v, printed as %q, read back as %+v, %v", spec, fw, fw.String(), back, err)
		}
	})
}
