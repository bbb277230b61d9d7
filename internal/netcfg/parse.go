package netcfg

// Parsing walks a YAML node tree by hand rather than decoding into
// structs, so that every error names the file, line and field, unknown
// fields are errors, and the cross-references (namespaces, bridges, route
// devices) are checked where they are written.

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jumpgate/jumpgate/internal/yamlnode"
)

// Parse reads a network file; file names it in errors (and, without a
// name: field, gives the topology its name).
func Parse(file string, data []byte) (*Topology, error) {
	p := &parser{file: file}
	docs, err := yamlnode.Parse(data)
	if err != nil {
		return nil, p.yamlErr(err)
	}
	if len(docs) == 0 || docs[0] == nil {
		return nil, &SchemaError{File: file, Line: 1, Column: 1, Msg: "empty file; it needs at least \"version: 1\""}
	}
	if len(docs) > 1 {
		// A second document would be dropped unread: a file cut and pasted
		// together, or a typo in a separator.
		return nil, &SchemaError{File: file, Line: docs[1].Line, Column: 1, Msg: "more than one YAML document; a network file holds one"}
	}
	t := &Topology{}
	if err := p.top(docs[0], t); err != nil {
		return nil, err
	}
	return t, nil
}

type parser struct {
	file string
}

func (p *parser) yamlErr(err error) error {
	var se *yamlnode.SyntaxError
	if errors.As(err, &se) {
		return &SchemaError{File: p.file, Line: se.Line, Column: se.Column, Msg: "yaml: " + se.Msg}
	}
	return &SchemaError{File: p.file, Line: 1, Column: 1, Msg: err.Error()}
}

func (p *parser) errAt(n *yamlnode.Node, field, format string, args ...any) error {
	return &SchemaError{File: p.file, Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// fields walks a mapping, calling the handler for each known key; unknown
// and repeated keys are errors, and so are missing required ones.
func (p *parser) fields(n *yamlnode.Node, path string, handlers map[string]func(v *yamlnode.Node, field string) error, required ...string) error {
	if n.Kind != yamlnode.Mapping {
		return p.errAt(n, path, "expected a mapping, found %s", yamlnode.KindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := k.Value
		if path != "" {
			field = path + "." + k.Value
		}
		h, ok := handlers[k.Value]
		if !ok {
			return p.errAt(k, field, "unknown field (known: %s)", knownList(handlers))
		}
		if seen[k.Value] {
			return p.errAt(k, field, "field given twice")
		}
		seen[k.Value] = true
		if err := h(v, field); err != nil {
			return err
		}
	}
	for _, r := range required {
		if !seen[r] {
			f := r
			if path != "" {
				f = path + "." + r
			}
			return p.errAt(n, f, "required field missing")
		}
	}
	return nil
}

func knownList(h map[string]func(*yamlnode.Node, string) error) string {
	var ks []string
	for k := range h {
		ks = append(ks, k)
	}
	// Small maps: a simple insertion sort keeps the message stable.
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return strings.Join(ks, ", ")
}

func (p *parser) seq(n *yamlnode.Node, field string, each func(i int, v *yamlnode.Node, field string) error) error {
	if n.Kind != yamlnode.Sequence {
		return p.errAt(n, field, "expected a list, found %s", yamlnode.KindName(n))
	}
	for i, v := range n.Content {
		if err := each(i, v, fmt.Sprintf("%s[%d]", field, i)); err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) str(n *yamlnode.Node, field string, dst *string) error {
	if n.Kind != yamlnode.Scalar || n.Tag == "!!null" {
		return p.errAt(n, field, "expected a string, found %s", yamlnode.KindName(n))
	}
	*dst = n.Value
	return nil
}

func (p *parser) boolean(n *yamlnode.Node, field string, dst *bool) error {
	if n.Kind != yamlnode.Scalar || n.Tag != "!!bool" {
		return p.errAt(n, field, "expected true or false, found %s", yamlnode.KindName(n))
	}
	*dst = n.Value == "true" || n.Value == "True" || n.Value == "TRUE"
	return nil
}

// ifNameByte reports whether c may appear in an interface name here:
// A-Z a-z 0-9 _ . - (checked by hand, not by a regexp every command
// would compile at start-up).
func ifNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
}

// validIfName reports whether s is 1–15 of A-Z a-z 0-9 _ . -, and not
// "." or "..".
func validIfName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !ifNameByte(s[i]) {
			return false
		}
	}
	return true
}

func (p *parser) name(n *yamlnode.Node, field string, dst *string) error {
	if err := p.str(n, field, dst); err != nil {
		return err
	}
	if !validIfName(*dst) {
		return p.errAt(n, field, "%q is not a valid name (1–15 of A-Z a-z 0-9 _ . -)", *dst)
	}
	return nil
}

func (p *parser) duration(n *yamlnode.Node, field string, dst *time.Duration) error {
	var s string
	if err := p.str(n, field, &s); err != nil {
		return err
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > 24*time.Hour {
		return p.errAt(n, field, "%q is not a duration between 0 and 24h (e.g. 50ms, 300s)", s)
	}
	*dst = d
	return nil
}

func (p *parser) addresses(n *yamlnode.Node, field string, dst *[]netip.Prefix) error {
	return p.seq(n, field, func(_ int, v *yamlnode.Node, f string) error {
		var s string
		if err := p.str(v, f, &s); err != nil {
			return err
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return p.errAt(v, f, "%q is not an address with a prefix length (e.g. 198.18.1.1/24)", s)
		}
		*dst = append(*dst, pfx)
		return nil
	})
}

// ParseRate reads a tc-style rate: a number followed by bit, kbit, mbit
// or gbit (powers of 1000).
func ParseRate(s string) (uint64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	low := strings.ToLower(strings.TrimSpace(s))
	for _, u := range units {
		num, ok := strings.CutSuffix(low, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f <= 0 || math.IsInf(f, 0) || f*u.mult > 1e12 {
			break
		}
		return uint64(f * u.mult), nil
	}
	return 0, errors.New("not a rate (e.g. 100mbit, 512kbit, 1gbit; bytes per second are not accepted)")
}

func (p *parser) shape(n *yamlnode.Node, field string, dst *Shape) error {
	return p.fields(n, field, map[string]func(*yamlnode.Node, string) error{
		"rate": func(v *yamlnode.Node, f string) error {
			var s string
			if err := p.str(v, f, &s); err != nil {
				return err
			}
			r, err := ParseRate(s)
			if err != nil {
				return p.errAt(v, f, "%q is %v", s, err)
			}
			dst.Rate = r
			return nil
		},
		"delay": func(v *yamlnode.Node, f string) error {
			if err := p.duration(v, f, &dst.Delay); err != nil {
				return err
			}
			if dst.Delay > 10*time.Second {
				return p.errAt(v, f, "delay over 10s")
			}
			return nil
		},
		"loss": func(v *yamlnode.Node, f string) error {
			var s string
			if err := p.str(v, f, &s); err != nil {
				return err
			}
			l, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(s), "%"), 64)
			if err != nil || l < 0 || l > 100 || math.IsNaN(l) {
				return p.errAt(v, f, "%q is not a percentage between 0 and 100 (e.g. 1%%)", s)
			}
			dst.Loss = l
			return nil
		},
	})
}

func (p *parser) end(n *yamlnode.Node, field string, e *End) error {
	return p.fields(n, field, map[string]func(*yamlnode.Node, string) error{
		"name":      func(v *yamlnode.Node, f string) error { return p.name(v, f, &e.Name) },
		"namespace": func(v *yamlnode.Node, f string) error { return p.name(v, f, &e.Namespace) },
		"bridge":    func(v *yamlnode.Node, f string) error { return p.name(v, f, &e.Bridge) },
		"addresses": func(v *yamlnode.Node, f string) error { return p.addresses(v, f, &e.Addresses) },
	}, "name")
}

// top reads the document and checks the references between its parts.
func (p *parser) top(n *yamlnode.Node, t *Topology) error {
	version := 0
	var versionNode *yamlnode.Node
	refs := &refChecker{p: p, links: map[string]*yamlnode.Node{}, bridges: map[string]bool{}, nss: map[string]bool{}}
	err := p.fields(n, "", map[string]func(*yamlnode.Node, string) error{
		"version": func(v *yamlnode.Node, f string) error {
			versionNode = v
			if v.Kind != yamlnode.Scalar || v.Tag != "!!int" {
				return p.errAt(v, f, "expected an integer, found %s", yamlnode.KindName(v))
			}
			i, err := strconv.Atoi(v.Value)
			if err != nil {
				return p.errAt(v, f, "expected an integer, found %q", v.Value)
			}
			version = i
			return nil
		},
		"name": func(v *yamlnode.Node, f string) error { return p.name(v, f, &t.Name) },
		"namespaces": func(v *yamlnode.Node, f string) error {
			return p.seq(v, f, func(_ int, v *yamlnode.Node, f string) error {
				var ns Namespace
				var nameNode *yamlnode.Node
				err := p.fields(v, f, map[string]func(*yamlnode.Node, string) error{
					"name": func(v *yamlnode.Node, f string) error { nameNode = v; return p.name(v, f, &ns.Name) },
					"host": func(v *yamlnode.Node, f string) error { return p.host(v, f, &ns.Host) },
				}, "name")
				if err != nil {
					return err
				}
				if ns.Name == "host" || refs.nss[ns.Host+"\x00"+ns.Name] {
					return p.errAt(nameNode, f+".name", "namespace %q declared twice%s (or reserved)", ns.Name, onHost(ns.Host))
				}
				refs.nss[ns.Host+"\x00"+ns.Name] = true
				t.Namespaces = append(t.Namespaces, ns)
				return nil
			})
		},
		"bridges": func(v *yamlnode.Node, f string) error {
			return p.seq(v, f, func(_ int, v *yamlnode.Node, f string) error {
				var b Bridge
				var nsNode *yamlnode.Node
				err := p.fields(v, f, map[string]func(*yamlnode.Node, string) error{
					"name":           func(v *yamlnode.Node, f string) error { return p.name(v, f, &b.Name) },
					"host":           func(v *yamlnode.Node, f string) error { return p.host(v, f, &b.Host) },
					"namespace":      func(v *yamlnode.Node, f string) error { nsNode = v; return p.name(v, f, &b.Namespace) },
					"stp":            func(v *yamlnode.Node, f string) error { return p.boolean(v, f, &b.STP) },
					"ageing":         func(v *yamlnode.Node, f string) error { return p.duration(v, f, &b.Ageing) },
					"vlan_filtering": func(v *yamlnode.Node, f string) error { return p.boolean(v, f, &b.VLANFiltering) },
					"addresses":      func(v *yamlnode.Node, f string) error { return p.addresses(v, f, &b.Addresses) },
				}, "name")
				if err != nil {
					return err
				}
				if err := refs.namespace(nsNode, f+".namespace", b.Host, b.Namespace); err != nil {
					return err
				}
				if err := refs.link(v, f+".name", b.Host, b.Namespace, b.Name); err != nil {
					return err
				}
				refs.bridges[linkKey(b.Host, b.Namespace, b.Name)] = true
				t.Bridges = append(t.Bridges, b)
				return nil
			})
		},
		"veths": func(v *yamlnode.Node, f string) error {
			return p.seq(v, f, func(_ int, v *yamlnode.Node, f string) error {
				var vt Veth
				var aNode, bNode *yamlnode.Node
				err := p.fields(v, f, map[string]func(*yamlnode.Node, string) error{
					"host":  func(v *yamlnode.Node, f string) error { return p.host(v, f, &vt.Host) },
					"a":     func(v *yamlnode.Node, f string) error { aNode = v; return p.end(v, f, &vt.A) },
					"b":     func(v *yamlnode.Node, f string) error { bNode = v; return p.end(v, f, &vt.B) },
					"shape": func(v *yamlnode.Node, f string) error { return p.shape(v, f, &vt.Shape) },
				}, "a", "b")
				if err != nil {
					return err
				}
				for _, e := range []struct {
					n   *yamlnode.Node
					f   string
					end End
				}{{aNode, f + ".a", vt.A}, {bNode, f + ".b", vt.B}} {
					if err := refs.endRefs(e.n, e.f, vt.Host, e.end.Namespace, e.end.Name, e.end.Bridge); err != nil {
						return err
					}
				}
				t.Veths = append(t.Veths, vt)
				return nil
			})
		},
		"taps": func(v *yamlnode.Node, f string) error {
			return p.seq(v, f, func(_ int, v *yamlnode.Node, f string) error {
				var tp Tap
				err := p.fields(v, f, map[string]func(*yamlnode.Node, string) error{
					"name":      func(v *yamlnode.Node, f string) error { return p.name(v, f, &tp.Name) },
					"host":      func(v *yamlnode.Node, f string) error { return p.host(v, f, &tp.Host) },
					"namespace": func(v *yamlnode.Node, f string) error { return p.name(v, f, &tp.Namespace) },
					"bridge":    func(v *yamlnode.Node, f string) error { return p.name(v, f, &tp.Bridge) },
					"owner": func(v *yamlnode.Node, f string) error {
						u, err := strconv.ParseUint(v.Value, 10, 32)
						if v.Kind != yamlnode.Scalar || v.Tag != "!!int" || err != nil {
							return p.errAt(v, f, "expected a numeric uid, found %s", yamlnode.KindName(v))
						}
						uid := uint32(u)
						tp.Owner = &uid
						return nil
					},
					"addresses": func(v *yamlnode.Node, f string) error { return p.addresses(v, f, &tp.Addresses) },
				}, "name")
				if err != nil {
					return err
				}
				if err := refs.endRefs(v, f, tp.Host, tp.Namespace, tp.Name, tp.Bridge); err != nil {
					return err
				}
				t.Taps = append(t.Taps, tp)
				return nil
			})
		},
		"routes": func(v *yamlnode.Node, f string) error {
			return p.seq(v, f, func(_ int, v *yamlnode.Node, f string) error {
				var r Route
				var devNode, nsNode *yamlnode.Node
				err := p.fields(v, f, map[string]func(*yamlnode.Node, string) error{
					"host":      func(v *yamlnode.Node, f string) error { return p.host(v, f, &r.Host) },
					"namespace": func(v *yamlnode.Node, f string) error { nsNode = v; return p.name(v, f, &r.Namespace) },
					"to": func(v *yamlnode.Node, f string) error {
						var s string
						if err := p.str(v, f, &s); err != nil {
							return err
						}
						pfx, err := netip.ParsePrefix(s)
						if err != nil {
							return p.errAt(v, f, "%q is not a prefix (e.g. 198.18.6.0/24)", s)
						}
						if pfx.Bits() == 0 {
							return p.errAt(v, f, "default routes are not allowed in version 1")
						}
						r.To = pfx.Masked()
						return nil
					},
					"via": func(v *yamlnode.Node, f string) error {
						var s string
						if err := p.str(v, f, &s); err != nil {
							return err
						}
						a, err := netip.ParseAddr(s)
						if err != nil {
							return p.errAt(v, f, "%q is not an address", s)
						}
						r.Via = a
						return nil
					},
					"dev": func(v *yamlnode.Node, f string) error { devNode = v; return p.name(v, f, &r.Dev) },
				}, "to")
				if err != nil {
					return err
				}
				if !r.Via.IsValid() && r.Dev == "" {
					return p.errAt(v, f, "a route needs via, dev or both")
				}
				if r.Via.IsValid() && r.Via.Is4() != r.To.Addr().Is4() {
					return p.errAt(v, f+".via", "address family differs from to")
				}
				if err := refs.namespace(nsNode, f+".namespace", r.Host, r.Namespace); err != nil {
					return err
				}
				if devNode != nil && refs.links[linkKey(r.Host, r.Namespace, r.Dev)] == nil {
					return p.errAt(devNode, f+".dev", "no link %q in namespace %s%s in this file", r.Dev, nsLabel(r.Namespace), onHost(r.Host))
				}
				t.Routes = append(t.Routes, r)
				return nil
			})
		},
		"vxlans": func(v *yamlnode.Node, f string) error {
			return p.seq(v, f, func(_ int, v *yamlnode.Node, f string) error { return p.vxlan(v, f, t, refs) })
		},
	}, "version")
	if err != nil {
		return err
	}
	if version != Version {
		return p.errAt(versionNode, "version", "unsupported version %d (this jumpgate reads version %d)", version, Version)
	}
	if t.Name == "" {
		t.Name = defaultName(p.file)
	}
	return nil
}

// defaultName derives a topology name from its file name.
func defaultName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var b strings.Builder
	for _, r := range base {
		if r < 128 && ifNameByte(byte(r)) {
			b.WriteRune(r)
		}
	}
	s := b.String()
	if len(s) > 15 {
		s = s[:15]
	}
	if s == "" || s == "." || s == ".." {
		s = "net"
	}
	return s
}

// refChecker remembers what has been declared so that references are
// checked in file order: a namespace before its links, a bridge before its
// ports.
type refChecker struct {
	p       *parser
	nss     map[string]bool           // host NUL ns
	links   map[string]*yamlnode.Node // linkKey → where declared
	bridges map[string]bool           // linkKey
}

// linkKey names a link across hosts; NUL cannot appear in a host or name.
func linkKey(host, ns, name string) string { return host + "\x00" + ns + "/" + name }

func (r *refChecker) namespace(n *yamlnode.Node, field, host, ns string) error {
	if ns == "" || r.nss[host+"\x00"+ns] {
		return nil
	}
	return r.p.errAt(n, field, "namespace %q is not declared%s under namespaces (declare it above its links%s)", ns, onHost(host), sameHost(host))
}

func (r *refChecker) link(n *yamlnode.Node, field, host, ns, name string) error {
	key := linkKey(host, ns, name)
	if prev := r.links[key]; prev != nil {
		return r.p.errAt(n, field, "link %q in namespace %s%s already declared at line %d", name, nsLabel(ns), onHost(host), prev.Line)
	}
	r.links[key] = n
	return nil
}

func (r *refChecker) endRefs(n *yamlnode.Node, field, host, ns, name, bridge string) error {
	if err := r.namespace(n, field+".namespace", host, ns); err != nil {
		return err
	}
	if err := r.link(n, field+".name", host, ns, name); err != nil {
		return err
	}
	if bridge != "" && !r.bridges[linkKey(host, ns, bridge)] {
		return r.p.errAt(n, field+".bridge", "no bridge %q in namespace %s%s declared above", bridge, nsLabel(ns), onHost(host))
	}
	return nil
}
