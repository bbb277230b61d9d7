package fw

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// bridgeFilterPriority is NF_BR_PRI_FILTER_BRIDGED, what nft calls
// "priority filter" in the bridge family.
const bridgeFilterPriority = -200

var hooks = map[string]nftables.ChainHook{
	HookPrerouting: unix.NF_INET_PRE_ROUTING, // NF_BR_PRE_ROUTING, same number
	HookForward:    unix.NF_INET_FORWARD,     // NF_BR_FORWARD
	HookOutput:     unix.NF_INET_LOCAL_OUT,   // NF_BR_LOCAL_OUT
}

func (t Target) conn() (*nftables.Conn, func(), error) {
	if t.NetNS == "" {
		c, err := nftables.New()
		return c, func() {}, err
	}
	f, err := os.Open(t.NetNS)
	if err != nil {
		return nil, nil, fmt.Errorf("open network namespace: %w", err)
	}
	c, err := nftables.New(nftables.WithNetNSFd(int(f.Fd())))
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return c, func() { f.Close() }, nil
}

func table() *nftables.Table {
	return &nftables.Table{Name: TableName, Family: nftables.TableFamilyBridge}
}

// Apply installs rs as our table in one nftables transaction: the table
// is created if missing, deleted with everything in it, and rebuilt, so
// the kernel goes from the old rules to the new ones at once or, when the
// transaction fails, keeps the old ones. Other tables are not touched.
func Apply(ctx context.Context, t Target, rs *Ruleset) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c, done, err := t.conn()
	if err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	defer done()
	tab := table()
	c.AddTable(tab) // so that the delete below cannot fail on a first apply
	c.DelTable(tab)
	c.AddTable(tab)
	sets := map[string]*nftables.Set{}
	for _, s := range rs.Sets {
		ns := &nftables.Set{Table: tab, Name: s.Name, KeyType: s.Type.datatype()}
		var elems []nftables.SetElement
		for _, k := range s.keys() {
			elems = append(elems, nftables.SetElement{Key: k})
		}
		if err := c.AddSet(ns, elems); err != nil {
			return fmt.Errorf("nftables: set %s: %w", s.Name, err)
		}
		sets[s.Name] = ns
	}
	lookupSet := func(name string) *nftables.Set {
		s, ok := sets[name]
		if !ok {
			panic("fw: rule refers to unknown set " + name) // generator bug
		}
		return s
	}
	chains := map[string]*nftables.Chain{}
	// Regular chains first, so that jumps find them; base chains hook in
	// last within the same transaction either way.
	for _, ch := range rs.Chains {
		nc := &nftables.Chain{Name: ch.Name, Table: tab}
		if ch.Hook != "" {
			h := hooks[ch.Hook]
			accept := nftables.ChainPolicyAccept
			nc.Hooknum = &h
			nc.Priority = nftables.ChainPriorityRef(bridgeFilterPriority)
			nc.Type = nftables.ChainTypeFilter
			nc.Policy = &accept
		}
		chains[ch.Name] = c.AddChain(nc)
	}
	for _, ch := range rs.Chains {
		for _, r := range ch.Rules {
			c.AddRule(&nftables.Rule{Table: tab, Chain: chains[ch.Name], Exprs: exprs(r, lookupSet)})
		}
	}
	if err := c.Flush(); err != nil {
		return fmt.Errorf("nftables: install table bridge %s: %w", TableName, err)
	}
	return nil
}

// Flush removes our table and only it. It reports whether there was one.
func Flush(ctx context.Context, t Target) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	c, done, err := t.conn()
	if err != nil {
		return false, fmt.Errorf("nftables: %w", err)
	}
	defer done()
	if _, err := c.ListTableOfFamily(TableName, nftables.TableFamilyBridge); err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, fmt.Errorf("nftables: look for table bridge %s: %w", TableName, err)
	}
	c.DelTable(table())
	if err := c.Flush(); err != nil {
		return false, fmt.Errorf("nftables: delete table bridge %s: %w", TableName, err)
	}
	return true, nil
}

func (t SetType) datatype() nftables.SetDatatype {
	switch t {
	case SetEtherAddr:
		return nftables.TypeEtherAddr
	case SetIPv4Addr:
		return nftables.TypeIPAddr
	}
	return nftables.TypeIP6Addr
}

var payloadBases = map[base]expr.PayloadBase{
	baseLink:      expr.PayloadBaseLLHeader,
	baseNetwork:   expr.PayloadBaseNetworkHeader,
	baseTransport: expr.PayloadBaseTransportHeader,
}

var metaKeys = map[string]expr.MetaKey{
	metaIIFName: expr.MetaKeyIIFNAME,
	metaOIFName: expr.MetaKeyOIFNAME,
	metaL4Proto: expr.MetaKeyL4PROTO,
}

// exprs turns a rule into the nftables library's expressions.
func exprs(r Rule, sets func(string) *nftables.Set) []expr.Any {
	var out []expr.Any
	for _, o := range r.ops() {
		switch o.kind {
		case opPayload:
			out = append(out, &expr.Payload{DestRegister: 1, Base: payloadBases[o.base], Offset: o.off, Len: o.n})
		case opMeta:
			out = append(out, &expr.Meta{Key: metaKeys[o.meta], Register: 1})
		case opCmp:
			c := expr.CmpOpEq
			if o.neq {
				c = expr.CmpOpNeq
			}
			out = append(out, &expr.Cmp{Op: c, Register: 1, Data: o.data})
		case opBitwise:
			out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: o.n, Mask: o.data, Xor: make([]byte, o.n)})
		case opLookup:
			s := sets(o.set)
			out = append(out, &expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID, Invert: o.neq})
		}
	}
	if r.counter {
		out = append(out, &expr.Counter{})
	}
	switch v := r.verdict; {
	case v == "drop":
		out = append(out, &expr.Verdict{Kind: expr.VerdictDrop})
	case v == "return":
		out = append(out, &expr.Verdict{Kind: expr.VerdictReturn})
	case strings.HasPrefix(v, "jump "):
		out = append(out, &expr.Verdict{Kind: expr.VerdictJump, Chain: strings.TrimPrefix(v, "jump ")})
	default:
		panic("fw: unknown verdict " + v) // generator bug
	}
	return out
}
