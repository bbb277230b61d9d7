package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jumpgate/jumpgate/internal/cfgfile"
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

// Targets are the hosts to discover: those named, then those of a hosts
// file (if any, read within cfgfile's limits), then with configHosts (nil
// for none) the concrete Host names of ssh_config.
func Targets(ctx context.Context, named []string, hostsFile string, configHosts func() ([]string, error)) ([]string, error) {
	targets := slices.Clone(named)
	if hostsFile != "" {
		b, err := cfgfile.Read(ctx, hostsFile)
		if err == nil {
			var hs []string
			hs, err = ParseHostsFile(b)
			targets = append(targets, hs...)
		}
		if err != nil {
			return nil, fmt.Errorf("--hosts-file %s: %w", hostsFile, err)
		}
	}
	if configHosts != nil {
		hs, err := configHosts()
		if err != nil {
			return nil, err
		}
		targets = append(targets, hs...)
	}
	return targets, nil
}
