package fleet

import (
	"fmt"
	"strings"
)

// ParseHostsFile parses a list of hosts, one per line ([user@]host, an
// ssh_config alias or a + chain, as `jumpgate ssh` takes it); blank lines
// and what follows a # are ignored. Each host is kept once, in order.
func ParseHostsFile(b []byte) ([]string, error) {
	var hosts []string
	seen := map[string]bool{}
	for i, line := range strings.Split(string(b), "\n") {
		line, _, _ = strings.Cut(line, "#")
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			continue
		case len(f) > 1:
			return nil, fmt.Errorf("line %d: one host per line, got %q", i+1, strings.TrimSpace(line))
		case strings.HasPrefix(f[0], "-"):
			return nil, fmt.Errorf("line %d: host %q starts with '-'", i+1, f[0])
		}
		if !seen[f[0]] {
			seen[f[0]] = true
			hosts = append(hosts, f[0])
		}
	}
	return hosts, nil
}
