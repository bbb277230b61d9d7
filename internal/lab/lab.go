// Package lab builds throw-away labs of the canonical jumpgate topology on
// the local kernel: network namespaces as hosts, veth pairs as cables and
// Linux bridges as switches, with an SSH server (Debian's OpenSSH sshd or
// `jumpgate serve`) on every host but the laptop.
//
//	laptop ──veth── hyper1 ──veth── hyper2
//	                  │               │
//	             bridge "wire"   bridge "virbr6"
//	                  │              │      │
//	                lan1            vm1    vm2
//
// Only 198.18.0.0/15 addresses are used, with no default routes and no IP
// forwarding: the laptop reaches only hyper1, hyper1 reaches hyper2, hyper2
// reaches vm1 and vm2, and lan1 sits on hyper1's bridge "wire", where hyper1
// has no address, so it is reachable only at layer 2.
//
// Everything a lab makes is recorded in a manifest in its state directory,
// so that [Lab.Down] (or the next [Up] with the same name, after a crash)
// removes exactly that.
package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ServerKind chooses the SSH server that runs on the lab's hosts.
type ServerKind int

const (
	// OpenSSH runs Debian's /usr/sbin/sshd on every host, for interop tests.
	OpenSSH ServerKind = iota
	// Jumpgate runs `jumpgate serve` ([Options.Binary]) on every host.
	Jumpgate
)

// String returns "openssh" or "jumpgate".
func (k ServerKind) String() string {
	switch k {
	case OpenSSH:
		return "openssh"
	case Jumpgate:
		return "jumpgate"
	}
	return fmt.Sprintf("ServerKind(%d)", int(k))
}

// ParseServerKind parses "openssh" or "jumpgate".
func ParseServerKind(s string) (ServerKind, error) {
	switch s {
	case "openssh", "sshd":
		return OpenSSH, nil
	case "jumpgate", "serve":
		return Jumpgate, nil
	}
	return 0, fmt.Errorf("unknown server %q (want openssh or jumpgate)", s)
}

// DefaultName is the lab's name when none is given.
const DefaultName = "jg"

// BaseDir holds the state directories of labs by default.
const BaseDir = "/run/jumpgate/lab"

// Options say which lab to build.
type Options struct {
	// Name prefixes the lab's namespaces and names its state directory;
	// labs with different names run side by side. Default [DefaultName].
	Name string
	// Server is the SSH server on every host but the laptop.
	Server ServerKind
	// Binary is the jumpgate binary, run as `Binary serve` for [Jumpgate].
	Binary string
	// StateDir holds keys, configs, logs and the manifest.
	// Default BaseDir/Name.
	StateDir string
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// Libvirt also starts libvirtd in hyper2 with a small guest booted
	// from Binary, which must then be static (see [Guest]).
	Libvirt bool
}

// Lab is a running lab, made by [Up] or found again by [Open].
type Lab struct {
	dir string
	m   manifest
	log io.Writer

	mu sync.Mutex
	// exited holds, for servers this process started, a channel closed
	// once the process has been reaped.
	exited map[int]chan struct{}
}

// manifest is what Up made, stored as JSON in the state directory. Its
// fields only ever grow.
type manifest struct {
	Name     string         `json:"name"`
	Server   string         `json:"server"`
	StateDir string         `json:"state_dir"`
	Created  time.Time      `json:"created"`
	Hosts    []hostRecord   `json:"hosts"`
	Servers  []serverRecord `json:"servers"`
	// Dirs are directories Up created outside the state directory (its
	// parents), removed by Down when empty, deepest first.
	Dirs []string `json:"dirs,omitempty"`
	// Guest is the libvirt guest, with Options.Libvirt.
	Guest *Guest `json:"guest,omitempty"`
	// Ready is set once Up finished.
	Ready bool `json:"ready"`
}

type hostRecord struct {
	Name  string `json:"name"`
	Addr  string `json:"addr"`
	Netns string `json:"netns"`
	// NetnsPath is the bind mount that names the namespace.
	NetnsPath string `json:"netns_path"`
}

type serverRecord struct {
	Host string `json:"host"`
	PID  int    `json:"pid"`
	// Start is the process start time in clock ticks since boot
	// (/proc/PID/stat field 22); with PID it names the process, so a
	// reused PID is never signalled.
	Start uint64 `json:"start"`
	Log   string `json:"log"`
}

const manifestFile = "manifest.json"

// validName reports whether name is a lower-case letter followed by up to
// 30 of [a-z0-9-]. (Not a regexp: every jumpgate command would compile it
// at start-up, and start-up is what a multiplexed `jumpgate ssh` costs.)
func validName(name string) bool {
	if len(name) == 0 || len(name) > 31 || name[0] < 'a' || name[0] > 'z' {
		return false
	}
	for _, c := range []byte(name[1:]) {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func (o *Options) fill() error {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if !validName(o.Name) {
		return fmt.Errorf("lab name %q: want a lower-case letter, then up to 30 of [a-z0-9-]", o.Name)
	}
	if o.StateDir == "" {
		o.StateDir = filepath.Join(BaseDir, o.Name)
	}
	abs, err := filepath.Abs(o.StateDir)
	if err != nil {
		return fmt.Errorf("state dir %s: %w", o.StateDir, err)
	}
	o.StateDir = abs
	if o.Server == Jumpgate && o.Binary == "" {
		return fmt.Errorf("a lab with jumpgate servers needs the jumpgate binary")
	}
	if o.Libvirt && o.Binary == "" {
		return fmt.Errorf("a lab's libvirt guest needs the jumpgate binary")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

// Open finds a lab again from the manifest in its state directory (default
// BaseDir/name), for down, status and exec.
func Open(name, stateDir string) (*Lab, error) {
	o := Options{Name: name, StateDir: stateDir}
	if err := o.fill(); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(o.StateDir, manifestFile))
	if err != nil {
		return nil, fmt.Errorf("open lab %s: %w", o.Name, err)
	}
	l := &Lab{dir: o.StateDir, log: io.Discard, exited: map[int]chan struct{}{}}
	if err := json.Unmarshal(b, &l.m); err != nil {
		return nil, fmt.Errorf("open lab %s: manifest %s: %w", o.Name, filepath.Join(o.StateDir, manifestFile), err)
	}
	if l.m.Name != o.Name {
		return nil, fmt.Errorf("open lab %s: %s belongs to lab %q", o.Name, o.StateDir, l.m.Name)
	}
	return l, nil
}

// SetLog sends progress lines (of Down, say) to w; nil discards them.
func (l *Lab) SetLog(w io.Writer) {
	if w == nil {
		w = io.Discard
	}
	l.log = w
}

// Name is the lab's name.
func (l *Lab) Name() string { return l.m.Name }

// Server is the kind of SSH server on the lab's hosts.
func (l *Lab) Server() ServerKind {
	k, _ := ParseServerKind(l.m.Server)
	return k
}

// Dir is the lab's state directory.
func (l *Lab) Dir() string { return l.dir }

// SSHConfig is the path of an ssh_config for the lab, usable by OpenSSH
// and jumpgate from inside the laptop: `ssh -F $(SSHConfig) vm1`.
func (l *Lab) SSHConfig() string { return filepath.Join(l.dir, "ssh_config") }

// KnownHosts is the path of a known_hosts file with every host's key, by
// name and by address.
func (l *Lab) KnownHosts() string { return filepath.Join(l.dir, "known_hosts") }

// IdentityFile is the path of the client's private key (ed25519), which
// every host's server accepts for root.
func (l *Lab) IdentityFile() string { return filepath.Join(l.dir, "id_ed25519") }

// LogFile is the path of host's server log.
func (l *Lab) LogFile(host string) string { return filepath.Join(l.dir, "logs", host+".log") }

// Hosts lists the lab's hosts, laptop first.
func (l *Lab) Hosts() []string {
	hs := make([]string, len(l.m.Hosts))
	for i, h := range l.m.Hosts {
		hs[i] = h.Name
	}
	return hs
}

// Addr is the address at which host is reached from its neighbour on the
// way from the laptop, such as "198.18.1.2" for hyper1; "" for an unknown host.
func (l *Lab) Addr(host string) string {
	if h, ok := l.host(host); ok {
		return h.Addr
	}
	return ""
}

// Netns is the name of host's network namespace (as `ip netns` shows it).
func (l *Lab) Netns(host string) string {
	if h, ok := l.host(host); ok {
		return h.Netns
	}
	return ""
}

// ServerPID is the PID of host's SSH server, or 0.
func (l *Lab) ServerPID(host string) int {
	if s, ok := l.server(host); ok {
		return s.PID
	}
	return 0
}

// ServerAlive reports whether host's SSH server process is still running.
func (l *Lab) ServerAlive(host string) bool {
	s, ok := l.server(host)
	return ok && sameProcess(s.PID, s.Start)
}

func (l *Lab) host(name string) (hostRecord, bool) {
	for _, h := range l.m.Hosts {
		if h.Name == name {
			return h, true
		}
	}
	return hostRecord{}, false
}

func (l *Lab) server(host string) (serverRecord, bool) {
	for _, s := range l.m.Servers {
		if s.Host == host {
			return s, true
		}
	}
	return serverRecord{}, false
}

// save writes the manifest atomically.
func (l *Lab) save() error {
	b, err := json.MarshalIndent(&l.m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	tmp := filepath.Join(l.dir, manifestFile+".tmp")
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(l.dir, manifestFile)); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

func (l *Lab) logf(format string, args ...any) {
	fmt.Fprintf(l.log, format+"\n", args...)
}

// WriteTry prints where the lab's state is and what to try with it: cmd is
// how to call the lab command ("jumpgate lab"), flags what names this lab
// on it (" --name N" or ""), bin the jumpgate binary.
func (l *Lab) WriteTry(w io.Writer, cmd, flags, bin string) {
	fmt.Fprintf(w, "\nstate: %s (ssh_config, known_hosts, id_ed25519, logs/)\n", l.Dir())
	fmt.Fprintf(w, "try:   %s exec%s laptop -- ssh -F %s vm1 hostname\n", cmd, flags, l.SSHConfig())
	fmt.Fprintf(w, "       %s exec%s laptop -- %s ssh -F %s vm1 hostname\n", cmd, flags, bin, l.SSHConfig())
	if g := l.m.Guest; g != nil {
		for _, c := range []string{"ssh -F %s " + g.Target() + " hostname", "console -F %s " + g.Target() +
			"    (remote-viewer; without a display: --screenshot FILE.png)", "topo -F %s " + g.Host} {
			fmt.Fprintf(w, "       %s exec%s laptop -- %s "+c+"\n", cmd, flags, bin, l.SSHConfig())
		}
	}
	fmt.Fprintf(w, "       ip netns exec %s bash\n", l.Netns("laptop"))
	fmt.Fprintf(w, "down:  %s down%s\n", cmd, flags)
}
