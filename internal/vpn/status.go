package vpn

// How running tunnels advertise themselves, for `jumpgate vpn status`.
// Each running `jumpgate vpn` keeps a file PID.json (0600) in the vpn
// directory beside the mux sockets ($XDG_RUNTIME_DIR/jumpgate/vpn, else
// ~/.cache/jumpgate/vpn), rewritten every second with its counters and
// rates and removed on exit. A file whose process is gone (kill -9, a
// crash) or whose PID now belongs to another process (the start time
// differs) is stale: status ignores it and removes it.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jumpgate/jumpgate/internal/procstat"
)

// Record is one running tunnel as status shows it (--json: an array of
// these; fields are only ever added).
type Record struct {
	PID           int       `json:"pid"`
	StartTicks    uint64    `json:"start_ticks"` // the process's start time, to tell a reused PID
	Target        string    `json:"target"`
	Mode          string    `json:"mode"`
	State         string    `json:"state"` // "up" or "reconnecting"
	Transport     string    `json:"transport"`
	Device        string    `json:"device"`
	Address       string    `json:"address,omitempty"` // the first of Addresses
	Bridge        string    `json:"bridge,omitempty"`
	RemoteDevice  string    `json:"remote_device"`
	RemoteAddress string    `json:"remote_address,omitempty"` // the first of RemoteAddresses
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
	// Every address of each end, IPv4 and IPv6.
	Addresses       []string `json:"addresses,omitempty"`
	RemoteAddresses []string `json:"remote_addresses,omitempty"`
}

// State advertises one running tunnel until Close.
type State struct {
	path string
	t    *Tunnel
	stop chan struct{}
	done chan struct{}

	mu  sync.Mutex
	rec Record
}

// StateDir is where running tunnels advertise themselves: "vpn" under
// base, the directory of the mux sockets (which create expects to exist).
func StateDir(base string, create bool) (string, error) {
	dir := filepath.Join(base, "vpn")
	if create {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return "", fmt.Errorf("create %s: %w", dir, err)
		}
	}
	return dir, nil
}

// Advertise starts advertising t; errors only cost the status entry.
func Advertise(base string, t *Tunnel, target string) (*State, error) {
	dir, err := StateDir(base, true)
	if err != nil {
		return nil, err
	}
	pid := os.Getpid()
	start, err := procstat.StartTime(pid)
	if err != nil {
		return nil, err
	}
	s := &State{path: filepath.Join(dir, strconv.Itoa(pid)+".json"), t: t,
		stop: make(chan struct{}), done: make(chan struct{})}
	cfg := t.Near.Config()
	s.rec = Record{PID: pid, StartTicks: start, Target: target, Mode: cfg.Mode.String(), State: "up",
		Device: t.Near.Name(), Bridge: cfg.Bridge, MTU: t.MTU, Since: time.Now().UTC().Truncate(time.Second)}
	s.rec.Addresses = prefixStrings(cfg.Addrs)
	if len(s.rec.Addresses) > 0 {
		s.rec.Address = s.rec.Addresses[0]
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
func (s *State) fillFar() {
	r := &s.rec
	r.Transport, r.RemoteDevice = s.t.Transport, s.t.FarDevice
	r.RemoteBridge = s.t.RemoteBridge()
	if len(s.t.Remote) > 0 && r.Mode == L3.String() {
		r.RemoteAddresses = prefixStrings(s.t.Remote)
		r.RemoteAddress = r.RemoteAddresses[0]
	}
}

func prefixStrings(ps []netip.Prefix) []string {
	var s []string
	for _, p := range ps {
		s = append(s, p.String())
	}
	return s
}

// fillCounters copies the counters (atomics) into the record.
func (s *State) fillCounters() {
	r := &s.rec
	r.TxPackets, r.TxBytes = s.t.Counters.TxPackets.Load(), s.t.Counters.TxBytes.Load()
	r.RxPackets, r.RxBytes = s.t.Counters.RxPackets.Load(), s.t.Counters.RxBytes.Load()
	r.Updated = time.Now().UTC()
}

func (s *State) loop() {
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

// Set records the tunnel's state ("up", "reconnecting") at once.
func (s *State) Set(state string) {
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
func (s *State) write() error {
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

// Close stops advertising and removes the file.
func (s *State) Close() {
	if s == nil {
		return
	}
	close(s.stop)
	<-s.done
	os.Remove(s.path)
	os.Remove(s.path + ".tmp")
}

// LiveTunnels reads dir's records, removing stale ones, oldest first.
func LiveTunnels(dir string) ([]Record, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Record
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
		var r Record
		if json.Unmarshal(b, &r) != nil || r.PID <= 0 || strconv.Itoa(r.PID)+".json" != name {
			os.Remove(path)
			continue
		}
		if start, err := procstat.StartTime(r.PID); err != nil || start != r.StartTicks {
			os.Remove(path)
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Record) int { return cmp.Or(a.Since.Compare(b.Since), cmp.Compare(a.PID, b.PID)) })
	return out, nil
}
