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

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Ethernet types (IEEE 802.3), as the wire carries them.
const (
	etherTypeIPv4 = 0x0800
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd
)

// setLookup resolves a set name to the set added in the same transaction.
type setLookup func(name string) *nftables.Set

// match is one condition of a rule, in text and as expressions.
type match struct {
	text  string
	exprs func(sets setLookup) []expr.Any
}

// Rule is one nftables rule: its text and how to build its expressions.
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

// exprs builds the rule's expressions.
func (r Rule) exprs(sets setLookup) []expr.Any {
	var out []expr.Any
	for _, m := range r.matches {
		out = append(out, m.exprs(sets)...)
	}
	if r.counter {
		out = append(out, &expr.Counter{})
	}
	switch {
	case r.verdict == "drop":
		out = append(out, &expr.Verdict{Kind: expr.VerdictDrop})
	case r.verdict == "return":
		out = append(out, &expr.Verdict{Kind: expr.VerdictReturn})
	case len(r.verdict) > 5 && r.verdict[:5] == "jump ":
		out = append(out, &expr.Verdict{Kind: expr.VerdictJump, Chain: r.verdict[5:]})
	default:
		panic("fw: unknown verdict " + r.verdict) // our own generator's bug
	}
	return out
}

func rule(verdict string, counter bool, ms ...match) Rule {
	return Rule{matches: ms, verdict: verdict, counter: counter}
}

func load(base expr.PayloadBase, off, n uint32) *expr.Payload {
	return &expr.Payload{DestRegister: 1, Base: base, Offset: off, Len: n}
}

func cmp(op expr.CmpOp, data []byte) *expr.Cmp {
	return &expr.Cmp{Op: op, Register: 1, Data: data}
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// etherTypeDep is the dependency nft adds before a layer-3 field.
func etherTypeDep(t uint16) []expr.Any {
	return []expr.Any{load(expr.PayloadBaseLLHeader, 12, 2), cmp(expr.CmpOpEq, be16(t))}
}

func l4Dep(proto byte) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		cmp(expr.CmpOpEq, []byte{proto}),
	}
}

func lookup(set string, invert bool) func(setLookup) expr.Any {
	return func(sets setLookup) expr.Any {
		s := sets(set)
		return &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID, Invert: invert}
	}
}

func opText(neq bool) string {
	if neq {
		return "!= "
	}
	return ""
}

func cmpOp(neq bool) expr.CmpOp {
	if neq {
		return expr.CmpOpNeq
	}
	return expr.CmpOpEq
}

// ifName matches iifname or oifname "name".
func ifName(out bool, name string) match {
	key, word := expr.MetaKeyIIFNAME, "iifname"
	if out {
		key, word = expr.MetaKeyOIFNAME, "oifname"
	}
	data := make([]byte, unix.IFNAMSIZ)
	copy(data, name+"\x00")
	return match{
		text: fmt.Sprintf("%s %q", word, name),
		exprs: func(setLookup) []expr.Any {
			return []expr.Any{&expr.Meta{Key: key, Register: 1}, cmp(expr.CmpOpEq, data)}
		},
	}
}

// etherAddrSet matches ether saddr/daddr against a set.
func etherAddrSet(daddr, neq bool, set string) match {
	off, word := uint32(6), "saddr"
	if daddr {
		off, word = 0, "daddr"
	}
	lk := lookup(set, neq)
	return match{
		text: fmt.Sprintf("ether %s %s@%s", word, opText(neq), set),
		exprs: func(sets setLookup) []expr.Any {
			return []expr.Any{load(expr.PayloadBaseLLHeader, off, 6), lk(sets)}
		},
	}
}

// etherDaddrUnicast matches frames to a unicast MAC (group bit clear).
func etherDaddrUnicast() match {
	zero := make([]byte, 6)
	return match{
		text: "ether daddr & 01:00:00:00:00:00 == 00:00:00:00:00:00",
		exprs: func(setLookup) []expr.Any {
			return []expr.Any{
				load(expr.PayloadBaseLLHeader, 0, 6),
				&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 6, Mask: []byte{1, 0, 0, 0, 0, 0}, Xor: zero},
				cmp(expr.CmpOpEq, zero),
			}
		},
	}
}

// etherType matches the frame's Ethernet type.
func etherType(name string, t uint16) match {
	return match{
		text:  "ether type " + name,
		exprs: func(setLookup) []expr.Any { return etherTypeDep(t) },
	}
}

// arpField compares a fixed ARP header field (RFC 826) with a value.
func arpField(text string, off uint32, neq bool, val []byte) match {
	return match{
		text: text,
		exprs: func(setLookup) []expr.Any {
			return append(etherTypeDep(etherTypeARP),
				load(expr.PayloadBaseNetworkHeader, off, uint32(len(val))), cmp(cmpOp(neq), val))
		},
	}
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
	lk := lookup(set, neq)
	return match{
		text: fmt.Sprintf("arp saddr %s %s@%s", word, opText(neq), set),
		exprs: func(sets setLookup) []expr.Any {
			return append(etherTypeDep(etherTypeARP), load(expr.PayloadBaseNetworkHeader, off, n), lk(sets))
		},
	}
}

// ipSaddrSet matches an IPv4 or IPv6 source address against a set.
func ipSaddrSet(v6, neq bool, set string) match {
	t, off, n, word := uint16(etherTypeIPv4), uint32(12), uint32(4), "ip"
	if v6 {
		t, off, n, word = etherTypeIPv6, 8, 16, "ip6"
	}
	lk := lookup(set, neq)
	return match{
		text: fmt.Sprintf("%s saddr %s@%s", word, opText(neq), set),
		exprs: func(sets setLookup) []expr.Any {
			return append(etherTypeDep(t), load(expr.PayloadBaseNetworkHeader, off, n), lk(sets))
		},
	}
}

// dhcpDiscover matches a DHCP client's first packets (RFC 2131 §4.1: sent
// from 0.0.0.0 to the limited broadcast, UDP 68 → 67), which no binding can
// cover because the client has no address yet.
func dhcpDiscover() match {
	return match{
		text: "ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67",
		exprs: func(setLookup) []expr.Any {
			out := etherTypeDep(etherTypeIPv4)
			out = append(out,
				load(expr.PayloadBaseNetworkHeader, 12, 4), cmp(expr.CmpOpEq, []byte{0, 0, 0, 0}),
				load(expr.PayloadBaseNetworkHeader, 16, 4), cmp(expr.CmpOpEq, []byte{255, 255, 255, 255}))
			out = append(out, l4Dep(unix.IPPROTO_UDP)...)
			return append(out, load(expr.PayloadBaseTransportHeader, 0, 4), cmp(expr.CmpOpEq, []byte{0, 68, 0, 67}))
		},
	}
}

// dadProbe matches IPv6 duplicate address detection (RFC 4862 §5.4: a
// neighbour solicitation from the unspecified address).
func dadProbe() match {
	return match{
		text: "ip6 saddr :: icmpv6 type nd-neighbor-solicit",
		exprs: func(setLookup) []expr.Any {
			out := etherTypeDep(etherTypeIPv6)
			out = append(out, load(expr.PayloadBaseNetworkHeader, 8, 16), cmp(expr.CmpOpEq, make([]byte, 16)))
			out = append(out, l4Dep(unix.IPPROTO_ICMPV6)...)
			return append(out, load(expr.PayloadBaseTransportHeader, 0, 1), cmp(expr.CmpOpEq, []byte{135}))
		},
	}
}

// SetType is the type of a named set's elements.
type SetType string

// Set element types, named as nft names them.
const (
	SetEtherAddr SetType = "ether_addr"
	SetIPv4Addr  SetType = "ipv4_addr"
	SetIPv6Addr  SetType = "ipv6_addr"
)

func (t SetType) datatype() nftables.SetDatatype {
	switch t {
	case SetEtherAddr:
		return nftables.TypeEtherAddr
	case SetIPv4Addr:
		return nftables.TypeIPAddr
	}
	return nftables.TypeIP6Addr
}

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
		switch s.Type {
		case SetEtherAddr:
			mac, err := net.ParseMAC(e)
			if err != nil {
				panic("fw: bad mac in set: " + e)
			}
			out = append(out, mac)
		default:
			a := netip.MustParseAddr(e)
			out = append(out, a.AsSlice())
		}
	}
	return out
}
