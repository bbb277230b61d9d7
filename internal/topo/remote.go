package topo

// Remote discovery without an agent: one POSIX shell script runs over an
// SSH exec channel and prints iproute2's JSON for the root namespace and
// every named one, tap holders from /proc, and `ovs-vsctl`/`virsh` output
// when those exist, each section after a marker line. ParseBundle turns
// that output into the same model local discovery builds.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
)

// marker starts every section of the script's output.
const marker = "@@jumpgate-topo "

// RemoteScript is the shell script remote discovery runs (sh -c). Named
// namespaces need root on the remote host (`ip -n` enters them); without
// it their sections hold iproute2's error, which becomes a warning.
//
// Every process it starts is CPU a fleet's discovery pays once per host
// (docs/scale.md), so what a shell builtin can read is read by one: the
// hostname and boot id with read, the named namespaces with a glob of
// iproute2's directory (what `ip netns list` lists), the tap holders'
// fdinfo and comm with read. The scan of every process's fdinfo for tap
// holders (a file per descriptor on the machine) runs only when some
// namespace has a tun or tap device: no device, no holder to find.
const RemoteScript = `export LC_ALL=C; PATH="$PATH:/usr/sbin:/sbin"
m() { printf '\n@@jumpgate-topo %s\n' "$*"; }
# x SECTION ARG CMD...: CMD's output as SECTION, or, when it fails (virsh
# without a running libvirtd), an error section with its status and stderr.
x() { s=$1 a=$2; shift 2
  o=$("$@" 2>/dev/null); st=$?
  if [ "$st" -eq 0 ]; then m "$s" "$a"; printf '%s\n' "$o"; return 0; fi
  m error "$*: exit status $st"; "$@" 2>&1 >/dev/null | head -n 3; return 1; }
m host; { read -r v </proc/sys/kernel/hostname && printf '%s\n' "$v"; } 2>/dev/null || hostname
m boot; { read -r v </proc/sys/kernel/random/boot_id && printf '%s\n' "$v"; } 2>/dev/null
m ino; stat -L -c %i /proc/self/ns/net 2>&1
d=/var/run/netns tun=
for f in '' "$d"/* "$d"/.[!.]* "$d"/..?*; do
  ns=${f##*/}
  [ -z "$f" ] || [ -e "$f" ] || continue
  m ns "$ns"
  [ -n "$f" ] && { m ino; stat -L -c %i "$f" 2>&1; }
  m link; o=$(ip ${f:+-n "$ns"} -j -d -s link show 2>&1); printf '%s\n' "$o"
  case $o in *'"info_kind":"tun"'*) tun=1 ;; esac
  m addr; ip ${f:+-n "$ns"} -j addr show 2>&1
  m fdb; bridge ${f:+-n "$ns"} -j fdb show 2>&1
  m neigh; ip ${f:+-n "$ns"} -j neigh show 2>&1
  m nsid; ip ${f:+-n "$ns"} -j netns list-id 2>&1
done
m taps
[ -z "$tun" ] || for f in $(grep -ls '^iff:' /proc/[0-9]*/fdinfo/* 2>/dev/null); do
  p=${f#/proc/}; p=${p%%/*} i= c=
  while read -r k v; do [ "$k" = iff: ] && i=$v; done <"$f"
  read -r c <"/proc/$p/comm"
  printf '%s\t%s\t%s\t%s\n' "$p" "$i" "$(stat -L -c %i /proc/$p/ns/net 2>/dev/null)" "$c"
done 2>/dev/null
if command -v ovs-vsctl >/dev/null 2>&1; then x ovs '' ovs-vsctl show; fi
if command -v virsh >/dev/null 2>&1 && x virsh-list '' virsh -q list --all; then
  for d in $(virsh -q list --all --name 2>/dev/null); do x virsh-domiflist "$d" virsh -q domiflist "$d"; done
  if x virsh-net-list '' virsh -q net-list --all; then
    for d in $(virsh -q net-list --all --name 2>/dev/null); do x virsh-net-info "$d" virsh net-info "$d"; done
  fi
fi
m end
`

// Exec runs a shell script on the target and returns its standard output.
type Exec func(ctx context.Context, script string) ([]byte, error)

// DiscoverRemote runs [RemoteScript] through run and parses its output.
func DiscoverRemote(ctx context.Context, run Exec) (*Topology, error) {
	out, err := run(ctx, RemoteScript)
	if err != nil {
		return nil, fmt.Errorf("run discovery script: %w", err)
	}
	return ParseBundle(out)
}

type section struct {
	name, arg string
	body      []byte
}

// splitSections splits the script's output at marker lines.
func splitSections(b []byte) []section {
	var out []section
	cur := -1
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte("\n"))
		b = rest
		if s, ok := bytes.CutPrefix(line, []byte(marker)); ok {
			name, arg, _ := strings.Cut(string(s), " ")
			out = append(out, section{name: name, arg: arg})
			cur = len(out) - 1
			continue
		}
		if cur >= 0 {
			out[cur].body = append(append(out[cur].body, line...), '\n')
		}
	}
	for i := range out {
		out[i].body = bytes.TrimSpace(out[i].body)
	}
	return out
}

// ParseBundle parses the output of [RemoteScript]. What one namespace's
// commands could not report (an error instead of JSON) becomes a warning;
// output cut short is an error.
func ParseBundle(b []byte) (*Topology, error) {
	// JSON strings are UTF-8; a name that is not becomes U+FFFD here, once,
	// so that the model reads back as it was written.
	b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	secs := splitSections(b)
	if len(secs) == 0 || secs[len(secs)-1].name != "end" {
		return nil, fmt.Errorf("parse discovery output: cut short (no end marker)")
	}
	t := &Topology{Source: "ssh"}
	var ns *Namespace
	var rootIno uint64
	var holds []tapHold
	warn := func(format string, args ...any) { t.Warnings = append(t.Warnings, fmt.Sprintf(format, args...)) }
	where := func() string {
		if ns == nil || ns.Root {
			return "root namespace"
		}
		return "namespace " + ns.Name
	}
	var lv *Libvirt
	for _, s := range secs {
		switch s.name {
		case "host":
			t.Host = string(s.body)
		case "boot":
			t.Kernel = string(s.body)
		case "ino":
			n, err := strconv.ParseUint(string(s.body), 10, 64)
			if err != nil {
				break // no stat(1) or no permission: inodes stay unknown
			}
			if ns == nil {
				rootIno = n
			} else {
				ns.Inode = n
			}
		case "ns":
			t.Namespaces = append(t.Namespaces, Namespace{ID: s.arg, Name: s.arg, Root: s.arg == ""})
			ns = &t.Namespaces[len(t.Namespaces)-1]
			if ns.Root {
				ns.Inode = rootIno
			}
		case "link", "addr", "fdb", "neigh", "nsid":
			if ns == nil {
				return nil, fmt.Errorf("parse discovery output: %s section before any namespace", s.name)
			}
			if err := parseNSSection(ns, s); err != nil {
				warn("%s: %v (output: %.120s)", where(), err, firstLine(s.body))
			}
		case "taps":
			for line := range strings.Lines(string(s.body)) {
				f := strings.SplitN(strings.TrimRight(line, "\n"), "\t", 4)
				if len(f) < 4 {
					continue
				}
				pid, err := strconv.Atoi(f[0])
				if err != nil || f[1] == "" {
					continue
				}
				ino, _ := strconv.ParseUint(f[2], 10, 64)
				holds = append(holds, tapHold{pid: pid, dev: f[1], nsInode: ino, comm: f[3]})
			}
		case "error":
			// A tool that exists but failed, as local discovery words it.
			msg := s.arg
			if strings.HasPrefix(msg, "virsh ") && libvirtDown(string(s.body)) {
				msg = libvirtDownWarning
			} else if len(s.body) > 0 {
				msg += ": " + strings.Join(strings.Split(string(s.body), "\n"), "; ")
			}
			warn("%s", msg)
		case "ovs":
			t.OVS = ParseOVSShow(string(s.body))
		case "virsh-list":
			lv = &Libvirt{Domains: ParseVirshList(string(s.body))}
		case "virsh-domiflist":
			if lv != nil {
				for i := range lv.Domains {
					if lv.Domains[i].Name == s.arg {
						lv.Domains[i].Interfaces = ParseVirshDomIfList(string(s.body))
					}
				}
			}
		case "virsh-net-list":
			if lv != nil {
				lv.Networks = ParseVirshNetList(string(s.body))
			}
		case "virsh-net-info":
			if lv != nil {
				for i := range lv.Networks {
					if lv.Networks[i].Name == s.arg {
						lv.Networks[i].Bridge = ParseVirshNetInfo(string(s.body))["Bridge"]
					}
				}
			}
		}
	}
	t.Libvirt = lv
	if len(t.Namespaces) == 0 || !t.Namespaces[0].Root {
		return nil, fmt.Errorf("parse discovery output: no root namespace")
	}
	t.attachHolds(holds)
	t.Finish()
	return t, nil
}

// parseNSSection fills one namespace section.
func parseNSSection(ns *Namespace, s section) error {
	if len(s.body) == 0 {
		return nil // e.g. no neighbours
	}
	switch s.name {
	case "link":
		links, err := ParseLinks(s.body)
		if err != nil {
			return err
		}
		addrs := map[string][]Address{}
		for _, l := range ns.Links {
			addrs[l.Name] = l.Addresses
		}
		for i := range links {
			links[i].Addresses = addrs[links[i].Name]
		}
		ns.Links = links
	case "addr":
		addrs, err := ParseAddrs(s.body)
		if err != nil {
			return err
		}
		for i := range ns.Links {
			ns.Links[i].Addresses = addrs[ns.Links[i].Name]
		}
	case "fdb":
		fdb, err := ParseFDB(s.body)
		if err != nil {
			return err
		}
		ns.FDB = fdb
		if remotes, err := ParseVXLANRemotes(s.body); err == nil {
			ns.addVXLANRemotes(remotes)
		}
	case "neigh":
		n, err := ParseNeigh(s.body)
		if err != nil {
			return err
		}
		ns.Neighbours = n
	case "nsid":
		ids, err := ParseNSIDs(s.body)
		if err != nil {
			return err
		}
		ns.nsids = ids
	}
	return nil
}

func firstLine(b []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	if sc.Scan() {
		return sc.Text()
	}
	return ""
}
