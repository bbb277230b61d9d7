package sshconf

// Pattern matching as ssh_config(5) PATTERNS describes it: "*" and "?"
// wildcards, comma-separated lists, "!" negation that wins over any
// positive match.

import "strings"

// MatchPattern reports whether s matches the single wildcard pattern p
// ("*" and "?", no lists or negation), as ssh(1)'s match_pattern: SendEnv
// uses it on variable names.
func MatchPattern(s, p string) bool { return matchPattern(s, p) }

// matchPattern reports whether s matches the single wildcard pattern p.
func matchPattern(s, p string) bool {
	for {
		if p == "" {
			return s == ""
		}
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			if p[0] != '?' && p[0] != '*' {
				for i := 0; i < len(s); i++ {
					if s[i] == p[0] && matchPattern(s[i+1:], p[1:]) {
						return true
					}
				}
				return false
			}
			for i := 0; i < len(s); i++ {
				if matchPattern(s[i:], p) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
		default:
			if s == "" || s[0] != p[0] {
				return false
			}
		}
		s, p = s[1:], p[1:]
	}
}

// matchPatternList matches s against a comma-separated list of patterns.
// It returns 1 for a positive match, -1 when a negated pattern matched and
// 0 for no match. With dolower, s is compared in lower case (patterns are
// lowered too).
func matchPatternList(s, list string, dolower bool) int {
	got := 0
	for _, sub := range strings.Split(list, ",") {
		neg := strings.HasPrefix(sub, "!")
		if neg {
			sub = sub[1:]
		}
		if dolower {
			sub = strings.ToLower(sub)
		}
		if matchPattern(s, sub) {
			if neg {
				return -1
			}
			got = 1
		}
	}
	return got
}

// matchHostname is matchPatternList for host names: case-insensitive.
func matchHostname(host, list string) int {
	return matchPatternList(strings.ToLower(host), list, true)
}

// matchHostLine evaluates the patterns of a Host line: a negated match
// stops the block, otherwise any positive match activates it.
func matchHostLine(host string, patterns []string) bool {
	active := false
	for _, p := range patterns {
		neg := strings.HasPrefix(p, "!")
		if neg {
			p = p[1:]
		}
		if matchPattern(host, p) {
			if neg {
				return false
			}
			active = true
		}
	}
	return active
}
