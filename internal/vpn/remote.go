package vpn

// What the near side asks of the far host over exec channels, with nothing
// but a POSIX shell, coreutils and iproute2 there: one probe (who am I,
// which devices and networks exist, is the helper cached), the helper's
// upload, and for the native transport the "keeper" that configures the
// tun device sshd made and undoes its NAT when its channel closes.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/jumpgate/jumpgate/internal/remotebin"
	"github.com/jumpgate/jumpgate/internal/sshwire"
)

const probeScript = `br=$1 sha=$2
# iproute2, not /sys: a server in its own mount namespace may see another
# network namespace's sysfs.
mtu_of() { ip -o link show dev "$1" 2>/dev/null | { read -r l; set -- $l; while [ $# -gt 1 ]; do [ "$1" = mtu ] && echo "$2"; shift; done; }; }
echo "uid=$(id -u)"
echo "os=$(uname -s)"
echo "arch=$(uname -m)"
ip -o link show 2>/dev/null | while read -r _ n _; do n=${n%:}; echo "net=${n%@*}"; done
ip -o addr show 2>/dev/null | while read -r _ _ _ a _; do echo "addr=$a"; done
ip -4 route show 2>/dev/null | while read -r d _; do echo "route=$d"; done
set -- $SSH_CONNECTION
if [ -n "$3" ]; then
	dev=$(ip -o addr show to "$3/32" 2>/dev/null | { read -r _ d _; echo "$d"; })
	[ -n "$dev" ] && echo "mtu=$(mtu_of "$dev")"
fi
if [ -n "$br" ] && ip -o link show type bridge 2>/dev/null | grep -q "^[0-9]*: $br[:@]"; then echo "brmtu=$(mtu_of "$br")"; fi
d="${XDG_CACHE_HOME:-$HOME/.cache}/jumpgate/bin"
echo "cache=$d"
if [ -n "$sha" ] && [ -x "$d/$sha" ]; then echo "helper=$(sha256sum < "$d/$sha" | cut -d' ' -f1)"; fi
`

// keeperScript configures the tun or tap device $1 made by the server for
// a native tunnel ($3: its addresses, space-separated; a tap joins bridge
// $6), says "ready", and on EOF,
// hangup or any exit removes its NAT. The device itself goes when the
// server closes it.
const keeperScript = `dev=$1 mtu=$2 addr=$3 nat=$4 rules=$5 br=$6
shift 6
oldfwd=
cleanup() {
	trap - EXIT
	if [ "$nat" = 1 ]; then
		nft delete table ip "jumpgate_$dev" 2>/dev/null
		[ -n "$oldfwd" ] && echo "$oldfwd" > /proc/sys/net/ipv4/ip_forward
	fi
}
trap cleanup EXIT
trap 'exit 0' HUP INT TERM PIPE
set -e
ip link set dev "$dev" mtu "$mtu"
[ -z "$br" ] || ip link set dev "$dev" master "$br"
ip link set dev "$dev" up
for a in $addr; do ip addr add "$a" dev "$dev"; done
for r; do ip route add "$r" dev "$dev"; done
if [ "$nat" = 1 ]; then
	old=$(cat /proc/sys/net/ipv4/ip_forward)
	[ "$old" = 1 ] || { echo 1 > /proc/sys/net/ipv4/ip_forward; oldfwd=$old; }
	printf '%s' "$rules" | nft -f -
fi
set +e
echo ready
cat > /dev/null
`

// farInfo is what the probe found on the far host.
type farInfo struct {
	uid       int
	os, arch  string
	nets      map[string]bool
	used      []netip.Prefix
	addrs     []netip.Addr // of its interfaces
	mtu       int          // of the link the SSH connection arrives on
	bridgeMTU int          // 0: no such bridge
	cache     string
	helperSHA string // of the cached helper, "" if none
}

func probe(ctx context.Context, c sshwire.Conn, bridge, sha string) (*farInfo, error) {
	out, err := remotebin.Output(ctx, c, remotebin.Command(probeScript, "probe", bridge, sha), nil)
	if err != nil {
		return nil, fmt.Errorf("probe far host: %w", err)
	}
	return parseProbe(out), nil
}

func parseProbe(out []byte) *farInfo {
	fi := &farInfo{uid: -1, nets: map[string]bool{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		switch k {
		case "uid":
			fi.uid, _ = strconv.Atoi(v)
		case "os":
			fi.os = v
		case "arch":
			fi.arch = v
		case "net":
			fi.nets[v] = true
		case "addr", "route":
			if p, err := netip.ParsePrefix(v); err == nil {
				if k == "addr" {
					fi.addrs = append(fi.addrs, p.Addr())
				}
				fi.used = append(fi.used, p.Masked())
			} else if a, err := netip.ParseAddr(v); err == nil {
				fi.used = append(fi.used, netip.PrefixFrom(a, a.BitLen()))
			}
		case "mtu":
			fi.mtu, _ = strconv.Atoi(v)
		case "brmtu":
			fi.bridgeMTU, _ = strconv.Atoi(v)
		case "cache":
			fi.cache = v
		case "helper":
			fi.helperSHA = v
		}
	}
	return fi
}

// freeUnit is the first N for which prefix+N is not an interface there.
func (fi *farInfo) freeUnit(prefix string) int {
	for n := 0; ; n++ {
		if !fi.nets[prefix+strconv.Itoa(n)] {
			return n
		}
	}
}
