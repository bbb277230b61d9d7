package bench

// The long-path mode of the forward benchmark: a second cable between the
// lab's laptop and hyper1 with an emulated round trip (package netcfg:
// netem, or its userspace emulator), iperf3 downloads through each
// client's `-L` to hyper1 over it, and plain TCP over the same cable as
// the ceiling.

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"time"

	"github.com/jumpgate/jumpgate/internal/lab"
	"github.com/jumpgate/jumpgate/internal/netcfg"
)

// The long path's addresses, a subnet the lab leaves free.
const (
	longPathLaptop = "198.18.9.1"
	longPathHyper  = "198.18.9.2"
)

// longPathLimit is the emulator's queue in frames each way: enough for a
// path's bandwidth-delay product well past a 64 MiB window (50000 frames
// of 1500 bytes, 75 MB), where the default 1000 holds what 120 Mbit/s
// puts on 100 ms.
const longPathLimit = 50000

// longPathTopology is the cable: both ends in the lab's namespaces, which
// exist already and so stay the lab's.
func longPathTopology(l *lab.Lab, rtt time.Duration) *netcfg.Topology {
	laptop, hyper := l.Netns("laptop"), l.Netns("hyper1")
	return &netcfg.Topology{
		Name:       l.Name() + "-longpath",
		Namespaces: []netcfg.Namespace{{Name: laptop}, {Name: hyper}},
		Veths: []netcfg.Veth{{
			A:     netcfg.End{Name: "long0", Namespace: laptop, Addresses: []netip.Prefix{netip.MustParsePrefix(longPathLaptop + "/24")}},
			B:     netcfg.End{Name: "long0", Namespace: hyper, Addresses: []netip.Prefix{netip.MustParsePrefix(longPathHyper + "/24")}},
			Shape: netcfg.Shape{Delay: rtt / 2, Limit: longPathLimit},
		}},
	}
}

// buildLongPath applies the long path and returns how to take it down.
// Its state (the emulator's PID) lives in dir.
func buildLongPath(ctx context.Context, l *lab.Lab, rtt time.Duration, emulator []string, dir string) (func() error, error) {
	top := longPathTopology(l, rtt)
	o := netcfg.Options{StateDir: filepath.Join(dir, "net"), Emulator: emulator}
	var out bytes.Buffer
	if _, err := netcfg.Apply(ctx, top, o, &out); err != nil {
		return nil, fmt.Errorf("long path: %w%s", err, indentTail(out.Bytes(), 8))
	}
	return func() error {
		_, err := netcfg.Destroy(context.WithoutCancel(ctx), top, o, &bytes.Buffer{})
		return err
	}, nil
}

// longPathConfig sends the clients to hyper1 over the long path; the host
// key is still hyper1's.
func longPathConfig() string {
	return "Host hyper1\n  HostName " + longPathHyper + "\n  HostKeyAlias hyper1\n"
}
