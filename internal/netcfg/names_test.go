package netcfg

import "testing"

func TestValidIfName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"br0", true},
		{"virbr6", true},
		{"a.b_c-D9", true},
		{"123456789012345", true},
		{"1234567890123456", false},
		{"", false},
		{".", false},
		{"..", false},
		{"...", true},
		{"br 0", false},
		{"br/0", false},
		{"br0\n", false},
		{"brü", false},
	} {
		if got := validIfName(tc.name); got != tc.ok {
			t.Errorf("validIfName(%q) = %v, want %v", tc.name, got, tc.ok)
		}
	}
}

func TestYAMLLine(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		line int
		rest string
		ok   bool
	}{
		{"yaml: line 2: did not find expected node content", 2, "did not find expected node content", true},
		{"yaml: line 12: mapping values are not allowed: here", 12, "mapping values are not allowed: here", true},
		{"yaml: line x: oops", 0, "", false},
		{"yaml: line : oops", 0, "", false},
		{"yaml: line 3: two\nlines", 0, "", false},
		{"yaml: unmarshal errors", 0, "", false},
		{"line 3: oops", 0, "", false},
	} {
		line, rest, ok := yamlLine(tc.msg)
		if line != tc.line || rest != tc.rest || ok != tc.ok {
			t.Errorf("yamlLine(%q) = %d, %q, %v; want %d, %q, %v", tc.msg, line, rest, ok, tc.line, tc.rest, tc.ok)
		}
	}
}
