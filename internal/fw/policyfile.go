package fw

// The policy file: YAML read through a node tree so that every error names
// the file, the line and the field, and unknown fields are refused rather
// than ignored (a typo in "bind" must not quietly open a port).

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/jumpgate/jumpgate/internal/yamlnode"
)

// ParsePolicy reads a policy file. name is the file's name, used in
// errors ("lab.yaml:12: bridges[0].ports[1].peer: …").
func ParsePolicy(name string, data []byte) (*Policy, error) {
	docs, err := yamlnode.Parse(data)
	if err != nil {
		return nil, yamlErr(name, err)
	}
	if len(docs) == 0 {
		return nil, &FieldError{File: name, Line: 1, Err: errors.New("empty policy: want a mapping with version and bridges")}
	}
	if len(docs) > 1 {
		return nil, &FieldError{File: name, Line: docs[1].Line, Err: errors.New("more than one YAML document; a policy holds one")}
	}
	r := &policyReader{lines: map[string]int{}}
	p, err := r.policy(docs[0])
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

// yamlErr turns a syntax error into "name:3: msg".
func yamlErr(name string, err error) error {
	var se *yamlnode.SyntaxError
	if errors.As(err, &se) {
		return &FieldError{File: name, Line: se.Line, Err: errors.New(se.Msg)}
	}
	return fmt.Errorf("%s: %w", name, err)
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

func (r *policyReader) errAt(n *yamlnode.Node, path, format string, args ...any) error {
	return &FieldError{Line: n.Line, Path: path, Err: fmt.Errorf(format, args...)}
}

func (r *policyReader) policy(root *yamlnode.Node) (*Policy, error) {
	r.lines[""] = root.Line
	p := &Policy{}
	seen := false
	err := r.mapping(root, "", func(key string, v *yamlnode.Node, path string) error {
		switch key {
		case "version":
			seen = true
			n, err := r.int(v, path)
			p.Version = n
			return err
		case "bridges":
			return r.seq(v, path, func(i int, bn *yamlnode.Node, bp string) error {
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

func (r *policyReader) bridge(n *yamlnode.Node, path string) (Bridge, error) {
	var b Bridge
	err := r.mapping(n, path, func(key string, v *yamlnode.Node, fp string) error {
		switch key {
		case "name":
			s, err := r.str(v, fp)
			b.Name = s
			return err
		case "ports":
			return r.seq(v, fp, func(i int, pn *yamlnode.Node, pp string) error {
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

func (r *policyReader) port(n *yamlnode.Node, path string) (Port, error) {
	var pt Port
	hasBind := false
	err := r.mapping(n, path, func(key string, v *yamlnode.Node, fp string) error {
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
			return r.seq(v, fp, func(i int, sn *yamlnode.Node, sp string) error {
				s, err := r.station(sn, sp)
				pt.Bind = append(pt.Bind, s)
				return err
			})
		case "remote":
			pt.Remote = nil
			return r.seq(v, fp, func(i int, sn *yamlnode.Node, sp string) error {
				s, err := r.station(sn, sp)
				pt.Remote = append(pt.Remote, s)
				return err
			})
		case "closed":
			b, err := r.bool(v, fp)
			pt.Closed = b
			return err
		}
		return r.errAt(v, fp, "unknown field (want name, role, bind, peer, remote or closed)")
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
		err = r.errAt(n, path+".peer", "missing: a border port names its peer (a bridge, %s, %s or %s)", PeerHost, PeerExternal, PeerRemote)
	}
	return pt, err
}

func (r *policyReader) station(n *yamlnode.Node, path string) (Station, error) {
	var s Station
	err := r.mapping(n, path, func(key string, v *yamlnode.Node, fp string) error {
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
			return r.seq(v, fp, func(i int, in *yamlnode.Node, ip string) error {
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
func (r *policyReader) mapping(n *yamlnode.Node, path string, f func(key string, v *yamlnode.Node, path string) error) error {
	if n.Kind != yamlnode.Mapping {
		return r.errAt(n, path, "want a mapping, got %s", yamlnode.KindName(n))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yamlnode.Scalar {
			return r.errAt(k, path, "want a plain key, got %s", yamlnode.KindName(k))
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

func (r *policyReader) seq(n *yamlnode.Node, path string, f func(i int, v *yamlnode.Node, path string) error) error {
	if n.Kind != yamlnode.Sequence {
		return r.errAt(n, path, "want a list, got %s", yamlnode.KindName(n))
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

func (r *policyReader) str(n *yamlnode.Node, path string) (string, error) {
	if n.Kind != yamlnode.Scalar || n.Tag == "!!null" {
		return "", r.errAt(n, path, "want a string, got %s", yamlnode.KindName(n))
	}
	return n.Value, nil
}

func (r *policyReader) bool(n *yamlnode.Node, path string) (bool, error) {
	if n.Kind != yamlnode.Scalar || n.Tag != "!!bool" {
		return false, r.errAt(n, path, "want true or false, got %s", yamlnode.KindName(n))
	}
	switch strings.ToLower(n.Value) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, r.errAt(n, path, "%q: want true or false", n.Value)
}

func (r *policyReader) int(n *yamlnode.Node, path string) (int, error) {
	if n.Kind != yamlnode.Scalar || n.Tag != "!!int" {
		return 0, r.errAt(n, path, "want a number, got %s", yamlnode.KindName(n))
	}
	v, err := strconv.Atoi(n.Value)
	if err != nil {
		return 0, r.errAt(n, path, "%q is not a number", n.Value)
	}
	return v, nil
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
			if pt.Closed {
				b.WriteString("        closed: true\n")
			}
			if len(pt.Remote) > 0 {
				encodeStations(&b, "remote", pt.Remote)
			}
			if pt.Role == RoleGuest || len(pt.Bind) > 0 {
				encodeStations(&b, "bind", pt.Bind)
			}
		}
	}
	return b.Bytes()
}

func encodeStations(b *bytes.Buffer, key string, sts []Station) {
	if len(sts) == 0 {
		fmt.Fprintf(b, "        %s: []\n", key)
		return
	}
	fmt.Fprintf(b, "        %s:\n", key)
	for _, s := range sts {
		fmt.Fprintf(b, "          - mac: %s\n", quote(s.MAC.String()))
		if len(s.IPs) > 0 {
			ips := make([]string, len(s.IPs))
			for i, a := range s.IPs {
				ips[i] = strconv.Quote(a.String()) // flow context: always quoted
			}
			fmt.Fprintf(b, "            ips: [%s]\n", strings.Join(ips, ", "))
		}
	}
}

// quote returns s as a YAML scalar that reads back as the string s: plain
// where s is a name that no YAML reader (1.1 or 1.2) takes for a number,
// a boolean or a null, double-quoted otherwise (MACs, whose colons YAML 1.1
// reads as base 60).
func quote(s string) string {
	if plainName(s) {
		return s
	}
	return strconv.Quote(s)
}

func plainName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}
