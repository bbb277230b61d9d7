package fw

// Rule building blocks. Each match carries its nft text (as `nft list`
// prints it, so the plan reads like the kernel's own listing) and the
// expressions the kernel gets, built the way nft(8) builds them for the
// bridge family: layer-3 fields depend on `ether type` at the link header,
// layer-4 fields on `meta l4proto`. Keeping both in one place is what lets
// the namespace tests check that the plan and the installed rules agree.

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
)

// Ethernet types (IEEE 802.3), as the wire carries them.
const (
	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
)

// Where a payload load starts (nft's NFT_PAYLOAD_*_HEADER bases).
type base uint8

const (
	baseLink base = iota
	baseNetwork
	baseTransport
)

// opKind is one kind of nftables expression we use.
type opKind uint8

const (
	opPayload opKind = iota // load len bytes at base+off into the register
	opMeta                  // load a meta key into the register
	opCmp                   // compare the register with data (eq, or neq)
	opBitwise               // register = (register & mask) ^ 0
	opLookup                // register in the named set (or not, when neq)
)

// Meta keys we load.
const (
	metaIIFName = "iifname"
	metaOIFName = "oifname"
	metaL4Proto = "l4proto"
)

// op is one expression of a rule, in a form kept free of the nftables
// library so that rule generation builds and tests on any OS; the Linux
// side turns ops into the library's expressions one for one.
type op struct {
	kind   opKind
	base   base
	off, n uint32
	meta   string
	neq    bool
	data   []byte // cmp operand, bitwise mask
	set    string
}

// match is one condition of a rule: its text and its expressions.
type match struct {
	text string
	ops  []op
}

// Rule is one nftables rule.
type Rule struct {
	matches []match
	verdict string // "drop", "return", "jump CHAIN"
	counter bool
}

// Text is the rule as `nft -s list` prints it.
func (r Rule) Text() string {
	s := ""
	for _, m := range r.matches {
		s += m.text + " "
	}
	if r.counter {
		s += "counter "
	}
	return s + r.verdict
}

func (r Rule) ops() []op {
	var out []op
	for _, m := range r.matches {
		out = append(out, m.ops...)
	}
	return out
}

func rule(verdict string, counter bool, ms ...match) Rule {
	return Rule{matches: ms, verdict: verdict, counter: counter}
}

func load(b base, off, n uint32) op { return op{kind: opPayload, base: b, off: off, n: n} }

func cmp(neq bool, data []byte) op { return op{kind: opCmp, neq: neq, data: data} }

func lookup(set string, neq bool) op { return op{kind: opLookup, set: set, neq: neq} }

func meta(key string) op { return op{kind: opMeta, meta: key} }

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// etherTypeDep is the dependency nft adds before a layer-3 field in the
// bridge family: the Ethernet type at the link header.
func etherTypeDep(t uint16) []op {
	return []op{load(baseLink, 12, 2), cmp(false, be16(t))}
}

func l4Dep(proto byte) []op {
	return []op{meta(metaL4Proto), cmp(false, []byte{proto})}
}

func opText(neq bool) string {
	if neq {
		return "!= "
	}
	return ""
}

// ifNameSize is IFNAMSIZ: iifname and oifname compare that many bytes.
const ifNameSize = 16

// ifName matches iifname or oifname "name".
func ifName(out bool, name string) match {
	key := metaIIFName
	if out {
		key = metaOIFName
	}
	data := make([]byte, ifNameSize)
	copy(data, name)
	return match{text: fmt.Sprintf("%s %q", key, name), ops: []op{meta(key), cmp(false, data)}}
}

// etherAddrSet matches ether saddr/daddr against a set.
func etherAddrSet(daddr, neq bool, set string) match {
	off, word := uint32(6), "saddr"
	if daddr {
		off, word = 0, "daddr"
	}
	return match{
		text: fmt.Sprintf("ether %s %s@%s", word, opText(neq), set),
		ops:  []op{load(baseLink, off, 6), lookup(set, neq)},
	}
}

// etherDaddrUnicast matches frames to a unicast MAC (group bit clear).
func etherDaddrUnicast() match {
	return match{
		text: "ether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00",
		ops: []op{
			load(baseLink, 0, 6),
			{kind: opBitwise, n: 6, data: []byte{1, 0, 0, 0, 0, 0}},
			cmp(false, make([]byte, 6)),
		},
	}
}

// etherType matches the frame's Ethernet type.
func etherType(name string, t uint16) match {
	return match{text: "ether type " + name, ops: etherTypeDep(t)}
}

// arpField compares a fixed ARP header field (RFC 826) with a value.
func arpField(text string, off uint32, neq bool, val []byte) match {
	return match{text: text, ops: append(etherTypeDep(etherTypeARP),
		load(baseNetwork, off, uint32(len(val))), cmp(neq, val))}
}

// ARP header offsets for Ethernet/IPv4 (RFC 826): sender hardware
// address at 8, sender protocol address at 14.
const (
	arpSHAOffset = 8
	arpSPAOffset = 14
)

// arpSet matches the ARP sender's MAC or IPv4 address against a set.
func arpSet(ip, neq bool, set string) match {
	off, n, word := uint32(arpSHAOffset), uint32(6), "ether"
	if ip {
		off, n, word = arpSPAOffset, 4, "ip"
	}
	return match{
		text: fmt.Sprintf("arp saddr %s %s@%s", word, opText(neq), set),
		ops:  append(etherTypeDep(etherTypeARP), load(baseNetwork, off, n), lookup(set, neq)),
	}
}

// ipSaddrSet matches an IPv4 or IPv6 source address against a set.
func ipSaddrSet(v6, neq bool, set string) match {
	t, off, n, word := uint16(etherTypeIPv4), uint32(12), uint32(4), "ip"
	if v6 {
		t, off, n, word = etherTypeIPv6, 8, 16, "ip6"
	}
	return match{
		text: fmt.Sprintf("%s saddr %s@%s", word, opText(neq), set),
		ops:  append(etherTypeDep(t), load(baseNetwork, off, n), lookup(set, neq)),
	}
}

// IP protocol numbers (IANA).
const (
	protoUDP    = 17
	protoICMPv6 = 58
)

// dhcpDiscover matches a DHCP client's first packets (RFC 2131 §4.1: sent
// from 0.0.0.0 to the limited broadcast, UDP 68 → 67), which no binding can
// cover because the client has no address yet.
func dhcpDiscover() match {
	ops := etherTypeDep(etherTypeIPv4)
	ops = append(ops,
		load(baseNetwork, 12, 4), cmp(false, []byte{0, 0, 0, 0}),
		load(baseNetwork, 16, 4), cmp(false, []byte{255, 255, 255, 255}))
	ops = append(ops, l4Dep(protoUDP)...)
	ops = append(ops, load(baseTransport, 0, 4), cmp(false, []byte{0, 68, 0, 67}))
	return match{text: "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67", ops: ops}
}

// dadProbe matches IPv6 duplicate address detection (RFC 4862 §5.4: a
// neighbour solicitation, ICMPv6 type 135, from the unspecified address).
func dadProbe() match {
	ops := etherTypeDep(etherTypeIPv6)
	ops = append(ops, load(baseNetwork, 8, 16), cmp(false, make([]byte, 16)))
	ops = append(ops, l4Dep(protoICMPv6)...)
	ops = append(ops, load(baseTransport, 0, 1), cmp(false, []byte{135}))
	return match{text: "ip6 saddr :: icmpv6 type nd-neighbor-solicit", ops: ops}
}

// SetType is the type of a named set's elements.
type SetType string

// Set element types, named as nft names them.
const (
	SetEtherAddr SetType = "ether_addr"
	SetIPv4Addr  SetType = "ipv4_addr"
	SetIPv6Addr  SetType = "ipv6_addr"
)

// Set is one named set of our table.
type Set struct {
	Name  string
	Type  SetType
	Elems []string // as nft prints them, sorted
}

// keys returns the elements in wire form.
func (s Set) keys() [][]byte {
	var out [][]byte
	for _, e := range s.Elems {
		if s.Type == SetEtherAddr {
			mac, err := net.ParseMAC(e)
			if err != nil {
				panic("fw: bad mac in set: " + e) // generator bug
			}
			out = append(out, mac)
			continue
		}
		out = append(out, netip.MustParseAddr(e).AsSlice())
	}
	return out
}
