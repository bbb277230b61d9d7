package topo

// Parsing iproute2's JSON (`ip -j -d link`, `ip -j addr`, `bridge -j fdb`,
// `ip -j neigh`, `ip -j netns list-id`) into the model. Remote discovery
// runs these over an SSH exec channel; the parsers are pure so that they
// can be fuzzed and tested on recorded output.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

type ipLink struct {
	Index     int      `json:"ifindex"`
	Name      string   `json:"ifname"`
	Flags     []string `json:"flags"`
	MTU       int      `json:"mtu"`
	OperState string   `json:"operstate"`
	LinkType  string   `json:"link_type"`
	Address   string   `json:"address"`
	Master    string   `json:"master"`
	LinkIndex *int     `json:"link_index"`
	NetNSID   *int     `json:"link_netnsid"`
	// Stats64 is there with -s: the byte counters the page's rates use.
	Stats64 *struct {
		RX struct {
			Bytes uint64 `json:"bytes"`
		} `json:"rx"`
		TX struct {
			Bytes uint64 `json:"bytes"`
		} `json:"tx"`
	} `json:"stats64"`
	LinkInfo *struct {
		Kind      string          `json:"info_kind"`
		Data      json.RawMessage `json:"info_data"`
		SlaveKind string          `json:"info_slave_kind"`
		SlaveData json.RawMessage `json:"info_slave_data"`
	} `json:"linkinfo"`
}

type ipBridgeData struct {
	STPState      int `json:"stp_state"`
	VLANFiltering int `json:"vlan_filtering"`
}

type ipVXLANData struct {
	ID      int    `json:"id"`
	Remote  string `json:"remote"`
	Remote6 string `json:"remote6"`
	Local   string `json:"local"`
	Local6  string `json:"local6"`
	Port    int    `json:"port"`
}

type ipTunData struct {
	Type       string `json:"type"`
	PI         bool   `json:"pi"`
	VNetHdr    bool   `json:"vnet_hdr"`
	MultiQueue bool   `json:"multi_queue"`
	Persist    bool   `json:"persist"`
	User       idNum  `json:"user"`
	Group      idNum  `json:"group"`
}

// idNum is a tun device's owner or group as iproute2 prints it: the name
// when the name service knows the ID (which tells nothing about the
// number on that host), else the number.
type idNum struct{ n *int }

func (v *idNum) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var name string
		return json.Unmarshal(b, &name)
	}
	return json.Unmarshal(b, &v.n)
}

// ParseLinks parses `ip -j -d link show`. A veth's peer is left as an
// index and a netnsid, resolved by [Topology.Finish].
func ParseLinks(b []byte) ([]Link, error) {
	var raw []ipLink
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse ip link json: %w", err)
	}
	links := make([]Link, 0, len(raw))
	for i, r := range raw {
		if r.Name == "" {
			return nil, fmt.Errorf("parse ip link json: entry %d has no ifname", i)
		}
		l := Link{
			Index:   r.Index,
			Name:    r.Name,
			MTU:     r.MTU,
			MAC:     strings.ToLower(r.Address),
			State:   strings.ToLower(r.OperState),
			Master:  r.Master,
			AdminUp: contains(r.Flags, "UP"),
		}
		if l.State == "" {
			l.State = "unknown"
		}
		if st := r.Stats64; st != nil {
			l.bytes = &[2]uint64{st.RX.Bytes, st.TX.Bytes}
		}
		switch {
		case r.LinkInfo != nil && r.LinkInfo.Kind != "":
			l.Kind = r.LinkInfo.Kind
		case r.LinkType == "loopback":
			l.Kind = KindLoopback
		default:
			l.Kind = KindPhysical
		}
		if r.LinkType != "ether" && r.LinkType != "loopback" && r.LinkType != "" && l.Kind == KindPhysical {
			l.Kind = r.LinkType // e.g. "none" for a point-to-point tun without kind
		}
		if l.Kind == KindLoopback {
			l.MAC = ""
		}
		if r.LinkInfo != nil && r.LinkInfo.Kind == "tun" {
			var d ipTunData
			if len(r.LinkInfo.Data) > 0 {
				if err := json.Unmarshal(r.LinkInfo.Data, &d); err != nil {
					return nil, fmt.Errorf("parse ip link json: %s: tun data: %w", r.Name, err)
				}
			}
			mode := d.Type
			if mode != KindTap {
				mode = KindTun
			}
			l.Kind = mode
			l.Tap = &Tap{Mode: mode, MultiQueue: d.MultiQueue, Persistent: d.Persist, Owner: d.User.n, Group: d.Group.n}
		}
		if l.Kind == "vxlan" && r.LinkInfo != nil && len(r.LinkInfo.Data) > 0 {
			var d ipVXLANData
			if err := json.Unmarshal(r.LinkInfo.Data, &d); err != nil {
				return nil, fmt.Errorf("parse ip link json: %s: vxlan data: %w", r.Name, err)
			}
			l.VXLAN = &VXLAN{VNI: d.ID, Local: cmp.Or(d.Local, d.Local6), Port: d.Port}
			if rm := cmp.Or(d.Remote, d.Remote6); rm != "" {
				l.VXLAN.Remotes = []string{rm}
			}
		}
		if l.Kind == KindVeth && r.LinkIndex != nil {
			p := &PeerRef{Index: *r.LinkIndex, nsid: -1}
			if r.NetNSID != nil {
				p.nsid = *r.NetNSID
			}
			l.Peer = p
		}
		if r.LinkInfo != nil && r.LinkInfo.SlaveKind == "bridge" && len(r.LinkInfo.SlaveData) > 0 {
			var sd struct {
				State string `json:"state"`
			}
			if err := json.Unmarshal(r.LinkInfo.SlaveData, &sd); err != nil {
				return nil, fmt.Errorf("parse ip link json: %s: bridge port data: %w", r.Name, err)
			}
			l.portState = sd.State
		}
		if l.Kind == KindBridge && r.LinkInfo != nil && len(r.LinkInfo.Data) > 0 {
			var bd ipBridgeData
			if err := json.Unmarshal(r.LinkInfo.Data, &bd); err != nil {
				return nil, fmt.Errorf("parse ip link json: %s: bridge data: %w", r.Name, err)
			}
			l.stp, l.vlanFiltering = bd.STPState != 0, bd.VLANFiltering != 0
		}
		links = append(links, l)
	}
	return links, nil
}

// ParseAddrs parses `ip -j addr show` into addresses by link name.
func ParseAddrs(b []byte) (map[string][]Address, error) {
	var raw []struct {
		Name  string `json:"ifname"`
		Addrs []struct {
			Family    string `json:"family"`
			Local     string `json:"local"`
			PrefixLen int    `json:"prefixlen"`
			Scope     string `json:"scope"`
		} `json:"addr_info"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse ip addr json: %w", err)
	}
	out := map[string][]Address{}
	for _, r := range raw {
		for _, a := range r.Addrs {
			if a.Local == "" {
				continue
			}
			out[r.Name] = append(out[r.Name], Address{
				CIDR:   a.Local + "/" + strconv.Itoa(a.PrefixLen),
				Family: a.Family,
				Scope:  a.Scope,
			})
		}
	}
	return out, nil
}

// ParseFDB parses `bridge -j fdb show`. Entries of a device itself (flag
// "self", no master) are the NIC's own filter, not the bridge's table,
// and are left out.
func ParseFDB(b []byte) ([]FDBEntry, error) {
	var raw []struct {
		MAC    string   `json:"mac"`
		Dev    string   `json:"ifname"`
		Flags  []string `json:"flags"`
		Master string   `json:"master"`
		VLAN   int      `json:"vlan"`
		State  string   `json:"state"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse bridge fdb json: %w", err)
	}
	var out []FDBEntry
	for _, r := range raw {
		if r.Master == "" {
			continue
		}
		out = append(out, FDBEntry{
			MAC:       strings.ToLower(r.MAC),
			Port:      r.Dev,
			Bridge:    r.Master,
			VLAN:      r.VLAN,
			Local:     r.State == "permanent",
			Permanent: r.State == "permanent" || r.State == "static",
		})
	}
	return out, nil
}

// ParseVXLANRemotes parses `bridge -j fdb show` for the unicast
// destinations of vxlan devices' own entries, by device.
func ParseVXLANRemotes(b []byte) (map[string][]string, error) {
	var raw []struct {
		Dev    string `json:"ifname"`
		Dst    string `json:"dst"`
		Master string `json:"master"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse bridge fdb json: %w", err)
	}
	out := map[string][]string{}
	for _, r := range raw {
		if r.Dst != "" && r.Master == "" {
			out[r.Dev] = append(out[r.Dev], r.Dst)
		}
	}
	return out, nil
}

// addVXLANRemotes adds the forwarding entries' destinations to ns's vxlan
// devices.
func (n *Namespace) addVXLANRemotes(remotes map[string][]string) {
	for i := range n.Links {
		v := n.Links[i].VXLAN
		if v == nil {
			continue
		}
		for _, r := range remotes[n.Links[i].Name] {
			if !slices.Contains(v.Remotes, r) {
				v.Remotes = append(v.Remotes, r)
			}
		}
		slices.Sort(v.Remotes)
	}
}

// ParseNeigh parses `ip -j neigh show`.
func ParseNeigh(b []byte) ([]Neighbour, error) {
	var raw []struct {
		Dst    string   `json:"dst"`
		Dev    string   `json:"dev"`
		LLAddr string   `json:"lladdr"`
		State  []string `json:"state"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse ip neigh json: %w", err)
	}
	out := make([]Neighbour, 0, len(raw))
	for _, r := range raw {
		st := ""
		if len(r.State) > 0 {
			st = strings.ToLower(r.State[0])
		}
		out = append(out, Neighbour{IP: r.Dst, MAC: strings.ToLower(r.LLAddr), Dev: r.Dev, State: st})
	}
	return out, nil
}

// ParseNSIDs parses `ip -j netns list-id`: the namespace names a
// namespace's netnsids stand for.
func ParseNSIDs(b []byte) (map[int]string, error) {
	var raw []struct {
		NSID int    `json:"nsid"`
		Name string `json:"name"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parse ip netns list-id json: %w", err)
	}
	out := map[int]string{}
	for _, r := range raw {
		if r.Name != "" {
			out[r.NSID] = r.Name
		}
	}
	return out, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
