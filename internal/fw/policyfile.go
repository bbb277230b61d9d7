package fw

// The policy file: YAML read through yaml.Node so that every error names
// the file, the line and the field, and unknown fields are refused rather
// than ignored (a typo in "bind" must not quietly open a port).

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// ParsePolicy reads a policy file. name is the file's name, used in
// errors ("lab.yaml:12: bridges[0].ports[1].peer: …").
func ParsePolicy(name string, data []byte) (*Policy, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &FieldError{File: name, Line: 1, Err: errors.New("empty policy: want a mapping with version and bridges")}
		}
		return nil, yamlErr(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		line := extra.Line
		if len(extra.Content) > 0 {
			line = extra.Content[0].Line
		}
		return nil, &FieldError{File: name, Line: line, Err: errors.New("more than one YAML document")}
	}
	r := &policyReader{lines: map[string]int{}}
	p, err := r.policy(&doc)
	if err == nil {
		err = p.Validate()
	}
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			fe.File = name
			if fe.Line == 0 {
				fe.Line = r.lineOf(fe.Path)
			}
			return nil, fe
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// yamlErr turns yaml.v3's "yaml: line 3: msg" into "name:3: msg".
func yamlErr(name string, err error) error {
	msg, ok := strings.CutPrefix(err.Error(), "yaml: ")
	if !ok {
		return fmt.Errorf("%s: %w", name, err)
	}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, m, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(n); err == nil {
				return &FieldError{File: name, Line: line, Err: errors.New(m)}
			}
		}
	}
	return &FieldError{File: name, Err: errors.New(msg)}
}

// policyReader walks the document, remembering each field's line.
type policyReader struct {
	lines map[string]int
}

// lineOf returns the line of path, or of its closest recorded parent.
func (r *policyReader) lineOf(path string) int {
	for path != "" {
		if l, ok := r.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return r.lines[""]
}

func (r *policyReader) errAt(n *yaml.Node, path, format string, args ...any) error {
	return &FieldError{Line: n.Line, Path: path, Err: fmt.Errorf(format, args...)}
}

func (r *policyReader) policy(doc *yaml.Node) (*Policy, error) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &FieldError{Line: doc.Line, Err: errors.New("empty policy: want a mapping with version and bridges")}
	}
	root := doc.Content[0]
	r.lines[""] = root.Line
	p := &Policy{}
	seen := false
	err := r.mapping(root, "", func(key string, v *yaml.Node, path string) error {
		switch key {
		case "version":
			seen = true
			n, err := r.int(v, path)
			p.Version = n
			return err
		case "bridges":
			return r.seq(v, path, func(i int, bn *yaml.Node, bp string) error {
				b, err := r.bridge(bn, bp)
				p.Bridges = append(p.Bridges, b)
				return err
			})
		}
		return r.errAt(v, path, "unknown field (want version or bridges)")
	})
	if err != nil {
		return nil, err
	}
	if !seen {
		return nil, r.errAt(root, "version", "missing (write version: %d)", PolicyVersion)
	}
	return p, nil
}

func (r *policyReader) bridge(n *yaml.Node, path string) (Bridge, error) {
	var b Bridge
	err := r.mapping(n, path, func(key string, v *yaml.Node, fp string) error {
		switch key {
		case "name":
			s, err := r.str(v, fp)
			b.Name = s
			return err
		case "ports":
			return r.seq(v, fp, func(i int, pn *yaml.Node, pp string) error {
				pt, err := r.port(pn, pp)
				b.Ports = append(b.Ports, pt)
				return err
			})
		}
		return r.errAt(v, fp, "unknown field (want name or ports)")
	})
	if err == nil && b.Name == "" {
		err = r.errAt(n, path+".name", "missing: every bridge needs a name")
	}
	return b, err
}

func (r *policyReader) port(n *yaml.Node, path string) (Port, error) {
	var pt Port
	hasBind := false
	err := r.mapping(n, path, func(key string, v *yaml.Node, fp string) error {
		switch key {
		case "name":
			s, err := r.str(v, fp)
			pt.Name = s
			return err
		case "role":
			s, err := r.str(v, fp)
			pt.Role = Role(s)
			if err == nil && pt.Role != RoleGuest && pt.Role != RoleBorder {
				return r.errAt(v, fp, "%q: want %s or %s", s, RoleGuest, RoleBorder)
			}
			return err
		case "peer":
			s, err := r.str(v, fp)
			pt.Peer = s
			return err
		case "bind":
			hasBind = true
			if pt.Role == RoleBorder {
				return r.errAt(v, fp, "border port %s binds no stations (only guest ports do)", pt.Name)
			}
			pt.Bind = []Station{}
			return r.seq(v, fp, func(i int, sn *yaml.Node, sp string) error {
				s, err := r.station(sn, sp)
				pt.Bind = append(pt.Bind, s)
				return err
			})
		}
		return r.errAt(v, fp, "unknown field (want name, role, bind or peer)")
	})
	switch {
	case err != nil:
	case pt.Name == "":
		err = r.errAt(n, path+".name", "missing: every port needs a name")
	case pt.Role == "":
		err = r.errAt(n, path+".role", "missing: want %s or %s", RoleGuest, RoleBorder)
	case pt.Role == RoleBorder && hasBind:
		err = r.errAt(n, path+".bind", "border port %s binds no stations (only guest ports do)", pt.Name)
	case pt.Role == RoleGuest && !hasBind:
		err = r.errAt(n, path+".bind", "missing: a guest port lists its stations (write bind: [] to let nothing through)")
	case pt.Role == RoleBorder && pt.Peer == "":
		err = r.errAt(n, path+".peer", "missing: a border port names its peer (a bridge, %s or %s)", PeerHost, PeerExternal)
	}
	return pt, err
}

func (r *policyReader) station(n *yaml.Node, path string) (Station, error) {
	var s Station
	err := r.mapping(n, path, func(key string, v *yaml.Node, fp string) error {
		switch key {
		case "mac":
			str, err := r.str(v, fp)
			if err != nil {
				return err
			}
			mac, err := net.ParseMAC(str)
			if err != nil || len(mac) != 6 {
				return r.errAt(v, fp, "%q is not an Ethernet address (want 52:54:00:12:34:56)", str)
			}
			s.MAC = mac
			return nil
		case "ips":
			return r.seq(v, fp, func(i int, in *yaml.Node, ip string) error {
				str, err := r.str(in, ip)
				if err != nil {
					return err
				}
				a, err := netip.ParseAddr(str)
				if err != nil {
					return r.errAt(in, ip, "%q is not an IP address", str)
				}
				if slices.Contains(s.IPs, a) {
					return r.errAt(in, ip, "%s is listed twice", a)
				}
				s.IPs = append(s.IPs, a)
				return nil
			})
		}
		return r.errAt(v, fp, "unknown field (want mac or ips)")
	})
	if err == nil && s.MAC == nil {
		err = r.errAt(n, path+".mac", "missing: every station has a mac")
	}
	return s, err
}

// mapping calls f for each key of a mapping node, refusing duplicates.
func (r *policyReader) mapping(n *yaml.Node, path string, f func(key string, v *yaml.Node, path string) error) error {
	if n.Kind != yaml.MappingNode {
		return r.errAt(n, path, "want a mapping, got %s", kindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return r.errAt(k, path, "want a plain key, got %s", kindName(k))
		}
		fp := k.Value
		if path != "" {
			fp = path + "." + k.Value
		}
		if seen[k.Value] {
			return r.errAt(k, fp, "given twice")
		}
		seen[k.Value] = true
		r.lines[fp] = k.Line
		if err := f(k.Value, v, fp); err != nil {
			return err
		}
	}
	return nil
}

func (r *policyReader) seq(n *yaml.Node, path string, f func(i int, v *yaml.Node, path string) error) error {
	if n.Kind != yaml.SequenceNode {
		return r.errAt(n, path, "want a list, got %s", kindName(n))
	}
	for i, v := range n.Content {
		ip := fmt.Sprintf("%s[%d]", path, i)
		r.lines[ip] = v.Line
		if err := f(i, v, ip); err != nil {
			return err
		}
	}
	return nil
}

func (r *policyReader) str(n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		return "", r.errAt(n, path, "want a string, got %s", kindName(n))
	}
	return n.Value, nil
}

func (r *policyReader) int(n *yaml.Node, path string) (int, error) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		return 0, r.errAt(n, path, "want a number, got %s", kindName(n))
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, r.errAt(n, path, "%q is not a number", n.Value)
	}
	return v, nil
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

// Encode writes p as a policy file that [ParsePolicy] reads back to the
// same policy. `jumpgate fw plan --print-policy` uses it to show the
// policy it derived, ready to be edited and kept.
func (p *Policy) Encode() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "version: %d\n", p.Version)
	if len(p.Bridges) == 0 {
		b.WriteString("bridges: []\n")
		return b.Bytes()
	}
	b.WriteString("bridges:\n")
	for _, br := range p.Bridges {
		fmt.Fprintf(&b, "  - name: %s\n", quote(br.Name))
		if len(br.Ports) == 0 {
			b.WriteString("    ports: []\n")
			continue
		}
		b.WriteString("    ports:\n")
		for _, pt := range br.Ports {
			fmt.Fprintf(&b, "      - name: %s\n", quote(pt.Name))
			fmt.Fprintf(&b, "        role: %s\n", quote(string(pt.Role)))
			if pt.Peer != "" {
				fmt.Fprintf(&b, "        peer: %s\n", quote(pt.Peer))
			}
			if pt.Role != RoleGuest && len(pt.Bind) == 0 {
				continue
			}
			if len(pt.Bind) == 0 {
				b.WriteString("        bind: []\n")
				continue
			}
			b.WriteString("        bind:\n")
			for _, s := range pt.Bind {
				fmt.Fprintf(&b, "          - mac: %s\n", quote(s.MAC.String()))
				if len(s.IPs) > 0 {
					ips := make([]string, len(s.IPs))
					for i, a := range s.IPs {
						ips[i] = strconv.Quote(a.String()) // flow context: always quoted
					}
					fmt.Fprintf(&b, "            ips: [%s]\n", strings.Join(ips, ", "))
				}
			}
		}
	}
	return b.Bytes()
}

// quote returns s as a YAML scalar that reads back as the string s.
func quote(s string) string {
	out, err := yaml.Marshal(s)
	if err != nil {
		return strconv.Quote(s)
	}
	return strings.TrimSuffix(string(out), "\n")
}
