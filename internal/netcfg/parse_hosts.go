package netcfg

// The parts of a network file that span hosts: host: on its parts and
// vxlans:, the segments that join bridges on different hosts.

import (
	"net/netip"
	"strconv"

	"github.com/jumpgate/jumpgate/internal/yamlnode"
)

// validHost reports whether s can name an SSH destination as jumpgate ssh
// takes it (an ssh_config alias, [user@]host, a + chain): 1–253 of
// A-Z a-z 0-9 _ . - @ + : and not starting with '-', which ssh would read
// as a flag.
func validHost(s string) bool {
	if len(s) == 0 || len(s) > 253 || s[0] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !ifNameByte(c) && c != '@' && c != '+' && c != ':' {
			return false
		}
	}
	return true
}

// onHost says which host in a message, nothing for this machine.
func onHost(h string) string {
	if h == "" {
		return ""
	}
	return " on host " + h
}

func sameHost(h string) string {
	if h == "" {
		return ""
	}
	return ", with host: " + h
}

func (p *parser) host(n *yamlnode.Node, field string, dst *string) error {
	if err := p.str(n, field, dst); err != nil {
		return err
	}
	if !validHost(*dst) {
		return p.errAt(n, field, "%q is not a host (an ssh_config Host or [user@]host: A-Z a-z 0-9 _ . - @ + :)", *dst)
	}
	return nil
}

// vxlan reads one segment and checks its ends against the bridges above.
func (p *parser) vxlan(n *yamlnode.Node, field string, t *Topology, refs *refChecker) error {
	var x VXLAN
	var endsNode, idNode *yamlnode.Node
	err := p.fields(n, field, map[string]func(*yamlnode.Node, string) error{
		"name": func(v *yamlnode.Node, f string) error { return p.name(v, f, &x.Name) },
		"id": func(v *yamlnode.Node, f string) error {
			idNode = v
			u, err := strconv.ParseUint(v.Value, 10, 32)
			if v.Kind != yamlnode.Scalar || v.Tag != "!!int" || err != nil || u == 0 || u >= 1<<24 {
				return p.errAt(v, f, "expected a VNI between 1 and 16777215")
			}
			x.ID = uint32(u)
			return nil
		},
		"port": func(v *yamlnode.Node, f string) error {
			u, err := strconv.ParseUint(v.Value, 10, 16)
			if v.Kind != yamlnode.Scalar || v.Tag != "!!int" || err != nil || u == 0 {
				return p.errAt(v, f, "expected a UDP port between 1 and 65535")
			}
			x.Port = uint16(u)
			return nil
		},
		"ends": func(v *yamlnode.Node, f string) error {
			endsNode = v
			if v.Kind == yamlnode.Sequence && len(v.Content) != 2 {
				return p.errAt(v, f, "a segment joins exactly two bridges (found %d ends)", len(v.Content))
			}
			return p.seq(v, f, func(i int, v *yamlnode.Node, f string) error { return p.vxlanEnd(v, f, &x.Ends[i]) })
		},
	}, "name", "id", "ends")
	if err != nil {
		return err
	}
	if x.Port == 0 {
		x.Port = DefaultVXLANPort
	}
	for _, o := range t.VXLANs {
		if o.ID == x.ID {
			return p.errAt(idNode, field+".id", "VNI %d is used by vxlan %q above; each segment needs its own", x.ID, o.Name)
		}
	}
	a, b := x.Ends[0], x.Ends[1]
	if a.Host == b.Host {
		return p.errAt(endsNode, field+".ends", "both ends are on host %s; a segment joins bridges on different hosts", hostLabel(a.Host))
	}
	if a.Local.Is4() != b.Local.Is4() {
		return p.errAt(endsNode, field+".ends", "the ends' local addresses are of different families")
	}
	for i, e := range x.Ends {
		ef := field + ".ends[" + strconv.Itoa(i) + "]"
		en := endsNode.Content[i]
		if err := refs.namespace(en, ef+".namespace", e.Host, e.Namespace); err != nil {
			return err
		}
		if !refs.bridges[linkKey(e.Host, e.Namespace, e.Bridge)] {
			return p.errAt(en, ef+".bridge", "no bridge %q in namespace %s%s declared above", e.Bridge, nsLabel(e.Namespace), onHost(e.Host))
		}
		if err := refs.link(en, field+".name", e.Host, e.Namespace, x.Name); err != nil {
			return err
		}
	}
	t.VXLANs = append(t.VXLANs, x)
	return nil
}

func (p *parser) vxlanEnd(n *yamlnode.Node, field string, e *VXLANEnd) error {
	return p.fields(n, field, map[string]func(*yamlnode.Node, string) error{
		"host":      func(v *yamlnode.Node, f string) error { return p.host(v, f, &e.Host) },
		"namespace": func(v *yamlnode.Node, f string) error { return p.name(v, f, &e.Namespace) },
		"bridge":    func(v *yamlnode.Node, f string) error { return p.name(v, f, &e.Bridge) },
		"dev":       func(v *yamlnode.Node, f string) error { return p.name(v, f, &e.Dev) },
		"local": func(v *yamlnode.Node, f string) error {
			var s string
			if err := p.str(v, f, &s); err != nil {
				return err
			}
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" || !a.IsGlobalUnicast() {
				return p.errAt(v, f, "%q is not a unicast address of this host (e.g. 198.18.2.1)", s)
			}
			e.Local = a.Unmap()
			return nil
		},
	}, "bridge", "local", "dev")
}
