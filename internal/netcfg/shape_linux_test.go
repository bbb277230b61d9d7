package netcfg

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// applyTwoHosts applies a veth between namespaces a (198.18.40.1) and b
// (198.18.40.2) with the given shape, destroyed in t.Cleanup.
func applyTwoHosts(t *testing.T, shape string, netem *bool) Options {
	t.Helper()
	o := testOptions(t)
	o.Netem = netem
	top, err := Parse("shape.yaml", []byte(`version: 1
namespaces: [{name: a}, {name: b}]
veths:
  - a: {name: eth0, namespace: a, addresses: [198.18.40.1/24]}
    b: {name: eth0, namespace: b, addresses: [198.18.40.2/24]}
    shape: `+shape+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Apply(context.Background(), top, o, &out); err != nil {
		t.Fatalf("apply: %v\n%s", err, out.String())
	}
	t.Logf("apply:\n%s", out.String())
	t.Cleanup(func() {
		if _, err := Destroy(context.Background(), top, o, &bytes.Buffer{}); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	return o
}

// TestShapeDelay: 50 ms one way through the userspace emulator (this
// kernel has no netem) gives a round trip of at least 100 ms, measured with
// UDP echoes between sockets opened inside the two namespaces (Debian's
// ping is not installed here).
func TestShapeDelay(t *testing.T) {
	t.Parallel()
	no := false
	o := applyTwoHosts(t, "{delay: 50ms}", &no)
	k := newKernel(o)
	defer k.close()
	var srv, cli net.PacketConn
	if err := k.inNS("b", func() (err error) { srv, err = net.ListenPacket("udp4", "198.18.40.2:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := k.inNS("a", func() (err error) { cli, err = net.ListenPacket("udp4", "198.18.40.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := srv.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = srv.WriteTo(buf[:n], from)
		}
	}()
	var rtts []time.Duration
	buf := make([]byte, 64)
	for i := range 6 {
		start := time.Now()
		if _, err := cli.WriteTo([]byte{byte(i)}, srv.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		_ = cli.SetReadDeadline(time.Now().Add(3 * time.Second))
		for {
			n, _, err := cli.ReadFrom(buf)
			if err != nil {
				t.Fatalf("echo %d: %v", i, err)
			}
			if n == 1 && buf[0] == byte(i) {
				break
			}
		}
		if i > 0 { // the first one waits for ARP as well
			rtts = append(rtts, time.Since(start))
		}
	}
	slices.Sort(rtts)
	t.Logf("round trips with 50 ms each way: %v", rtts)
	if rtts[0] < 100*time.Millisecond || rtts[len(rtts)/2] > 130*time.Millisecond {
		t.Errorf("round trips %v, want ≥ 100 ms and near it", rtts)
	}
}

// TestShapeRate: 100 Mbit/s through tbf caps iperf3 near 100 Mbit/s.
func TestShapeRate(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("iperf3"); err != nil {
		t.Skip("iperf3 not installed")
	}
	o := applyTwoHosts(t, "{rate: 100mbit}", nil)
	mbit := iperf(t, o, 3)
	t.Logf("iperf3 through a 100mbit tbf: %.1f Mbit/s", mbit)
	if mbit < 80 || mbit > 105 {
		t.Errorf("iperf3 %.1f Mbit/s, want near 100", mbit)
	}
}

// TestShapeEmulatorRate: TCP goes through the userspace emulator whole
// (offloads off) and at the configured rate.
func TestShapeEmulatorRate(t *testing.T) {
	t.Parallel()
	no := false
	o := applyTwoHosts(t, "{rate: 20mbit, delay: 5ms}", &no)
	mbit := iperf(t, o, 2)
	t.Logf("iperf3 through the emulator at 20mbit, 5 ms: %.1f Mbit/s", mbit)
	if mbit < 12 || mbit > 22 {
		t.Errorf("iperf3 %.1f Mbit/s, want near 20", mbit)
	}
}

// iperf runs an iperf3 server in b and a client in a for secs seconds and
// returns the receiver's rate in Mbit/s.
func iperf(t *testing.T, o Options, secs int) float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs+15)*time.Second)
	defer cancel()
	port := fmt.Sprint(20000 + time.Now().UnixNano()%10000)
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", o.NetnsPrefix+"b", "iperf3", "-s", "-B", "198.18.40.2", "-p", port)
	var srvOut bytes.Buffer
	srv.Stdout, srv.Stderr = &srvOut, &srvOut
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		_ = srv.Wait()
	})
	// Wait until the server listens, dialling from a's namespace.
	k := newKernel(o)
	defer k.close()
	for i := 0; ; i++ {
		err := k.inNS("a", func() error {
			c, err := net.DialTimeout("tcp", "198.18.40.2:"+port, time.Second)
			if err == nil {
				c.Close()
			}
			return err
		})
		if err == nil {
			break
		}
		if i == 100 {
			t.Fatalf("iperf3 server never listened: %v\n%s", err, srvOut.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", o.NetnsPrefix+"a",
		"iperf3", "-c", "198.18.40.2", "-p", port, "-t", fmt.Sprint(secs), "-J").Output()
	if err != nil {
		t.Fatalf("iperf3: %v\n%s\nserver:\n%s", err, out, srvOut.String())
	}
	var res struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("iperf3 json: %v\n%s", err, out)
	}
	if res.Error != "" {
		t.Fatalf("iperf3: %s", res.Error)
	}
	return res.End.SumReceived.BitsPerSecond / 1e6
}

// TestShapeLimit: a shape's limit reaches netem's queue where the kernel
// has netem and the emulator's otherwise; without one both keep their
// defaults.
func TestShapeLimit(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name           string
		limit          int
		netem, emuArgs int
	}{
		{"set", 50000, 50000, 50000},
		{"default", 0, 10000, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			top := &Topology{Name: "lim", Veths: []Veth{{A: End{Name: "a"}, B: End{Name: "b"},
				Shape: Shape{Delay: 50 * time.Millisecond, Limit: tt.limit}}}}
			links, _, _ := expand(top, "lim", true)
			q, ok := makeQdisc(1, links[0].qdisc).(*netlink.Netem)
			if !ok || q.Limit != uint32(tt.netem) || !qdiscMatches(q, links[0].qdisc) {
				t.Errorf("netem qdisc %+v, want limit %d", q, tt.netem)
			}
			_, emus, _ := expand(top, "lim", false)
			if got := emus[0].config(newKernel(Options{})).QueueLimit; got != tt.emuArgs {
				t.Errorf("emulator queue %d, want %d", got, tt.emuArgs)
			}
		})
	}
}
