package dial

import (
	"errors"
	"reflect"
	"testing"
)

func TestParseJumpList(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Hop
		bad  bool
	}{
		{"one host", "hyper1", []Hop{{Host: "hyper1"}}, false},
		{"user and port", "root@hyper1:2222", []Hop{{User: "root", Host: "hyper1", Port: 2222}}, false},
		{"chain", "a,b@c,d:3", []Hop{{Host: "a"}, {User: "b", Host: "c"}, {Host: "d", Port: 3}}, false},
		{"uri", "ssh://u@h:99", []Hop{{User: "u", Host: "h", Port: 99}}, false},
		{"ipv6 bracketed", "[2001:db8::1]:22", []Hop{{Host: "2001:db8::1", Port: 22}}, false},
		{"ipv6 bare", "2001:db8::1", []Hop{{Host: "2001:db8::1"}}, false},
		{"user with @", "a@b@h", []Hop{{User: "a@b", Host: "h"}}, false},
		{"libvirt domain", "hyper1,root@hyper2/vm1:2222", []Hop{{Host: "hyper1"}, {User: "root", Host: "hyper2/vm1", Port: 2222}}, false},
		{"domain with slash", "hyper2/vm1/x", nil, true},
		{"domain without host", "/vm1", nil, true},
		{"none", "none", nil, false},
		{"NONE", "NONE", nil, false},
		{"empty", "", nil, true},
		{"empty element", "a,,b", nil, true},
		{"trailing comma", "a,", nil, true},
		{"empty user", "@h", nil, true},
		{"bad port", "h:0", nil, true},
		{"port too big", "h:65536", nil, true},
		{"port not a number", "h:ssh", nil, true},
		{"empty port", "h:", nil, true},
		{"two colons", "h:1:2", nil, true},
		{"unclosed bracket", "[::1", nil, true},
		{"uri with path", "ssh://h/x", nil, true},
		{"space", "a b", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseJumpList(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseJumpList(%q) = %v, want an error", tt.in, got)
				}
				if !errors.Is(err, ErrBadJump) {
					t.Fatalf("error %v does not wrap ErrBadJump", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJumpList(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseJumpList(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			// What we write back parses to the same hops.
			if len(got) > 0 {
				again, err := ParseJumpList(JoinJumpList(got))
				if err != nil || !reflect.DeepEqual(again, got) {
					t.Fatalf("round trip of %q via %q = %+v, %v", tt.in, JoinJumpList(got), again, err)
				}
			}
		})
	}
}

func TestParseChain(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		hops    []Hop
		dest    Hop
		isChain bool
		bad     bool
	}{
		{"not a chain", "vm1", nil, Hop{}, false, false},
		{"gentoo syntax", "user1%host1:2201+user2%host2:2202+host3",
			[]Hop{{User: "user1", Host: "host1", Port: 2201}, {User: "user2", Host: "host2", Port: 2202}}, Hop{Host: "host3"}, true, false},
		{"plain hops", "hyper1+hyper2+vm1", []Hop{{Host: "hyper1"}, {Host: "hyper2"}}, Hop{Host: "vm1"}, true, false},
		{"last with user and port", "h1+bob%vm1:2022", []Hop{{Host: "h1"}}, Hop{User: "bob", Host: "vm1", Port: 2022}, true, false},
		{"empty element", "h1++vm1", nil, Hop{}, true, true},
		{"trailing plus", "h1+", nil, Hop{}, true, true},
		{"empty user", "%h1+vm1", nil, Hop{}, true, true},
		{"bad port", "h1:x+vm1", nil, Hop{}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hops, dest, ok, err := ParseChain(tt.in)
			if ok != tt.isChain {
				t.Fatalf("ParseChain(%q) ok = %v, want %v", tt.in, ok, tt.isChain)
			}
			if tt.bad {
				if err == nil {
					t.Fatalf("ParseChain(%q) = %v %v, want an error", tt.in, hops, dest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(hops, tt.hops) || dest != tt.dest {
				t.Fatalf("ParseChain(%q) = %+v, %+v; want %+v, %+v", tt.in, hops, dest, tt.hops, tt.dest)
			}
		})
	}
}

// FuzzParseJump: no input panics, and whatever parses writes back to
// something that parses to the same hops.
func FuzzParseJump(f *testing.F) {
	for _, s := range []string{"a", "u@h:22,h2", "ssh://u@[::1]:2", "none", "a+b%c:1+d", "[::1", "@", "h:", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if hops, err := ParseJumpList(s); err == nil && len(hops) > 0 {
			again, err := ParseJumpList(JoinJumpList(hops))
			if err != nil {
				t.Fatalf("%q parsed to %+v, but its rendering %q does not parse: %v", s, hops, JoinJumpList(hops), err)
			}
			if !reflect.DeepEqual(again, hops) {
				t.Fatalf("%q: %+v then %+v", s, hops, again)
			}
		}
		ParseChain(s)
	})
}
