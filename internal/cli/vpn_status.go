package cli

// How running tunnels advertise themselves, and `jumpgate vpn status`.
// Each running `jumpgate vpn` keeps a file PID.json (0600) in the vpn
// directory beside the mux sockets ($XDG_RUNTIME_DIR/jumpgate/vpn, else
// ~/.cache/jumpgate/vpn), rewritten every second with its counters and
// rates and removed on exit. A file whose process is gone (kill -9, a
// crash) or whose PID now belongs to another process (the start time
// differs) is stale: status ignores it and removes it.

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/jumpgate/jumpgate/internal/vpn"
)

// vpnRecord is one running tunnel as status shows it (--json: an array of
// these; fields are only ever added).
type vpnRecord struct {
	PID           int       `json:"pid"`
	StartTicks    uint64    `json:"start_ticks"` // the process's start time, to tell a reused PID
	Target        string    `json:"target"`
	Mode          string    `json:"mode"`
	State         string    `json:"state"` // "up" or "reconnecting"
	Transport     string    `json:"transport"`
	Device        string    `json:"device"`
	Address       string    `json:"address,omitempty"`
	Bridge        string    `json:"bridge,omitempty"`
	RemoteDevice  string    `json:"remote_device"`
	RemoteAddress string    `json:"remote_address,omitempty"`
	RemoteBridge  string    `json:"remote_bridge,omitempty"`
	MTU           int       `json:"mtu"`
	Since         time.Time `json:"since"`
	Updated       time.Time `json:"updated"`
	Reconnects    int       `json:"reconnects"`
	TxPackets     uint64    `json:"tx_packets"`
	TxBytes       uint64    `json:"tx_bytes"`
	RxPackets     uint64    `json:"rx_packets"`
	RxBytes       uint64    `json:"rx_bytes"`
	TxBitsPerSec  float64   `json:"tx_bits_per_second"` // over the last second
	RxBitsPerSec  float64   `json:"rx_bits_per_second"`
}

// vpnState advertises one running tunnel until close.
type vpnState struct {
	path string
	t    *vpn.Tunnel
	stop chan struct{}
	done chan struct{}

	mu  sync.Mutex
	rec vpnRecord
}

// vpnStateDir is where running tunnels advertise themselves.
func vpnStateDir(e *env, create bool) (string, error) {
	home, _, _ := localUser(e)
	dir, err := controlDir(e.getenv, home, create)
	if err != nil {
		return "", err
	}
	dir = filepath.Join(dir, "vpn")
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return dir, nil
}

// advertise starts advertising t; errors only cost the status entry.
func advertise(e *env, t *vpn.Tunnel, target string) (*vpnState, error) {
	dir, err := vpnStateDir(e, true)
	if err != nil {
		return nil, err
	}
	pid := os.Getpid()
	start, err := procStartTicks(pid)
	if err != nil {
		return nil, err
	}
	s := &vpnState{path: filepath.Join(dir, strconv.Itoa(pid)+".json"), t: t,
		stop: make(chan struct{}), done: make(chan struct{})}
	cfg := t.Near.Config()
	s.rec = vpnRecord{PID: pid, StartTicks: start, Target: target, Mode: cfg.Mode.String(), State: "up",
		Device: t.Near.Name(), Bridge: cfg.Bridge, MTU: t.MTU, Since: time.Now().UTC().Truncate(time.Second)}
	if cfg.Addr.IsValid() {
		s.rec.Address = cfg.Addr.String()
	}
	s.fillFar()
	s.fillCounters()
	if err := s.write(); err != nil {
		return nil, err
	}
	go s.loop()
	return s, nil
}

// fillFar copies the tunnel's far side into the record; only the
// goroutine that (re)attaches the tunnel calls it, holding s.mu.
func (s *vpnState) fillFar() {
	r := &s.rec
	r.Transport, r.RemoteDevice = s.t.Transport, s.t.FarDevice
	r.RemoteBridge = s.t.RemoteBridge()
	if s.t.Remote.IsValid() && r.Mode == vpn.L3.String() {
		r.RemoteAddress = s.t.Remote.String()
	}
}

// fillCounters copies the counters (atomics) into the record.
func (s *vpnState) fillCounters() {
	r := &s.rec
	r.TxPackets, r.TxBytes = s.t.Counters.TxPackets.Load(), s.t.Counters.TxBytes.Load()
	r.RxPackets, r.RxBytes = s.t.Counters.RxPackets.Load(), s.t.Counters.RxBytes.Load()
	r.Updated = time.Now().UTC()
}

func (s *vpnState) loop() {
	defer close(s.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-s.stop:
			return
		case now := <-tick.C:
			s.mu.Lock()
			tx, rx := s.rec.TxBytes, s.rec.RxBytes
			s.fillCounters()
			dt := now.Sub(last).Seconds()
			s.rec.TxBitsPerSec = float64(s.rec.TxBytes-tx) * 8 / dt
			s.rec.RxBitsPerSec = float64(s.rec.RxBytes-rx) * 8 / dt
			s.write()
			s.mu.Unlock()
			last = now
		}
	}
}

// set records the tunnel's state ("up", "reconnecting") at once.
func (s *vpnState) set(state string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == "up" && s.rec.State != "up" {
		s.rec.Reconnects++
	}
	s.rec.State = state
	s.fillFar()
	s.fillCounters()
	s.write()
}

// write replaces the file atomically: status never reads half a record.
func (s *vpnState) write() error {
	b, err := json.Marshal(s.rec)
	if err != nil {
		return err
	}
	tmp := s.path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write tunnel state: %w", err)
	}
	return os.Rename(tmp, s.path)
}

// close stops advertising and removes the file.
func (s *vpnState) close() {
	if s == nil {
		return
	}
	close(s.stop)
	<-s.done
	os.Remove(s.path)
	os.Remove(s.path + ".tmp")
}

// procStartTicks is field 22 of /proc/PID/stat: when the process started.
func procStartTicks(pid int) (uint64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	return strconv.ParseUint(f[19], 10, 64)
}

// liveTunnels reads dir's records, removing stale ones, oldest first.
func liveTunnels(dir string) ([]vpnRecord, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []vpnRecord
	for _, de := range ents {
		name := de.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var r vpnRecord
		if json.Unmarshal(b, &r) != nil || r.PID <= 0 || strconv.Itoa(r.PID)+".json" != name {
			os.Remove(path)
			continue
		}
		if start, err := procStartTicks(r.PID); err != nil || start != r.StartTicks {
			os.Remove(path)
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b vpnRecord) int { return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.PID, b.PID)) })
	return out, nil
}

const vpnStatusUsage = `Usage: jumpgate vpn status [--json]

Lists the tunnels of running jumpgate vpn processes of this user: devices,
addresses, bridges, transport, far end and current rates.
`

// runVPNStatus is `jumpgate vpn status`.
func runVPNStatus(_ context.Context, e *env, args []string) error {
	fs := pflag.NewFlagSet("vpn status", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print JSON (an array of tunnels)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(e.io.Out, vpnStatusUsage+"\n")
			fs.SetOutput(e.io.Out)
			fs.PrintDefaults()
			return nil
		}
		return usageErrorf("vpn status: %v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("vpn status: unexpected argument %q", fs.Arg(0))
	}
	dir, err := vpnStateDir(e, false)
	if err != nil {
		return err
	}
	recs, err := liveTunnels(dir)
	if err != nil {
		return fmt.Errorf("read tunnels in %s: %w", dir, err)
	}
	if *asJSON {
		if recs == nil {
			recs = []vpnRecord{}
		}
		enc := json.NewEncoder(e.io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(recs)
	}
	if len(recs) == 0 {
		fmt.Fprintln(e.io.ErrOut, "jumpgate: no tunnels running")
		return nil
	}
	tw := tabwriter.NewWriter(e.io.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PID\tTARGET\tMODE\tSTATE\tTRANSPORT\tLOCAL\tREMOTE\tMTU\tTX\tRX\tUP")
	for _, r := range recs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.PID, r.Target, r.Mode, r.State, r.Transport,
			endText(r.Device, r.Address, r.Bridge), endText(r.RemoteDevice, r.RemoteAddress, r.RemoteBridge), r.MTU,
			rateText(r.TxBitsPerSec), rateText(r.RxBitsPerSec), time.Since(r.Since).Truncate(time.Second))
	}
	return tw.Flush()
}

// endText is one end: "jgtun0 198.19.252.1/30" or "jgtap0@virtual 198.18.3.99/24".
func endText(dev, addr, bridge string) string {
	s := dev
	if bridge != "" {
		s += "@" + bridge
	}
	if addr != "" {
		s += " " + addr
	}
	return s
}

func rateText(bps float64) string {
	switch {
	case bps >= 1e9:
		return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
	case bps >= 1e6:
		return fmt.Sprintf("%.1f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}
