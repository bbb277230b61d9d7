//go:build linux

package lab_test

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/lab/labtest"
)

// TestReachability checks the matrix of the canonical topology: each host
// reaches only its neighbours, with no routing through anyone.
func TestReachability(t *testing.T) {
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	t.Parallel()
	tests := []struct {
		from, to string
		ok       bool
	}{
		{"laptop", "198.18.1.2", true},   // hyper1
		{"laptop", "198.18.2.2", false},  // hyper2: no route, no forwarding
		{"laptop", "198.18.6.11", false}, // vm1
		{"hyper1", "198.18.2.2", true},   // hyper2
		{"hyper1", "198.18.6.11", false}, // vm1 is behind hyper2
		{"hyper1", "198.18.3.11", false}, // lan1: hyper1 has no address on wire
		{"hyper2", "198.18.6.11", true},  // vm1 on virbr6
		{"hyper2", "198.18.6.12", true},  // vm2 on virbr6
		{"hyper2", "198.18.1.1", false},  // laptop is behind hyper1
		{"vm1", "198.18.6.12", true},     // vm2, same bridge
		{"vm1", "198.18.6.1", true},      // hyper2, its gateway on virbr6
		{"vm1", "198.18.2.2", false},     // hyper2's uplink: no route
		{"lan1", "198.18.1.2", false},    // lan1 has only its segment
		{"lan1", "198.18.2.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.from+"→"+tt.to, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			c, err := l.DialContext(ctx, tt.from, "tcp", net.JoinHostPort(tt.to, "22"))
			if c != nil {
				c.Close()
			}
			switch {
			case tt.ok && err != nil:
				t.Errorf("want reachable: %v", err)
			case !tt.ok && err == nil:
				t.Errorf("reachable, want not")
			case !tt.ok && !errors.Is(err, syscall.ENETUNREACH):
				t.Errorf("err = %v, want network unreachable", err)
			}
		})
	}
}

// TestLayer2Only checks that lan1 hangs off hyper1's bridge "wire", where
// hyper1 has no address, and that no host has a default route.
func TestLayer2Only(t *testing.T) {
	l := labtest.New(t, lab.Options{Server: lab.OpenSSH})
	t.Parallel()
	handle := func(host string) *netlink.Handle {
		ns, err := netns.GetFromName(l.Netns(host))
		if err != nil {
			t.Fatalf("namespace of %s: %v", host, err)
		}
		t.Cleanup(func() { ns.Close() })
		h, err := netlink.NewHandleAt(ns)
		if err != nil {
			t.Fatalf("netlink in %s: %v", host, err)
		}
		t.Cleanup(h.Close)
		return h
	}
	h1 := handle("hyper1")
	wire, err := h1.LinkByName("wire")
	if err != nil {
		t.Fatalf("bridge wire: %v", err)
	}
	if wire.Type() != "bridge" || wire.Attrs().OperState == netlink.OperDown {
		t.Errorf("wire: type %s state %v, want an up bridge", wire.Type(), wire.Attrs().OperState)
	}
	if addrs, _ := h1.AddrList(wire, netlink.FAMILY_V4); len(addrs) != 0 {
		t.Errorf("hyper1 has addresses on wire: %v", addrs)
	}
	port, err := h1.LinkByName("vnet0")
	if err != nil || port.Attrs().MasterIndex != wire.Attrs().Index {
		t.Errorf("hyper1 vnet0 (lan1's cable) not on wire: %v", err)
	}
	for _, host := range l.Hosts() {
		routes, err := handle(host).RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			t.Fatalf("routes of %s: %v", host, err)
		}
		for _, r := range routes {
			if r.Dst == nil || r.Dst.IP.IsUnspecified() {
				t.Errorf("%s has a default route: %v", host, r)
			}
			if r.Gw != nil {
				t.Errorf("%s routes through a gateway: %v", host, r)
			}
		}
		if host == "lan1" && (len(routes) != 1 || routes[0].Dst.String() != "198.18.3.0/24") {
			t.Errorf("lan1 routes = %v, want only 198.18.3.0/24", routes)
		}
	}
}
